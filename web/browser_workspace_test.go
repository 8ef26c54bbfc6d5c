package web

import (
	"fmt"
	"image/png"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	kp "kontaktpunkt"
)

// TestBrowserSearchAndActions: in Chromium, the search box's results
// page finds a case by a prefix and a domain, and a loopback user sees
// the case page's action forms, also at a phone's width.
func TestBrowserSearchAndActions(t *testing.T) {
	bin := chromiumPath(t)
	s := newGateway(t)
	c := newWebServer(t, s, "") // no auth configured: loopback may act

	res := see(t, chromium(t, bin, c.srv.URL+"/search?q="+url.QueryEscape("tilg from:@example.org"), "--dump-dom"))
	res.mustShow(t, fmt.Sprintf("[INT#%d]", s.id), "Tilgang til studentdata", "Hei, vi trenger tilgang.")
	if _, ok := res.Links[fmt.Sprintf("[INT#%d]", s.id)]; !ok {
		t.Errorf("no link to the case found; links %v", res.Links)
	}

	path := fmt.Sprintf("/case/%d", s.id)
	cs := see(t, chromium(t, bin, c.srv.URL+path, "--dump-dom"))
	cs.mustShow(t, "Take", "Close", "Escalate", "Assign to", "Add note", "Merge into", "Internal note (staff only, never sent to the requester)")
	if strings.Contains(cs.Text, "Read-only view") {
		t.Error("a user who may act is told the view is read-only")
	}

	file := filepath.Join(t.TempDir(), "phone-case-actions.png")
	if dir := os.Getenv("KP_SCREENSHOT_DIR"); dir != "" {
		file = filepath.Join(dir, "phone-case-actions.png")
	}
	chromium(t, bin, c.srv.URL+path, "--window-size=390,844", "--hide-scrollbars", "--screenshot="+file)
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cfg, err := png.DecodeConfig(f); err != nil || cfg.Width != 390 {
		t.Fatalf("screenshot %+v %v", cfg, err)
	}
}

// BenchmarkCasePage200 renders a case of 200 messages (replies with
// quoted history, notes, attachments) with the action forms. Target:
// under 30 ms.
func BenchmarkCasePage200(b *testing.B) {
	st := openStore(b)
	var msgs []kp.Message
	quoted := strings.Repeat("> Tidligere tekst i tråden som siteres på nytt i hvert svar.\n", 40)
	for i := range 200 {
		m := kp.Message{Direction: kp.In, Kind: "reply", Class: kp.ClassHuman, From: kp.Address{Name: "Åse", Addr: "ase@uib.no"},
			Subject: "SV: Tilgang", Date: t0, Text: fmt.Sprintf("Svar nummer %d.\n\nHilsen Åse\n\n", i) + quoted}
		switch i % 5 {
		case 1:
			m.Direction, m.Kind = kp.Out, "relay"
		case 2:
			m.Kind = "note"
		case 3:
			m.Attachments = []kp.Attachment{{Name: "skjermbilde.png", ContentType: "image/png", Size: 120000}}
		}
		msgs = append(msgs, m)
	}
	id := addCase(b, st, kp.Case{Subject: "Tilgang", Requester: kp.Address{Addr: "ase@uib.no"}}, msgs...)
	h := newHandler(b, st, &clock{t: t0}, func(o *Options) { o.Actions = nopActions{} })
	b.ResetTimer()
	cpu0 := cpuTime()
	defer func() {
		// CPU time per page: on a loaded machine it says more than ns/op.
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}()
	for range b.N {
		r := httptest.NewRequest("GET", fmt.Sprintf("/case/%d", id), nil)
		r.RemoteAddr = "127.0.0.1:5000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `name="csrf"`) {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// nopActions stands in for the gateway where only the forms matter.
type nopActions struct{}

func (nopActions) Operate(kp.CaseID, kp.Address, string, string) ([]string, error) { return nil, nil }
func (nopActions) MergeCases(kp.CaseID, kp.CaseID, kp.Address) error               { return nil }
func (nopActions) LinkCases(kp.CaseID, kp.CaseID, kp.Address) error                { return nil }
func (nopActions) MoveMessage(string, kp.CaseID, kp.Address) (kp.CaseID, error)    { return 0, nil }
func (nopActions) OpenFromMessage(string, kp.Address) (kp.CaseID, error)           { return 0, nil }
func (nopActions) RetryOutbound(uint64) error                                      { return nil }

// cpuTime returns the user and system CPU time used by this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
