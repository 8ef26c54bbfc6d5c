package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"

	kp "kontaktpunkt"
	"kontaktpunkt/routing"
	"kontaktpunkt/store"
)

// Bounds on the index walks threading does per message: a subject or a
// parent shared by more cases than this is no evidence of one thread.
const (
	maxRefCases     = 16
	maxSubjectCases = 32
)

func (x *txIndex) ReferencedBy(id string) []kp.CaseID {
	cs, err := x.tx.ReferencedBy(id, maxRefCases)
	if err != nil {
		x.err = err
		return nil
	}
	return cs
}

func (x *txIndex) SubjectCases(subject string) []kp.CaseID {
	cs, err := x.tx.SubjectCases(subject, maxSubjectCases)
	if err != nil {
		x.err = err
		return nil
	}
	return cs
}

// contentHash identifies a message's content apart from its header: the
// body bytes with line endings and trailing white space normalised, so a
// copy that took another route (other Received lines, CRLF or LF) hashes
// alike. Never 0, which means "no hash" in the store.
func contentHash(raw []byte) uint64 {
	// The header ends at the first empty line ("\n\n" or "\n\r\n"); the
	// walk stops there, so the body is never scanned twice.
	body := raw
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		if i < len(raw) && raw[i] == '\n' {
			body = raw[i+1:]
			break
		}
		if i+1 < len(raw) && raw[i] == '\r' && raw[i+1] == '\n' {
			body = raw[i+2:]
			break
		}
	}
	// The normalised lines are gathered in a buffer and hashed a block
	// at a time: two hash writes a line cost more than the hashing.
	h := sha256.New()
	bp := hashBuffers.Get().(*[]byte)
	buf := (*bp)[:0]
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		buf = append(buf, bytes.TrimRight(line, " \t\r")...)
		buf = append(buf, '\n')
		if len(buf) >= hashBlock {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	h.Write(buf)
	if cap(buf) <= 4*hashBlock {
		*bp = buf
		hashBuffers.Put(bp)
	}
	var sum [sha256.Size]byte
	v := binary.BigEndian.Uint64(h.Sum(sum[:0]))
	if v == 0 {
		v = 1
	}
	return v
}

// hashBlock is how many bytes of normalised body contentHash gathers
// before it hashes them.
const hashBlock = 32 << 10

// hashBuffers holds contentHash's buffers.
var hashBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2*hashBlock); return &b }}

// maxDerived bounds the derived ids tried for one reused Message-ID.
const maxDerived = 8

// storedCopy is the duplicate rule: it reports whether pi is a copy of a
// stored message, and that message's case. A known Message-ID with other
// content is no copy: archive systems reuse ids. pi then gets a derived id
// (the original id, "-" and the start of its content hash) under which it
// is stored and threaded, and CollidedID remembers the id it came with.
// Ids known only from our outbox, and our own stored outbound copies,
// have no content to compare and count as copies, as before.
func (g *Gateway) storedCopy(tx *store.Tx, pi *parsedItem) (kp.CaseID, bool, error) {
	p := pi.parsed
	if pi.hash == 0 {
		pi.hash = contentHash(pi.Raw)
	}
	orig := p.MessageID
	id := orig
	for n := 0; ; n++ {
		c, ok, err := tx.LookupID(id)
		if err != nil || !ok {
			return c, false, err
		}
		same, err := g.sameContent(tx, id, pi)
		if err != nil {
			return 0, false, err
		}
		if same {
			return c, true, nil
		}
		if n == maxDerived {
			return 0, false, fmt.Errorf("message id %q: %d stored messages reuse it", orig, n)
		}
		var h [8]byte
		binary.BigEndian.PutUint64(h[:], pi.hash)
		id = orig + "-" + hex.EncodeToString(h[:4])
		if n > 0 {
			id = fmt.Sprintf("%s-%d", id, n+1)
		}
		p.MessageID, pi.collided = id, orig
	}
}

