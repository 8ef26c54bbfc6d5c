package mailmsg

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"kontaktpunkt/internal/testcorpus"

	kp "kontaktpunkt"
)

func corpusDir(t testing.TB) string { return testcorpus.Dir(t) }

// corpusFiles lists every regular file under the named corpus folders.
func corpusFiles(t testing.TB, root string, folders ...string) []string {
	t.Helper()
	var files []string
	for _, f := range folders {
		err := filepath.WalkDir(filepath.Join(root, f), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walking corpus %s: %v", f, err)
		}
	}
	sort.Strings(files)
	return files
}

// parseDeadline is how long one corpus file may take before the test
// calls it a hang. It is generous on purpose (a shared, busy machine); a
// real hang never ends.
const parseDeadline = 30 * time.Second

// parseGuarded parses raw in a goroutine, turning a panic into an error and
// reporting whether it finished before the deadline.
func parseGuarded(raw []byte) (p *kp.Parsed, err error, finished bool) {
	type result struct {
		p   *kp.Parsed
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{nil, fmt.Errorf("panic escaped Parse: %v", r)}
			}
		}()
		p, err := Parse(raw)
		done <- result{p, err}
	}()
	timer := time.NewTimer(parseDeadline)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.p, r.err, true
	case <-timer.C:
		return nil, nil, false
	}
}

// holds is an independent, deliberately simple look at a raw file: does it
// have a Subject, a sender address, and body text a reader would expect to
// see? It does not share code with Parse.
type holds struct{ subject, sender, text bool }

func rawHolds(raw []byte) holds {
	var h holds
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	// Split on any line ending (LF, CRLF, CR).
	s := strings.ReplaceAll(string(raw), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > 0 && strings.HasPrefix(lines[0], "From ") {
		lines = lines[1:]
	}
	i := 0
	ctype := ""
	for ; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" {
			break
		}
		lower := strings.ToLower(l)
		val := func() string {
			v := l[strings.IndexByte(l, ':')+1:]
			for j := i + 1; j < len(lines) && len(lines[j]) > 0 && (lines[j][0] == ' ' || lines[j][0] == '\t'); j++ {
				v += lines[j]
			}
			return strings.TrimSpace(v)
		}
		switch {
		case strings.HasPrefix(lower, "subject:"):
			h.subject = h.subject || val() != ""
		case strings.HasPrefix(lower, "from:"):
			h.sender = h.sender || strings.Contains(val(), "@")
		case strings.HasPrefix(lower, "content-type:"):
			ctype = strings.ToLower(val())
		}
	}
	body := strings.Join(lines[min(i, len(lines)):], "\n")
	if strings.TrimSpace(body) != "" {
		switch {
		case ctype == "" || strings.HasPrefix(ctype, "text/plain") || strings.HasPrefix(ctype, "text/html"):
			h.text = true
		case strings.HasPrefix(ctype, "multipart/"):
			// Text inside an attached message/rfc822 is not the outer
			// message's text, so only look before the first one.
			lb := strings.ToLower(body)
			if k := strings.Index(lb, "content-type: message/rfc822"); k >= 0 {
				lb = lb[:k]
			}
			h.text = strings.Contains(lb, "content-type: text/plain") || strings.Contains(lb, "content-type: text/html")
		}
	}
	return h
}

type tally struct{ files, ok, subj, subjOK, from, fromOK, text, textOK, unusable int }

func (c *tally) pct(n, d int) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(d))
}

