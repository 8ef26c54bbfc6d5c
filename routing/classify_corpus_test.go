package routing

import (
	"bufio"
	"io/fs"
	"kontaktpunkt/internal/testcorpus"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
)

func corpusDir(t testing.TB) string { return testcorpus.Dir(t) }

func classifyFile(t *testing.T, path string) (kp.Class, *kp.Parsed) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := mailmsg.Parse(raw) // an unusable message still classifies
	return Classify(p), p
}

// TestClassifyCorpusSisimai checks every sisimai file labelled bounce,
// auto-reply or feedback report in labels.tsv is classified as machine mail
// (recall >= 95%, misses logged), and that the plainly human not-bounce
// files are classified human.
func TestClassifyCorpusSisimai(t *testing.T) {
	root := filepath.Join(corpusDir(t), "sisimai")
	f, err := os.Open(filepath.Join(root, "labels.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type count struct{ n, machine int }
	byLabel := map[string]*count{}
	byClass := map[kp.Class]int{}
	sc := bufio.NewScanner(f)
	header := true
	for sc.Scan() {
		if header {
			header = false
			continue
		}
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 2 {
			continue
		}
		file, label := cols[0], cols[1]
		class, p := classifyFile(t, filepath.Join(root, file))
		switch {
		case label == "bounce" || strings.HasPrefix(label, "auto-reply") || strings.HasPrefix(label, "feedback-report"):
			c := byLabel[label]
			if c == nil {
				c = &count{}
				byLabel[label] = c
			}
			c.n++
			byClass[class]++
			if class.Machine() {
				c.machine++
			} else {
				t.Logf("miss: %s (%s) classified %s; subject %q from %q content-type %s", file, label, class, p.Subject, p.From.Addr, p.ContentType)
			}
		case label == "not-bounce":
			// rb-issue-368-bug is "not a bounce" to sisimai, but it is an
			// Auto-Submitted notice from postmaster with a null
			// Return-Path: machine mail all the same, so it is not
			// expected to be human.
			if strings.HasSuffix(file, "rb-issue-368-bug.eml") {
				if !class.Machine() {
					t.Errorf("%s: classified %s, want machine (auto-submitted postmaster notice)", file, class)
				}
				continue
			}
			if class != kp.ClassHuman {
				t.Errorf("%s: plainly human mail classified %s", file, class)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	total, machine := 0, 0
	var labels []string
	for l := range byLabel {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for _, l := range labels {
		c := byLabel[l]
		total += c.n
		machine += c.machine
		t.Logf("%-22s %4d files, %4d machine (%.1f%%)", l, c.n, c.machine, 100*float64(c.machine)/float64(c.n))
	}
	t.Logf("classes given to labelled machine mail: %v", byClass)
	if total < 700 {
		t.Fatalf("only %d labelled machine files found; corpus incomplete?", total)
	}
	recall := float64(machine) / float64(total)
	t.Logf("machine recall %d/%d = %.1f%%", machine, total, 100*recall)
	if recall < 0.95 {
		t.Errorf("machine recall %.1f%%, want >= 95%%", 100*recall)
	}
}

// machineFiles are the enmime and mimekit files that are not human mail:
// delivery reports, read receipts, abuse reports and the like.
var machineFiles = map[string]string{
	"mimekit/messages/bounce.txt":                               "bounce",
	"mimekit/messages/delivery-status-multiple-blank-lines.txt": "bounce",
	"mimekit/messages/delivery-status-no-blank-line.txt":        "bounce",
	"mimekit/messages/delivery-status.anonymized.eml":           "bounce",
	"mimekit/messages/delivery-status.txt":                      "bounce",
	"mimekit/messages/delivery-status2.txt":                     "bounce",
	// The anonymised copy lost its report-type; a report of unknown type
	// is taken as a bounce.
	"mimekit/messages/disposition-notification.anonymized.eml": "bounce",
	"mimekit/messages/disposition-notification.txt":            "auto-reply",
	"mimekit/messages/feedback-report.txt":                     "bounce",
	"enmime/mail/multipart-wo-boundary.raw":                    "bounce",
}

// TestClassifyCorpusHuman checks that every enmime and mimekit message that
// is plainly human mail (a parsed sender or subject, not in machineFiles)
// is classified human, and that the machine files get the class their
// kind calls for.
func TestClassifyCorpusHuman(t *testing.T) {
	root := corpusDir(t)
	humans, wrong := 0, 0
	for _, folder := range []string{"enmime", "mimekit"} {
		err := filepath.WalkDir(filepath.Join(root, folder), func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			rel = filepath.ToSlash(rel)
			class, p := classifyFile(t, path)
			if want, ok := machineFiles[rel]; ok {
				if string(class) != want {
					t.Errorf("%s: classified %s, want %s", rel, class, want)
				}
				return nil
			}
			if p.From.Addr == "" && p.Subject == "" {
				return nil // not a mail message (LICENSE, TNEF blobs, lists)
			}
			humans++
			if class != kp.ClassHuman {
				wrong++
				t.Errorf("%s: human mail classified %s (subject %q, from %q)", rel, class, p.Subject, p.From.Addr)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("human enmime/mimekit messages: %d, classified machine: %d", humans, wrong)
	if humans < 100 {
		t.Fatalf("only %d human messages found; corpus incomplete?", humans)
	}
}