// sameContent reports whether the message stored under id has pi's
// content: by the hash kept with its id, else (older entries) by hashing
// its raw bytes. Without either there is nothing to tell them apart.
func (g *Gateway) sameContent(tx *store.Tx, id string, pi *parsedItem) (bool, error) {
	if h, ok, err := tx.ContentHash(id); err != nil {
		return false, err
	} else if ok {
		return h == pi.hash, nil
	}
	raw, err := tx.Raw(id)
	if err != nil {
		return true, nil // no raw bytes (our own mail, an outbox entry): a copy
	}
	return contentHash(raw) == pi.hash, nil
}

// joinThread adds the sender to the case's participants when threading
// found the case through references (a late parent, a second reply to a
// lost parent): they are part of the conversation, not outsiders. A late
// parent is the conversation's first mail, so the people it was sent to
// join too, as they would have had it arrived first. Staff and
// responsible parties keep their own role.
func (g *Gateway) joinThread(c *kp.Case, th routing.Thread, p *kp.Parsed) {
	if !th.AddParticipant || th.NewCase {
		return
	}
	add := func(a string) {
		if g.mayJoin(a) && !c.HasParticipant(a) {
			c.Participants = appendAddr(c.Participants, a)
		}
	}
	add(senderOf(p).Addr)
	if th.MatchedBy == kp.MatchReferencedBy {
		for _, a := range append(append([]kp.Address{}, p.To...), p.Cc...) {
			add(a.Addr)
		}
	}
}

// mayJoin reports whether joinThread adds addr to a case: anyone but the
// contact address, staff and responsible parties.
func (g *Gateway) mayJoin(addr string) bool {
	return addr != "" && !g.isUs(addr) && !g.Dir.IsStaff(addr) && !g.Dir.IsResponsible(addr)
}

// indexThread records what later mail threads by: the ids this message
// referenced that are not stored on a case (a parent that may arrive late,
// or that the contact address never gets and another reply will name too)
// and, for a new case, its normalised subject. An id stored on a case is
// left out: it can only arrive again as a duplicate, and a reply naming it
// finds the case by In-Reply-To or References; so most replies, which
// answer mail we have, write nothing here.
func (g *Gateway) indexThread(tx *store.Tx, c *kp.Case, p *kp.Parsed, newCase bool) error {
	if n := len(p.InReplyTo) + len(p.References); n > 0 {
		ids := make([]string, 0, n)
		all := append(append(make([]string, 0, n), p.InReplyTo...), p.References...)
		for i, id := range all {
			if slices.Contains(all[:i], id) {
				continue // In-Reply-To is usually the last References entry too
			}
			cid, known, err := tx.LookupID(id)
			if err != nil {
				return err
			}
			if !known || cid == 0 {
				ids = append(ids, id)
			}
		}
		if err := tx.IndexReferences(c.ID, ids); err != nil {
			return err
		}
	}
	if newCase && c.Subject != g.noSubject() {
		// A case without a subject has nothing a reply could match by.
		return tx.IndexSubject(routing.NormalSubject(c.Subject, g.Config.Contact.TagPrefix), c.ID)
	}
	return nil
}

// taggedOwnText is the writer's own text (OwnText) for the body-tag rule,
// or "" when the text holds no '#' at all and so no case tag: most mail,
// which then skips the line-by-line scan. found is the own text found
// with the parse, used when the built-in trimmer found it.
func (g *Gateway) taggedOwnText(text string, found ownText) string {
	if !strings.Contains(text, "#") {
		return ""
	}
	if own, ok := found.of(text); ok && found.builtin {
		return own
	}
	return OwnText(text)
}

// headerFrom is the From of a case's mail: the contact address, or with
// contact.reply_token.in_from the signed reply address (replyTo) when the
// mail goes to anyone outside the contact point's own people (a requester,
// a participant, a counterpart), whose archive system or client may answer
// From and not Reply-To. The display name stays; the envelope sender stays
// the contact address.
func (g *Gateway) headerFrom(contact, replyTo kp.Address, to, cc []kp.Address) kp.Address {
	if !g.Config.ReplyTokenInFrom() || g.TokenSecret == nil || kp.SameAddr(replyTo.Addr, contact.Addr) {
		return contact
	}
	for _, a := range append(append([]kp.Address{}, to...), cc...) {
		if !g.Dir.IsStaff(a.Addr) && !g.Dir.IsResponsible(a.Addr) {
			return kp.Address{Name: contact.Name, Addr: replyTo.Addr}
		}
	}
	return contact
}