// TestCorpusNoPanicNoHangAndExtraction parses every file of the mimekit,
// enmime and sisimai corpora: none may panic or hang, every result must
// carry a MessageID and the right Size, and subject, sender and text must
// come out wherever the file holds them (>= 95% of files for
// mimekit/compliance and enmime; the figures for every folder are logged).
func TestCorpusNoPanicNoHangAndExtraction(t *testing.T) {
	root := corpusDir(t)
	files := corpusFiles(t, root, "mimekit", "enmime", "sisimai")
	if len(files) < 900 {
		t.Fatalf("corpus looks incomplete: %d files", len(files))
	}
	byFolder := map[string]*tally{}
	var bounces, withRcpt, withIDs int // sisimai maildir-bsd bounces (lhost-*)
	var slowest time.Duration
	var slowestFile string
	group := func(rel string) []string {
		parts := strings.Split(rel, string(filepath.Separator))
		g := []string{parts[0]}
		if len(parts) > 2 {
			g = append(g, parts[0]+"/"+parts[1])
		}
		return g
	}
	for _, path := range files {
		rel, _ := filepath.Rel(root, path)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		p, perr, finished := parseGuarded(raw)
		if d := time.Since(start); d > slowest {
			slowest, slowestFile = d, rel
		}
		if !finished {
			t.Fatalf("%s: Parse did not finish within %v", rel, parseDeadline)
		}
		if p == nil {
			t.Errorf("%s: nil result (%v)", rel, perr)
			continue
		}
		if perr != nil && !errors.Is(perr, ErrUnusable) {
			t.Errorf("%s: error does not wrap ErrUnusable: %v", rel, perr)
		}
		if p.MessageID == "" || p.Size != int64(len(raw)) {
			t.Errorf("%s: MessageID %q, Size %d of %d", rel, p.MessageID, p.Size, len(raw))
		}
		if strings.HasPrefix(rel, filepath.Join("sisimai", "maildir-bsd", "lhost-")) {
			bounces++
			if len(p.BounceRecipients) > 0 {
				withRcpt++
			}
			if len(p.EmbeddedIDs) > 0 {
				withIDs++
			}
		}
		h := rawHolds(raw)
		gotSubj, gotFrom, gotText := p.Subject != "", p.From.Addr != "", strings.TrimSpace(p.Text) != ""
		ok := (!h.subject || gotSubj) && (!h.sender || gotFrom) && (!h.text || gotText)
		if !ok {
			t.Logf("%s: holds subject=%v sender=%v text=%v, got subject=%v sender=%v text=%v defects=%q",
				rel, h.subject, h.sender, h.text, gotSubj, gotFrom, gotText, p.Defects)
		}
		for _, g := range group(rel) {
			c := byFolder[g]
			if c == nil {
				c = &tally{}
				byFolder[g] = c
			}
			c.files++
			if ok {
				c.ok++
			}
			if perr != nil {
				c.unusable++
			}
			if h.subject {
				c.subj++
				if gotSubj {
					c.subjOK++
				}
			}
			if h.sender {
				c.from++
				if gotFrom {
					c.fromOK++
				}
			}
			if h.text {
				c.text++
				if gotText {
					c.textOK++
				}
			}
		}
	}
	var names []string
	for g := range byFolder {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		c := byFolder[g]
		t.Logf("%-28s files %4d  all-held-extracted %6s  subject %6s of %d  sender %6s of %d  text %6s of %d  unusable %d",
			g, c.files, c.pct(c.ok, c.files), c.pct(c.subjOK, c.subj), c.subj, c.pct(c.fromOK, c.from), c.from,
			c.pct(c.textOK, c.text), c.text, c.unusable)
	}
	t.Logf("slowest file: %s, %v", slowestFile, slowest)
	if bounces > 0 {
		t.Logf("sisimai bounces (maildir-bsd/lhost-*): %d, with failed recipients %d (%.1f%%), with the original's ids %d (%.1f%%)",
			bounces, withRcpt, 100*float64(withRcpt)/float64(bounces), withIDs, 100*float64(withIDs)/float64(bounces))
	}
	for _, g := range []string{"mimekit/compliance", "enmime"} {
		c := byFolder[g]
		if c == nil {
			t.Fatalf("no files in %s", g)
		}
		if share := float64(c.ok) / float64(c.files); share < 0.95 {
			t.Errorf("%s: subject, sender and text extracted where held in %.1f%% of files, want >= 95%%", g, 100*share)
		}
	}
}
