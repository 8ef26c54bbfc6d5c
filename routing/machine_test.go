package routing

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
)

// TestClassifyMachineBreadth covers spam verdicts, robot senders, foreign
// loop headers, DMARC and TLS reports and localised subjects, each beside
// human mail that looks close to it and must stay human.
func TestClassifyMachineBreadth(t *testing.T) {
	own := ClassifyOptions{SpamSCL: 5, Own: []string{"integrasjon@uio.no"}}
	human := kp.ClassHuman
	tests := []struct {
		name string
		p    *kp.Parsed
		o    ClassifyOptions
		want kp.Class
	}{
		// Spam verdicts.
		{"x-spam-flag yes", msg("Faktura", "kari@example.org", "X-Spam-Flag", "YES"), own, kp.ClassSpam},
		{"x-spam-flag yes lower", msg("Faktura", "kari@example.org", "X-Spam-Flag", "yes"), own, kp.ClassSpam},
		{"x-spam-flag no", msg("Faktura", "kari@example.org", "X-Spam-Flag", "NO"), own, human},
		{"x-spam-status yes", msg("Faktura", "kari@example.org", "X-Spam-Status", "Yes, score=9.1 required=5.0 tests=BAYES_99"), own, kp.ClassSpam},
		{"x-spam-status no", msg("Faktura", "kari@example.org", "X-Spam-Status", "No, score=-0.1 required=5.0"), own, human},
		{"rspamd x-spam yes", msg("Faktura", "kari@example.org", "X-Spam", "Yes"), own, kp.ClassSpam},
		{"only the top verdict counts", msg("Faktura", "kari@example.org", "X-Spam-Flag", "NO", "X-Spam-Flag", "YES"), own, human},
		{"exchange scl at threshold", msg("Faktura", "kari@example.org", "X-Ms-Exchange-Organization-Scl", "5"), own, kp.ClassSpam},
		{"exchange scl above threshold", msg("Faktura", "kari@example.org", "X-Ms-Exchange-Organization-Scl", "9"), own, kp.ClassSpam},
		{"exchange scl below threshold", msg("Faktura", "kari@example.org", "X-Ms-Exchange-Organization-Scl", "4"), own, human},
		{"exchange scl internal", msg("Faktura", "kari@example.org", "X-Ms-Exchange-Organization-Scl", "-1"), own, human},
		{"exchange scl not configured", msg("Faktura", "kari@example.org", "X-Ms-Exchange-Organization-Scl", "9"), ClassifyOptions{}, human},
		{"spam beats auto-reply", msg("Automatic reply: x", "a@b.example", "X-Spam-Flag", "YES"), own, kp.ClassSpam},
		{"spam beats bulk", msg("Tilbud", "news@shop.example", "X-Spam-Flag", "YES", "List-Unsubscribe", "<mailto:u@shop.example>"), own, kp.ClassSpam},
		{"bounce beats spam", with(msg("Undelivered Mail Returned to Sender", "MAILER-DAEMON@mx.uio.no", "X-Spam-Flag", "YES"), func(p *kp.Parsed) {
			p.ContentType, p.ReportType = "multipart/report", "delivery-status"
		}), own, kp.ClassBounce},

		// Robot senders.
		{"majordomo", msg("Welcome to fs-users", "majordomo@lists.example.org"), own, kp.ClassBulk},
		{"listserv", msg("Output of your job", "LISTSERV@LISTSERV.EXAMPLE.EDU"), own, kp.ClassBulk},
		{"postmaster", msg("Message status", "postmaster@example.org"), own, kp.ClassBulk},
		{"noreply", msg("Din ordre", "noreply@shop.example"), own, kp.ClassBulk},
		{"no-reply", msg("Varsel", "no-reply@canvas.example"), own, kp.ClassBulk},
		{"no_reply", msg("Varsel", "no_reply@canvas.example"), own, kp.ClassBulk},
		{"donotreply", msg("Varsel", "DoNotReply@service.example"), own, kp.ClassBulk},
		{"do-not-reply", msg("Varsel", "do-not-reply@service.example"), own, kp.ClassBulk},
		{"containing noreply", msg("Kommentar", "comments-noreply@docs.example.com"), own, kp.ClassBulk},
		{"jira noreply", msg("[JIRA] (FS-12) Feil", "jira-noreply@jira.example.org"), own, kp.ClassBulk},
		{"bounces verp", msg("Nyhetsbrev", "bounces+1234-abcd@em.example.com"), own, kp.ClassBulk},
		{"list request", msg("Confirm", "fs-users-request@lists.example.org"), own, kp.ClassBulk},
		{"list owner is a person", msg("Moderation", "fs-users-owner@lists.example.org"), own, human},
		{"web form with a no-reply sender", with(msg("Skjema: tilgang til FS", "kari@example.org"), func(p *kp.Parsed) { p.Sender.Addr = "noreply@nettskjema.example" }), own, human},
		{"robot sender header", with(msg("Svar", "kari@example.org"), func(p *kp.Parsed) { p.Sender.Addr = "fs-users-bounces@lists.example.org" }), own, kp.ClassBulk},
		{"person named reply", msg("Hei", "reply.hansen@example.org"), own, human},
		{"person named norelli", msg("Hei", "anna.norelli@example.org"), own, human},
		{"person at noreply-looking domain", msg("Hei", "kari@noreply.example"), own, human},

		// X-Loop.
		{"x-loop of another system", msg("[bugs #42] Crash", "tracker@bugs.example.org", "X-Loop", "bugs@bugs.example.org"), own, kp.ClassBulk},
		{"x-loop naming us", msg("Tilgang til FS", "kari@example.org", "X-Loop", "integrasjon@uio.no"), own, human},
		{"x-loop naming us in caps", msg("Tilgang til FS", "kari@example.org", "X-Loop", "<Integrasjon@UIO.no>"), own, human},
		{"x-loop naming our plus address", msg("Tilgang til FS", "kari@example.org", "X-Loop", "integrasjon+abc@uio.no"), own, human},
		{"x-loop naming someone at our domain", msg("Tilgang til FS", "kari@example.org", "X-Loop", "helpdesk@uio.no"), own, kp.ClassBulk},
		{"x-loop of a redirect the person wrote to", with(msg("Tilgang til FS", "kari@example.org", "X-Loop", "it-integrasjon@usit.uio.no"), func(p *kp.Parsed) {
			p.To = []kp.Address{{Addr: "IT-Integrasjon@usit.uio.no"}}
		}), own, human},
		{"x-loop of a redirect by delivered-to", msg("Tilgang til FS", "kari@example.org", "X-Loop", "gammel@uio.no", "Delivered-To", "gammel@uio.no"), own, human},
		{"x-loop naming the sender", with(msg("[bugs #42] Crash", "bugs@bugs.example.org", "X-Loop", "bugs@bugs.example.org"), func(p *kp.Parsed) {
			p.To = []kp.Address{{Addr: "integrasjon@uio.no"}}
		}), own, kp.ClassBulk},

		// DMARC and TLS reports.
		{"dmarc by subject", msg("Report domain: uio.no Submitter: google.com Report-ID: 1234567890", "dmarc-reports@google.example"), own, kp.ClassBulk},
		{"dmarc by subject lower", msg("Report Domain: uio.no Submitter: protection.outlook.com Report-ID: <abc@x>", "dmarcreport@microsoft.example"), own, kp.ClassBulk},
		{"dmarc by attachment", with(msg("DMARC aggregate", "reports@mail.example"), func(p *kp.Parsed) {
			p.Attachments = []kp.Attachment{{Name: "google.com!uio.no!1764633600!1764719999.zip", ContentType: "application/zip", Size: 812}}
		}), own, kp.ClassBulk},
		{"dmarc gzip attachment", with(msg("Aggregate report", "reports@mail.example"), func(p *kp.Parsed) {
			p.Attachments = []kp.Attachment{{Name: "mail.example!uio.no!1764633600!1764719999!77.xml.gz", ContentType: "application/gzip", Size: 612}}
		}), own, kp.ClassBulk},
		{"tls report header", msg("Report Domain: uio.no Submitter: google.com", "noreply-smtp-tls-reporting@google.example", "TLS-Report-Domain", "uio.no", "TLS-Report-Submitter", "google.com"), own, kp.ClassBulk},
		{"tls report multipart", with(msg("TLS report", "tlsrpt@mail.example"), func(p *kp.Parsed) {
			p.ContentType, p.ReportType = "multipart/report", "tlsrpt"
		}), own, kp.ClassBulk},
		{"a person asking about dmarc reports", msg("Spørsmål om DMARC-rapporter for uio.no", "kari@example.org"), own, human},
		{"a person sending a zip", with(msg("Logg fra eksporten", "kari@example.org"), func(p *kp.Parsed) {
			p.Attachments = []kp.Attachment{{Name: "logg.zip", ContentType: "application/zip", Size: 2000}}
		}), own, human},

		// Localised auto-replies: alone, with a colon, echoing our subject.
		{"automatisk svar alone", msg("Automatisk svar", "anne@hvl.no"), own, kp.ClassAutoReply},
		{"automatisk svar colon", msg("Automatisk svar: [INT#8] Svar", "anne@hvl.no"), own, kp.ClassAutoReply},
		{"fraværende alone", msg("Fraværende", "anne@hvl.no"), own, kp.ClassAutoReply},
		{"fraværende colon", msg("Fraværende: Tilgang til API", "anne@hvl.no"), own, kp.ClassAutoReply},
		{"fravær alone", msg("Fravær", "anne@hvl.no"), own, kp.ClassAutoReply},
		{"fravær alone with stop", msg("Fravær.", "anne@hvl.no"), own, kp.ClassAutoReply},
		{"fravær echoing our tag", msg("Fravær: [INT#8] Svar", "anne@hvl.no"), own, kp.ClassAutoReply},
		{"fravær echoing a reply", msg("Fravær: SV: Tilgang", "anne@hvl.no"), own, kp.ClassAutoReply},
		{"autosvar alone", msg("Autosvar", "anne@hvl.no"), own, kp.ClassAutoReply},
		{"abwesend", msg("Abwesend", "hans@example.de"), own, kp.ClassAutoReply},
		{"abwesenheitsnotiz", msg("Abwesenheitsnotiz: Frage zu FS", "hans@example.de"), own, kp.ClassAutoReply},
		{"frånvarande", msg("Frånvarande: [INT#3] Fråga", "sven@example.se"), own, kp.ClassAutoReply},
		{"automatiskt svar", msg("Automatiskt svar: Fråga", "sven@example.se"), own, kp.ClassAutoReply},
		{"out of office alone", msg("Out of Office", "ann@example.com"), own, kp.ClassAutoReply},
		{"out of office colon", msg("Out of Office: Question", "ann@example.com"), own, kp.ClassAutoReply},
		{"automatic reply", msg("Automatic reply: Question", "ann@example.com"), own, kp.ClassAutoReply},
		{"sieve vacation default", msg("Auto: [INT#8] Svar", "anne@hvl.no"), own, kp.ClassAutoReply},
		{"ferie echoing our tag", msg("Ferie: [INT#8] Svar", "anne@hvl.no"), own, kp.ClassAutoReply},
		{"a person writing about cars", msg("Auto: bilpark i FS", "kari@uio.no"), own, human},
		{"a person asking about holidays", msg("Ferie og fravær i FS", "kari@uio.no"), own, human},
		{"leveringsfeil echoing our tag", msg("Leveringsfeil: [INT#5] Svar", "system@hvl.no"), own, kp.ClassBounce},
		{"leveringsfeil topic", msg("Leveringsfeil i integrasjonen mot Canvas", "kari@uio.no"), own, human},
		{"rt autoreply", msg("AutoReply: [rt.example #123] [INT#4] Tilgang", "fs-drift@rt.example"), own, kp.ClassAutoReply},
		{"rt autoreply behind its tag", msg("[rt.example #123] AutoReply: [INT#4] Tilgang", "fs-drift@rt.example"), own, kp.ClassAutoReply},
		{"znuny tag before an auto-reply", msg("[Ticket#2026120210000012] Automatic reply: x", "support@vendor.example"), own, kp.ClassAutoReply},
		{"external warning before fraværende", msg("[EKSTERN] Fraværende", "anne@hvl.no"), own, kp.ClassAutoReply},
		{"rt answer behind its tag", msg("[rt.example #123] [INT#4] Tilgang", "fs-drift@rt.example"), own, human},
		{"our tag is not skipped", msg("[INT#4] Automatisk svar på spørsmålet", "kari@uio.no"), own, human},
		{"a command is not skipped", msg("[note] Autosvar: x", "kari@uio.no"), own, human},

		// Localised non-delivery reports.
		{"kan ikke leveres", msg("Kan ikke leveres: [INT#5] Svar", "postmaster@hvl.no"), own, kp.ClassBounce},
		{"kan ikke leveres alone", msg("Kan ikke leveres", "ola@hvl.no"), own, kp.ClassBounce},
		{"ikke levert echoing our tag", msg("Ikke levert: [INT#5] Svar", "system@hvl.no"), own, kp.ClassBounce},
		{"ikke levert alone", msg("Ikke levert", "system@hvl.no"), own, kp.ClassBounce},
		{"undeliverable", msg("Undeliverable: Svar", "system@contoso.example"), own, kp.ClassBounce},
		{"olevererbart", msg("Olevererbart: Fråga", "system@example.se"), own, kp.ClassBounce},
		{"unzustellbar", msg("Unzustellbar: Frage", "system@example.de"), own, kp.ClassBounce},
		{"unzustellbar alone", msg("Unzustellbar", "system@example.de"), own, kp.ClassBounce},

		// Human mail that mentions the same words.
		{"fraværsregistrering", msg("Spørsmål om fraværsregistrering i FS", "kari@uio.no"), own, human},
		{"fraværsregistrering first", msg("Fraværsregistrering i FS feiler", "kari@uio.no"), own, human},
		{"fravær in a sentence", msg("Fravær registreres ikke i FS", "kari@uio.no"), own, human},
		{"fravær colon topic", msg("Fravær: rapporten viser feil tall", "kari@uio.no"), own, human},
		{"fraværende studenter", msg("Fraværende studenter mangler i eksporten", "kari@uio.no"), own, human},
		{"reply to an auto-reply", msg("SV: Automatisk svar: [INT#8] Svar", "kari@uio.no"), own, human},
		{"forwarded ndr", msg("VS: Kan ikke leveres: [INT#5] Svar", "kari@uio.no"), own, human},
		{"ikke levert topic", msg("Ikke levert vitnemål til Lånekassen", "kari@uio.no"), own, human},
		{"ikke levert colon topic", msg("Ikke levert: vitnemål fra FS", "kari@uio.no"), own, human},
		{"autosvaret", msg("Autosvaret fra Canvas virker ikke", "kari@uio.no"), own, human},
		{"out of office plans", msg("Out of office next week", "ann@example.com"), own, human},
		{"abwesenheit topic", msg("Abwesenheiten im Export fehlen", "hans@example.de"), own, human},
		{"ikke leverte", msg("Ikke leverte karakterer i FS", "kari@uio.no"), own, human},
		{"kan ikke leveres topic", msg("Kan ikke leveresdato endres?", "kari@uio.no"), own, human},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClassifyWith(tt.p, tt.o); got != tt.want {
				t.Errorf("ClassifyWith(%q from %s) = %s, want %s", tt.p.Subject, tt.p.From.Addr, got, tt.want)
			}
		})
	}
}

