package imapintake

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"kontaktpunkt/mailbox/mailmsg"
)

// A pass over the mailbox: UID SEARCH, then UID FETCH in batches, of
// the header only for a message over the size limit.

// pass searches the mailbox (all undeleted mail when full, else only UIDs
// above those already seen in this session) and delivers what it finds.
func (s *session) pass(ctx context.Context, full bool) error {
	for {
		n, err := s.passOnce(ctx, full)
		if err != nil {
			return err
		}
		// Mail that arrived while this pass worked is picked up now, not
		// when the server next announces it: Dovecot, for one, may hold an
		// EXISTS back for up to half a second after IDLE begins.
		if n == 0 || ctx.Err() != nil {
			return nil
		}
		full = false
	}
}

// passOnce is one search and delivery; it returns how many UIDs it found.
func (s *session) passOnce(ctx context.Context, full bool) (int, error) {
	crit := &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagDeleted}}
	if !full && s.maxSeen > 0 {
		var set imap.UIDSet
		set.AddRange(s.maxSeen+1, 0)
		crit.UID = []imap.UIDSet{set}
	}
	data, err := s.c.UIDSearch(crit, nil).Wait()
	if err != nil {
		return 0, fmt.Errorf("uid search: %w", err)
	}
	all, _ := data.All.(imap.UIDSet)
	found, ok := all.Nums()
	if !ok { // "*" in a search result: a server bug; AllUIDs would panic
		return 0, fmt.Errorf("uid search: dynamic result %v", all)
	}
	var uids []imap.UID
	for _, u := range found {
		if full || u > s.maxSeen {
			uids = append(uids, u)
		}
	}
	slices.Sort(uids)
	if n := len(uids); n > 0 {
		s.maxSeen = max(s.maxSeen, uids[n-1])
	}
	s.p.log.Debug("imap pass", "full", full, "uids", len(uids))
	if err := s.deliverAll(ctx, uids); err != nil {
		return 0, err
	}
	now := s.p.Now()
	if full {
		s.lastFull = now
	}
	s.p.setStatus(func(st *PollerStatus) { st.LastSync = now })
	return len(uids), nil
}

type fetchResult struct {
	msgs []Fetched
	err  error
	// prep is the Sink's work begun on msgs (a Preparer's), or nil.
	prep Prepared
}

var (
	bodySection   = &imap.FetchItemBodySection{Peek: true}
	headerSection = &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
)

// startFetch issues UID FETCH (UID BODY.PEEK[]) for uids and collects the
// answer in its own goroutine, so the next batch streams in while the current
// one is committed and moved. Messages whose size in sizes is over the limit
// only have their header fetched (BODY.PEEK[HEADER]), after the others.
func (s *session) startFetch(uids []imap.UID, sizes map[imap.UID]int64) <-chan fetchResult {
	ch := make(chan fetchResult, 1)
	limit := s.p.cfg.MaxMessageBytes
	var whole, over []imap.UID
	for _, u := range uids {
		if limit > 0 && sizes[u] > limit {
			over = append(over, u)
		} else {
			whole = append(whole, u)
		}
	}
	var cmd *imapclient.FetchCommand
	if len(whole) > 0 {
		cmd = s.c.Fetch(imap.UIDSetNum(whole...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{bodySection}})
	}
	go func() {
		var res fetchResult
		defer func() {
			if v := recover(); v != nil {
				s.c.Close()
				res = fetchResult{err: fmt.Errorf("panic reading fetch answer: %v", v)}
			}
			ch <- res
		}()
		if cmd != nil {
			res = s.collect(cmd, nil)
		}
		// The headers are fetched only now: the client's reader hands each
		// answer to its command and waits until it is read, so collecting
		// one command while a server such as Dovecot interleaves the
		// answers of another would hang.
		if len(over) > 0 && res.err == nil {
			h := s.collect(s.c.Fetch(imap.UIDSetNum(over...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{headerSection}}), sizes)
			res.msgs = append(res.msgs, h.msgs...)
			res.err = h.err
			slices.SortFunc(res.msgs, func(a, b Fetched) int { return cmp.Compare(a.UID, b.UID) })
		}
		if pr, ok := s.p.sink.(Preparer); ok && res.err == nil && len(res.msgs) > 0 {
			// The batch parses while the one before it is committed.
			res.prep = pr.Prepare(s.p.cfg.Mailbox, s.uidValidity, res.msgs)
		}
	}()
	return ch
}

