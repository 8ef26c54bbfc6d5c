package routing

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
)

// msg builds a Parsed from header pairs ("Key", "value", …).
func msg(subject, from string, kv ...string) *kp.Parsed {
	p := &kp.Parsed{Subject: subject, From: kp.Address{Addr: from}, ContentType: "text/plain", Header: map[string][]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Header[kv[i]] = append(p.Header[kv[i]], kv[i+1])
	}
	return p
}

func with(p *kp.Parsed, f func(p *kp.Parsed)) *kp.Parsed {
	f(p)
	return p
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		p    *kp.Parsed
		want kp.Class
	}{
		{"nil", nil, kp.ClassHuman},
		{"plain request", msg("Tilgang til FS-API", "kari@vegvesen.no"), kp.ClassHuman},
		{"reply", with(msg("SV: [INT#42] Tilgang", "kari@vegvesen.no", "Thread-Index", "AQHa"), func(p *kp.Parsed) { p.InReplyTo = []string{"kp.1@uio.no"} }), kp.ClassHuman},

		// Loop beats everything.
		{"loop header", msg("[INT#1] Ny sak", "integrasjon@uio.no", kp.LoopHeader, "integrasjon@uio.no", "Auto-Submitted", "auto-generated"), kp.ClassLoop},
		{"loop header beats bounce", with(msg("Undelivered Mail Returned to Sender", "MAILER-DAEMON@mx.uio.no", "X-Kontaktpunkt-Loop", "x"), func(p *kp.Parsed) {
			p.ContentType, p.ReportType = "multipart/report", "delivery-status"
		}), kp.ClassLoop},

		// Bounces.
		{"dsn", with(msg("Undelivered Mail Returned to Sender", "MAILER-DAEMON@mx.uio.no"), func(p *kp.Parsed) {
			p.ContentType, p.ReportType = "multipart/report", "delivery-status"
		}), kp.ClassBounce},
		{"dsn from anyone", with(msg("Report", "reports@example.org"), func(p *kp.Parsed) {
			p.ContentType, p.ReportType = "multipart/report", "delivery-status"
		}), kp.ClassBounce},
		{"global dsn", with(msg("x", "a@b.example"), func(p *kp.Parsed) { p.ContentType, p.ReportType = "multipart/report", "global-delivery-status" }), kp.ClassBounce},
		{"arf feedback report is bounce", with(msg("Abuse report", "abuse@mailbox.example"), func(p *kp.Parsed) {
			p.ContentType, p.ReportType = "multipart/report", "feedback-report"
		}), kp.ClassBounce},
		{"read receipt is auto-reply", with(msg("Lest: [INT#3] Svar", "ola@uio.no"), func(p *kp.Parsed) {
			p.ContentType, p.ReportType = "multipart/report", "disposition-notification"
		}), kp.ClassAutoReply},
		{"x-failed-recipients", msg("Mail delivery failed: returning message to sender", "Mailer-Daemon@mx.example", "X-Failed-Recipients", "gone@example.net"), kp.ClassBounce},
		{"x-failed-recipients alone", msg("hello", "someone@example.net", "X-Failed-Recipients", "gone@example.net"), kp.ClassBounce},
		{"mailer-daemon sender", msg("Hello", "MAILER-DAEMON@mx.example"), kp.ClassBounce},
		{"mail delivery subsystem name", with(msg("Delivery Status Notification (Failure)", "mailer-daemon@googlemail.com"), func(p *kp.Parsed) { p.From.Name = "Mail Delivery Subsystem" }), kp.ClassBounce},
		{"postmaster with null return path", msg("Message status", "postmaster@example.org", "Return-Path", "<>"), kp.ClassBounce},
		{"postmaster with daemon return path", msg("Message status", "postmaster@example.org", "Return-Path", "<MAILER-DAEMON@example.org>"), kp.ClassBounce},
		// The postmaster address is a robot sender: what it writes without
		// bounce signs is machine mail all the same (no case, no answer).
		{"postmaster without bounce signs", msg("Spørsmål om SPF for uio.no", "postmaster@example.org", "Return-Path", "<postmaster@example.org>"), kp.ClassBulk},
		{"undeliverable subject", msg("Undeliverable: [INT#5] Svar", "postmaster@contoso.onmicrosoft.com"), kp.ClassBounce},
		{"returned mail subject", msg("Returned mail: see transcript for details", "root@old.example"), kp.ClassBounce},
		{"failure notice subject", msg("failure notice", "root@qmail.example"), kp.ClassBounce},
		{"norwegian exchange bounce", msg("Kan ikke leveres: [INT#5] Svar", "postmaster@uio.no"), kp.ClassBounce},
		{"dsn failure subject", msg("Delivery Status Notification (Failure)", "noreply@gmail.example"), kp.ClassBounce},
		{"delivery failed subject from a machine", msg("Delivery failed", "no-reply@relay.example"), kp.ClassBounce},
		{"delivery failed subject from a person", msg("Delivery failed from FS to Canvas", "kari@vegvesen.no"), kp.ClassHuman},
		{"bounce body from machine sender", with(msg("Notice", "no-reply@relay.example", "Return-Path", "<>"), func(p *kp.Parsed) {
			p.Text = "This is the mail system at host relay.example.\n\nI'm sorry to have to inform you that your message could not be delivered."
		}), kp.ClassBounce},
		{"bounce recipients from machine sender", with(msg("Notice", "post_master@vtext.example"), func(p *kp.Parsed) {
			p.BounceRecipients = []string{"a@b.example"}
		}), kp.ClassBounce},
		{"amazon ses notification", with(msg("AWS Notification Message", "no-reply@sns.amazonaws.com"), func(p *kp.Parsed) {
			p.Text = `{"notificationType":"Bounce","bounce":{"bounceType":"Permanent"}}`
		}), kp.ClassBounce},

		// A person forwarding a bounce or a machine message is human.
		{"forwarded bounce by a person", with(msg("Fwd: Undeliverable: [INT#5] Svar", "kari@vegvesen.no"), func(p *kp.Parsed) {
			p.Text = "Hei, jeg fikk denne. Hva betyr den?\n\n---------- Forwarded message ---------\nFrom: Mail Delivery System\nThis is the mail system at host relay.example."
		}), kp.ClassHuman},
		{"bounce words from a person", with(msg("Spørsmål", "kari@vegvesen.no"), func(p *kp.Parsed) {
			p.Text = "Vi får 'user unknown' og 'mailbox unavailable' når vi sender til dere."
		}), kp.ClassHuman},
		{"forwarded attachment", with(msg("Fwd: Synkronisering feilet", "tor.lie@usit.uio.no"), func(p *kp.Parsed) {
			p.ContentType = "multipart/mixed"
			p.Attachments = []kp.Attachment{{Name: "Synkronisering feilet.eml", ContentType: "message/rfc822", Size: 331}}
			p.EmbeddedIDs = []string{"sync-failed@lms.example.org"}
		}), kp.ClassHuman},

		// Auto-replies.
		{"auto-submitted auto-replied", msg("Re: [INT#7] Svar", "ola@uio.no", "Auto-Submitted", "auto-replied"), kp.ClassAutoReply},
		{"auto-submitted auto-generated with params", msg("Varsel", "system@uio.no", "Auto-Submitted", "auto-generated; owner-email=\"x@uio.no\""), kp.ClassAutoReply},
		{"auto-submitted no", msg("Hei", "ola@uio.no", "Auto-Submitted", "no"), kp.ClassHuman},
		{"auto-submitted No with comment", msg("Hei", "ola@uio.no", "Auto-Submitted", "No (person)"), kp.ClassHuman},
		{"x-autoreply", msg("Re: Hei", "ola@example.org", "X-Autoreply", "yes"), kp.ClassAutoReply},
		{"x-autorespond", msg("Re: Hei", "ola@example.org", "X-Autorespond", "Hei"), kp.ClassAutoReply},
		{"precedence auto_reply", msg("Re: Hei", "ola@example.org", "Precedence", "auto_reply"), kp.ClassAutoReply},
		{"outlook automatic reply", msg("Automatic reply: [INT#8] Svar", "anne@hvl.no"), kp.ClassAutoReply},
		{"norwegian automatic reply", msg("Automatisk svar: [INT#8] Svar", "anne@hvl.no"), kp.ClassAutoReply},
		{"autosvar", msg("Autosvar: Svar", "anne@hvl.no"), kp.ClassAutoReply},
		{"out of office from exchange", msg("Out of Office: [INT#8] Svar", "anne@hvl.no", "X-Auto-Response-Suppress", "All"), kp.ClassAutoReply},
		{"fraværende as a reply", with(msg("Fraværende", "anne@hvl.no"), func(p *kp.Parsed) { p.InReplyTo = []string{"kp.9@uio.no"} }), kp.ClassAutoReply},
		{"abwesend from exchange rules", msg("Abwesend: Frage", "hans@example.de", "X-Ms-Exchange-Inbox-Rules-Loop", "hans@example.de"), kp.ClassAutoReply},
		{"out of office announced by a person", msg("Out of office next week", "ola@uio.no"), kp.ClassHuman},
		{"x-auto-response-suppress alone", msg("Spørsmål om API", "kari@vegvesen.no", "X-Auto-Response-Suppress", "All"), kp.ClassHuman},
		{"exchange generated message", msg("Melding", "system@contoso.example", "X-Ms-Exchange-Generated-Message-Source", "Mailbox Rules Agent", "X-Auto-Response-Suppress", "All"), kp.ClassAutoReply},
		{"null return path alone", msg("Hei", "ola@example.org", "Return-Path", "<>"), kp.ClassHuman},

		// Bulk.
		{"precedence bulk", msg("Nyhetsbrev", "news@example.org", "Precedence", "bulk"), kp.ClassBulk},
		{"precedence junk", msg("x", "news@example.org", "Precedence", "junk"), kp.ClassBulk},
		{"precedence list", msg("x", "list@example.org", "Precedence", "list"), kp.ClassBulk},
		{"list-id", msg("[uio-it] Driftsmelding", "ola@uio.no", "List-Id", "<uio-it.lists.uio.no>"), kp.ClassBulk},
		{"list-unsubscribe", msg("Tilbud", "news@shop.example", "List-Unsubscribe", "<mailto:unsub@shop.example>"), kp.ClassBulk},
		{"auto-reply beats bulk", msg("Automatic reply: x", "a@b.example", "Precedence", "bulk"), kp.ClassAutoReply},
		{"bounce beats bulk", msg("x", "MAILER-DAEMON@b.example", "Precedence", "junk"), kp.ClassBounce},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.p); got != tt.want {
				t.Errorf("Classify = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestClassifyParseFixtures classifies mailbox's golden fixtures as parsed
// by mailmsg.Parse.
func TestClassifyParseFixtures(t *testing.T) {
	want := map[string]kp.Class{
		"outlook-reply-in-reply-to.eml":      kp.ClassHuman,
		"gmail-reply-references.eml":         kp.ClassHuman,
		"apple-mail-reply.eml":               kp.ClassHuman,
		"reply-prefixes-changed-subject.eml": kp.ClassHuman,
		"latin1-norwegian.eml":               kp.ClassHuman,
		"html-only.eml":                      kp.ClassHuman,
		"forward-attached-message.eml":       kp.ClassHuman,
		"exchange-out-of-office.eml":         kp.ClassAutoReply,
		// The returned headers carry our loop header; only the top level
		// counts, so this is a bounce, not a loop.
		"dsn-multipart-report.eml": kp.ClassBounce,
	}
	dir := filepath.Join("..", "mailbox", "mailmsg", "testdata", "parse")
	for name, class := range want {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		p, err := mailmsg.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := Classify(p); got != class {
			t.Errorf("%s: Classify = %s, want %s", name, got, class)
		}
	}
}

// TestRoutingDoesNotImportMailbox keeps decisions free of MIME: routing
// sees kp.Parsed, never mailbox or go-message (its tests may use both).
func TestRoutingDoesNotImportMailbox(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "kontaktpunkt/mailbox") || strings.HasPrefix(dep, "github.com/emersion/") {
			t.Errorf("routing depends on %s", dep)
		}
	}
}

// BenchmarkClassify classifies a parsed Outlook reply.
func BenchmarkClassify(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("..", "mailbox", "mailmsg", "testdata", "parse", "outlook-reply-in-reply-to.eml"))
	if err != nil {
		b.Fatal(err)
	}
	p, err := mailmsg.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if Classify(p) != kp.ClassHuman {
			b.Fatal("not human")
		}
	}
}