// TestClassifyFor checks that a known sender's bulk-looking mail is a
// person's answer, and that every other sign still decides.
func TestClassifyFor(t *testing.T) {
	rt := msg("[rt.example #123] [INT#4] Tilgang", "fs-drift@rt.example", "Precedence", "bulk", "RT-Ticket", "rt.example #123")
	tests := []struct {
		name  string
		p     *kp.Parsed
		known bool
		want  kp.Class
	}{
		{"rt answer from a known sender", rt, true, kp.ClassHuman},
		{"rt answer from a stranger", rt, false, kp.ClassBulk},
		{"list mail from a known sender", msg("Svar", "per@uio.no", "List-Id", "<fs.lists.uio.no>"), true, kp.ClassHuman},
		{"x-loop from a known ticket system", msg("[bugs #4] Svar", "bugs@bugs.example.org", "X-Loop", "bugs@bugs.example.org"), true, kp.ClassHuman},
		{"noreply ticket system known", msg("INC0012345 oppdatert", "servicenow-noreply@example.org"), true, kp.ClassHuman},
		{"auto-submitted from a known sender", msg("Svar", "per@uio.no", "Auto-Submitted", "auto-generated", "Precedence", "bulk"), true, kp.ClassAutoReply},
		{"x-autoreply from a known sender", msg("Svar", "per@uio.no", "X-Autoreply", "yes", "Precedence", "bulk"), true, kp.ClassAutoReply},
		{"rt autoreply subject from a known sender", msg("AutoReply: [rt.example #123] Tilgang", "fs-drift@rt.example", "Precedence", "bulk"), true, kp.ClassAutoReply},
		{"out of office from a known sender", msg("Automatisk svar: [INT#4] Tilgang", "per@uio.no"), true, kp.ClassAutoReply},
		{"spam from a known address", msg("Faktura", "per@uio.no", "X-Spam-Flag", "YES"), true, kp.ClassSpam},
		{"bounce from a known address", msg("x", "per@uio.no", "X-Failed-Recipients", "a@b.example"), true, kp.ClassBounce},
		{"human stays human", msg("Svar", "per@uio.no"), false, kp.ClassHuman},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClassifyFor(tt.p, Classify(tt.p), tt.known); got != tt.want {
				t.Errorf("ClassifyFor = %s, want %s", got, tt.want)
			}
		})
	}
}