// fetchSizes asks for the sizes of uids (UID FETCH RFC822.SIZE).
func (s *session) fetchSizes(uids []imap.UID) (map[imap.UID]int64, error) {
	cmd := s.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true})
	sizes := make(map[imap.UID]int64, len(uids))
	for {
		m := cmd.Next()
		if m == nil {
			break
		}
		buf, err := m.Collect()
		if err != nil {
			s.c.Close()
			return nil, fmt.Errorf("reading message sizes: %w", err)
		}
		if buf.UID != 0 {
			sizes[buf.UID] = buf.RFC822Size
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("fetching message sizes: %w", err)
	}
	return sizes, nil
}

// batchUIDs cuts uids into batches of at most n messages and at most
// maxBytes bytes of messages fetched whole, by sizes; a message larger
// than maxBytes is a batch of its own. Messages over limit (only their
// header is fetched) and of unknown size count as nothing.
func batchUIDs(uids []imap.UID, sizes map[imap.UID]int64, n int, maxBytes, limit int64) [][]imap.UID {
	var out [][]imap.UID
	var cur []imap.UID
	var bytes int64
	for _, u := range uids {
		size := sizes[u]
		if limit > 0 && size > limit {
			size = 0
		}
		if len(cur) > 0 && (len(cur) >= n || maxBytes > 0 && bytes+size > maxBytes) {
			out = append(out, cur)
			cur, bytes = nil, 0
		}
		cur = append(cur, u)
		bytes += size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// collect reads a FETCH answer item by item rather than with go-imap's
// Collect: after a literal fails to read (the connection broke mid-body),
// Collect's cleanup reads the literal again while the decoder goroutine reads
// the same connection, and a body cut short reads as a clean EOF. Here a
// short or failed literal ends everything: the client is closed, and neither
// the message nor the command is touched again.
//
// sizes, when not nil, are the sizes of messages of which only the header
// was fetched: they are marked Oversize. A literal over the size limit is
// never held either: its header part is kept and the rest read past.
func (s *session) collect(cmd *imapclient.FetchCommand, sizes map[imap.UID]int64) fetchResult {
	var res fetchResult
	limit := s.p.cfg.MaxMessageBytes
	for {
		m := cmd.Next()
		if m == nil {
			break
		}
		var uid imap.UID
		var raw []byte
		var oversize int64
		for {
			item := m.Next()
			if item == nil {
				break
			}
			switch item := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = item.UID
			case imapclient.FetchItemDataBodySection:
				if item.Literal == nil {
					continue
				}
				b, over, err := readLiteral(item.Literal, limit)
				if err != nil {
					s.c.Close()
					res.err = fmt.Errorf("reading message body of uid %d: %w", uid, err)
					return res
				}
				raw, oversize = b, over
				if sizes != nil {
					raw, oversize = mailmsg.HeaderPart(b), max(sizes[uid], over)
				}
				if sizes != nil && oversize == 0 {
					// A header the server sent for a message not asked
					// for: taking it for the whole message would lose mail.
					raw = nil
				}
			}
		}
		if uid == 0 || raw == nil {
			continue
		}
		res.msgs = append(res.msgs, Fetched{UID: uint32(uid), Raw: raw, Oversize: oversize})
	}
	res.err = cmd.Close()
	return res
}

// readLiteral reads a message literal into one buffer of its size. One
// over limit (when limit > 0) is read past: only its header part is kept,
// and its size is returned as oversize. A literal cut short (the
// connection ended inside it, which the reader reports as a clean EOF) is
// an error.
func readLiteral(lit imap.LiteralReader, limit int64) (raw []byte, oversize int64, err error) {
	size := lit.Size()
	var n int64
	switch {
	case limit > 0 && size > limit:
		raw, n, err = mailmsg.ReadPast(lit, nil)
		oversize = n
	case limit > 0:
		raw = make([]byte, size)
		var k int
		k, err = io.ReadFull(lit, raw)
		n = int64(k)
		if err == io.EOF {
			err = nil
		}
	default:
		raw, err = io.ReadAll(lit)
		n = int64(len(raw))
	}
	if err == nil && n != size || err == io.ErrUnexpectedEOF {
		err = fmt.Errorf("got %d of %d bytes: %w", n, size, io.ErrUnexpectedEOF)
	}
	return raw, oversize, err
}

// fetchSingly fetches uids one UID FETCH at a time, skipping (and logging)
// those the server refuses.
func (s *session) fetchSingly(uids []imap.UID, sizes map[imap.UID]int64) []Fetched {
	var out []Fetched
	for _, u := range uids {
		res := <-s.startFetch([]imap.UID{u}, sizes)
		if res.err != nil {
			s.p.log.Error("cannot fetch message; left in place", "uid", u, "err", res.err)
			continue
		}
		out = append(out, res.msgs...)
	}
	return out
}
