package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/internal/smtptest"
	"kontaktpunkt/mailbox/mailmsg"
)

// TestWeeklyReportOnTheConfiguredDay: enabled on Monday, the report goes
// to the staff lead on Tuesday 08:00 with last week's figures against
// the four weeks before, the oldest open cases and the escalated ones;
// once that week, and again the week after.
func TestWeeklyReportOnTheConfiguredDay(t *testing.T) {
	cfg := testConfig()
	cfg.Reports.Weekly.Enabled, cfg.Reports.Weekly.Day, cfg.Reports.Weekly.At = true, "tue", "08:00"
	cfg.Templates.Language = "en"
	h := newHarness(t, cfg)
	loc := h.g.Clock.Loc
	for _, s := range reportScript(loc) {
		h.clock.t = s.at
		h.one(s.raw)
	}
	ctx := context.Background()
	h.clock.t = time.Date(2026, 11, 30, 12, 0, 0, 0, loc)
	if sent, err := h.g.SendWeeklyReport(ctx); err != nil || sent {
		t.Fatalf("on the day it was enabled: sent %v, %v", sent, err)
	}
	h.clock.t = time.Date(2026, 12, 1, 7, 59, 0, 0, loc)
	if sent, err := h.g.SendWeeklyReport(ctx); err != nil || sent {
		t.Fatalf("before Tuesday 08:00: sent %v, %v", sent, err)
	}
	h.clock.t = time.Date(2026, 12, 1, 8, 0, 0, 0, loc)
	if sent, err := h.g.SendWeeklyReport(ctx); err != nil || !sent {
		t.Fatalf("Tuesday 08:00: sent %v, %v", sent, err)
	}
	if sent, _ := h.g.SendWeeklyReport(ctx); sent {
		t.Fatal("a second report the same week")
	}
	mails := h.mailsTo(kari, "weekly")
	if len(mails) != 1 || mails[0].Subject != "Weekly report 2026-W48" {
		t.Fatalf("weekly mails to the lead = %+v", mails)
	}
	body := bodyOf(t, mails[0])
	// W48: cases 1-3 new, case 1 resolved (9 h), case 3 escalated; the
	// four weeks before are empty. First answers 2.5, 11 and 9.5 h.
	for _, want := range []string{
		"week 2026-W48 (2026-11-23 – 2026-11-29)",
		"New cases                           3   (four weeks before: 0.0)",
		"Resolved                            1",
		"Escalated                           1",
		"First answer, median (h)          9.5   (four weeks before: –)",
		"First answer, p90 (h)            11.0",
		"Resolution, median (h)            9.0",
		"Oldest open cases (2 of 2):\n  [INT#3] Nytt passord – created 2026-11-25, waiting\n  [INT#4] Rapport – created 2026-11-30, open",
		"Cases that escalated during the week:\n  [INT#3] Nytt passord – level 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the weekly report lacks %q:\n%s", want, body)
		}
	}
	// It reaches the lead through SMTP as an automatic mail.
	srv := smtptest.Start(t)
	if _, err := h.g.SendDue(ctx, newSender(t, srv)); err != nil {
		t.Fatal(err)
	}
	var got *kp.Parsed
	for _, m := range srv.Messages() {
		p, err := mailmsg.Parse(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if p.Subject == "Weekly report 2026-W48" && len(m.To) == 1 && kp.SameAddr(m.To[0], kari) {
			got = p
		}
	}
	if got == nil || got.Get("Auto-Submitted") != "auto-generated" || !strings.Contains(got.Text, "Oldest open cases") {
		t.Fatalf("the weekly report did not arrive at the lead's mailbox as automatic mail: %+v", got)
	}

	h.clock.t = time.Date(2026, 12, 8, 9, 0, 0, 0, loc)
	if sent, err := h.g.SendWeeklyReport(ctx); err != nil || !sent {
		t.Fatalf("the week after: sent %v, %v", sent, err)
	}
}