// FuzzClassifySubject checks the subject rules of classification on any
// subject: no panic, and a human subject stays human behind a person's
// forward prefix, since every subject rule is anchored at the start.
func FuzzClassifySubject(f *testing.F) {
	for _, s := range []string{
		"Fraværende", "Fravær: [INT#4] x", "Automatisk svar: x", "Kan ikke leveres", "Ikke levert: SV: x",
		"Report domain: uio.no Submitter: google.com", "Spørsmål om fraværsregistrering i FS", "Out of Office", "\xff\xfe", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, subject string) {
		ClassifyWith(msg(subject, "kari@example.org"), ClassifyOptions{SpamSCL: 5, Own: []string{"integrasjon@uio.no"}})
		if got := ClassifyWith(msg("Fwd: "+subject, "kari@example.org"), ClassifyOptions{}); got != kp.ClassHuman {
			t.Fatalf("forward of %q classified %s", subject, got)
		}
	})
}

// BenchmarkClassifyVaried classifies every corpus message (bounces,
// auto-replies, list mail and people's mail), parsed beforehand, per op.
func BenchmarkClassifyVaried(b *testing.B) {
	var ps []*kp.Parsed
	for _, dir := range []string{"sisimai", "mimekit", "enmime"} {
		_ = filepath.WalkDir(filepath.Join(corpusDir(b), dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if p, _ := mailmsg.Parse(raw); p != nil {
				ps = append(ps, p)
			}
			return nil
		})
	}
	if len(ps) < 500 {
		b.Fatalf("only %d messages", len(ps))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, p := range ps {
			Classify(p)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ps)), "ns/msg")
}
