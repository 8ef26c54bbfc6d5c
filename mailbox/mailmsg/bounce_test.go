package mailmsg

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	kp "kontaktpunkt"
)

// dsnMail builds a multipart/report delivery-status bounce around a
// human-readable part and a delivery-status part.
func dsnMail(from, subject, human, status string) string {
	return "From: " + from + "\r\nTo: integrasjon@uio.no\r\nSubject: " + subject + "\r\n" +
		"Message-ID: <dsn-" + strings.ReplaceAll(subject, " ", "") + "@mx.example>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + strings.ReplaceAll(human, "\n", "\r\n") + "\r\n" +
		"--b\r\nContent-Type: message/delivery-status\r\n\r\n" + strings.ReplaceAll(status, "\n", "\r\n") + "\r\n" +
		"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <orig@uio.no>\r\nFrom: integrasjon@uio.no\r\nTo: ola@example.org\r\nSubject: [INT#4] Tilgang\r\n\r\n--b--\r\n"
}

func TestBounceDetails(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		want      []kp.BounceDetail
	}{
		{
			name: "postfix dsn, folded diagnostic",
			raw: dsnMail("MAILER-DAEMON@mx.uio.no (Mail Delivery System)", "Undelivered Mail Returned to Sender",
				"This is the mail system at host mx.uio.no.\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n                   The mail system\n\n<ola@example.org>: host mx.example.org[192.0.2.25] said: 550 5.1.1\n    <ola@example.org>: Recipient address rejected: User unknown in local\n    recipient table (in reply to RCPT TO command)\n",
				"Reporting-MTA: dns; mx.uio.no\nX-Postfix-Queue-ID: 4Fa1b2C3d4\nArrival-Date: Mon, 23 Nov 2026 09:59:58 +0100 (CET)\n\nFinal-Recipient: rfc822; ola@example.org\nOriginal-Recipient: rfc822;ola@example.org\nAction: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.example.org\nDiagnostic-Code: smtp; 550 5.1.1 <ola@example.org>: Recipient address rejected:\n    User unknown in local recipient table\n"),
			want: []kp.BounceDetail{{Recipient: "ola@example.org", Status: "5.1.1", Diagnostic: "550 5.1.1 <ola@example.org>: Recipient address rejected: User unknown in local recipient table"}},
		},
		{
			name: "exchange dsn, two recipients",
			raw: dsnMail("postmaster@uio.no", "Undeliverable: [INT#4] Tilgang",
				"Delivery has failed to these recipients or groups:\n\nola@example.org\nThe email address you entered couldn't be found.\n\nkari@example.org\n",
				"Reporting-MTA: dns;EX01.uio.no\nReceived-From-MTA: dns;EX02.uio.no\n\nFinal-Recipient: rfc822;ola@example.org\nAction: failed\nStatus: 5.1.10\nDiagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup\n\nFinal-Recipient: rfc822;kari@example.org\nAction: failed\nStatus: 5.2.2\nDiagnostic-Code: smtp;554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException\n"),
			want: []kp.BounceDetail{
				{Recipient: "ola@example.org", Status: "5.1.10", Diagnostic: "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"},
				{Recipient: "kari@example.org", Status: "5.2.2", Diagnostic: "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException"},
			},
		},
		{
			name: "gmail dsn",
			raw: dsnMail("Mail Delivery Subsystem <mailer-daemon@googlemail.com>", "Delivery Status Notification (Failure)",
				"Address not found\n\nYour message wasn't delivered to ola.nordmann.finnes.ikke@gmail.com because the address couldn't be found, or is unable to receive mail.\n",
				"Reporting-MTA: dns; googlemail.com\nArrival-Date: Mon, 23 Nov 2026 01:00:00 -0800 (PST)\nX-Original-Message-ID: <orig@uio.no>\n\nFinal-Recipient: rfc822; ola.nordmann.finnes.ikke@gmail.com\nAction: failed\nStatus: 5.1.1\nRemote-MTA: dns; gmail-smtp-in.l.google.com. (2a00:1450:4010:c0b::1a, the server for the domain gmail.com.)\nDiagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try\n 550-5.1.1 double-checking the recipient's email address for typos or\n 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser a1si2345678lfb.1 - gsmtp\nLast-Attempt-Date: Mon, 23 Nov 2026 01:00:01 -0800 (PST)\n"),
			want: []kp.BounceDetail{{Recipient: "ola.nordmann.finnes.ikke@gmail.com", Status: "5.1.1",
				Diagnostic: "550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser a1si2345678lfb.1 - gsmtp"}},
		},
		{
			name: "dsn without a diagnostic: the text says it",
			raw: dsnMail("MAILER-DAEMON@mx.uio.no", "Undelivered Mail Returned to Sender",
				"<ola@example.org>: host mx.example.org[192.0.2.25] said: 552 5.2.2 Mailbox full\n    (in reply to RCPT TO command)\n",
				"Reporting-MTA: dns; mx.uio.no\n\nFinal-Recipient: rfc822; ola@example.org\nAction: failed\nStatus: 5.2.2\n"),
			want: []kp.BounceDetail{{Recipient: "ola@example.org", Status: "5.2.2", Diagnostic: "552 5.2.2 Mailbox full (in reply to RCPT TO command)"}},
		},
		{
			name: "norwegian exchange ndr, no dsn part",
			raw: "From: postmaster@uio.no\r\nTo: integrasjon@uio.no\r\nSubject: Kan ikke leveres: [INT#4] Tilgang\r\nMessage-ID: <ndr1@uio.no>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
				"Leveringen mislyktes for disse mottakerne eller gruppene:\r\n\r\nola@example.org\r\nE-postadressen du skrev inn, ble ikke funnet. Kontroller mottakerens e-postadresse, og prøv å sende meldingen på nytt.\r\n\r\nDiagnostisk informasjon for administratorer:\r\n\r\nGenererer server: EX01.uio.no\r\n\r\nola@example.org\r\nEkstern server returnerte '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'\r\n\r\nOpprinnelige meldingshoder:\r\n\r\nMessage-ID: <orig@uio.no>\r\n",
			want: []kp.BounceDetail{{Recipient: "ola@example.org", Status: "5.1.1", Diagnostic: "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found"}},
		},
		{
			name: "qmail, no dsn part",
			raw: "From: MAILER-DAEMON@mx.example.net\r\nTo: integrasjon@uio.no\r\nSubject: failure notice\r\nMessage-ID: <q1@mx.example.net>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\n\r\n" +
				"Hi. This is the qmail-send program at mx.example.net.\r\nI'm afraid I wasn't able to deliver your message to the following addresses.\r\nThis is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n<per@example.net>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n\r\n--- Below this line is a copy of the message.\r\n\r\nMessage-ID: <orig@uio.no>\r\n",
			want: []kp.BounceDetail{{Recipient: "per@example.net", Status: "5.1.1", Diagnostic: "Sorry, no mailbox here by that name. (#5.1.1)"}},
		},
		{
			name: "exim, x-failed-recipients",
			raw: "From: Mail Delivery System <Mailer-Daemon@mx.example.com>\r\nTo: integrasjon@uio.no\r\nSubject: Mail delivery failed: returning message to sender\r\nX-Failed-Recipients: nils@example.com\r\nMessage-ID: <e1@mx.example.com>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\n\r\n" +
				"This message was created automatically by mail delivery software.\r\n\r\nA message that you sent could not be delivered to one or more of its\r\nrecipients. This is a permanent error. The following address(es) failed:\r\n\r\n  nils@example.com\r\n    host mx.example.com [192.0.2.7]\r\n    SMTP error from remote mail server after RCPT TO:<nils@example.com>:\r\n    550 5.1.1 <nils@example.com>: Recipient address rejected: User unknown\r\n\r\n------ This is a copy of the message, including all the headers. ------\r\n",
			want: []kp.BounceDetail{{Recipient: "nils@example.com", Status: "5.1.1", Diagnostic: "550 5.1.1 <nils@example.com>: Recipient address rejected: User unknown"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse([]byte(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			if len(p.BounceDetails) != len(p.BounceRecipients) {
				t.Fatalf("%d details for %d recipients", len(p.BounceDetails), len(p.BounceRecipients))
			}
			if len(p.BounceDetails) != len(tc.want) {
				t.Fatalf("details = %+v, want %+v", p.BounceDetails, tc.want)
			}
			for i, w := range tc.want {
				if g := p.BounceDetails[i]; g != w {
					t.Errorf("detail %d =\n  %+v\nwant\n  %+v", i, g, w)
				}
			}
		})
	}
}

// TestBounceDetailsCorpus reads real bounces of the shared corpus: a
// Postfix DSN, an Exchange 2007 DSN, an Office 365 DSN whose text holds
// the reply, and Gmail's and qmail's bounces without a DSN part.
func TestBounceDetailsCorpus(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "sisimai", "maildir-bsd")
	for _, tc := range []struct {
		file   string
		want   kp.BounceDetail
		prefix bool // Diagnostic need only begin with want's
	}{
		{"lhost-postfix-01.eml", kp.BounceDetail{Recipient: "r@p351355.pool.example.ne.jp", Status: "5.1.1", Diagnostic: `procmail: Couldn't create "/var/spool/mail/neko" id: r.example.org: No such user`}, false},
		{"lhost-exchange2007-01.eml", kp.BounceDetail{Recipient: "mikeneko@example.co.jp", Status: "5.1.1", Diagnostic: "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found"}, false},
		{"lhost-office365-01.eml", kp.BounceDetail{Recipient: "kijitora@example.com", Status: "5.1.10", Diagnostic: "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"}, false},
		{"lhost-gmail-01.eml", kp.BounceDetail{Recipient: "userunknown@example.jp", Status: "5.1.1", Diagnostic: "550 5.1.1 <userunknown@example.jp>... User Unknown"}, false},
		{"lhost-qmail-01.eml", kp.BounceDetail{Recipient: "kijitora@example.ne.jp", Status: "5.5.0", Diagnostic: "550 Unknown user kijitora@example.ne.jp"}, true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range p.BounceDetails {
				if d.Recipient != tc.want.Recipient {
					continue
				}
				if d.Status != tc.want.Status || tc.prefix && !strings.HasPrefix(d.Diagnostic, tc.want.Diagnostic) || !tc.prefix && d.Diagnostic != tc.want.Diagnostic {
					t.Fatalf("detail = %+v, want %+v", d, tc.want)
				}
				return
			}
			t.Fatalf("no detail for %s in %+v", tc.want.Recipient, p.BounceDetails)
		})
	}
}

// Every bounce of the corpus gets one detail per failed recipient, and
// most say why.
func TestBounceDetailsCorpusCoverage(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpusDir(t), "sisimai", "maildir-bsd", "lhost-*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	var rcpts, said int
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse(raw)
		if err != nil {
			continue
		}
		if len(p.BounceDetails) != len(p.BounceRecipients) {
			t.Fatalf("%s: %d details for %d recipients", filepath.Base(f), len(p.BounceDetails), len(p.BounceRecipients))
		}
		for i, d := range p.BounceDetails {
			if d.Recipient != p.BounceRecipients[i] {
				t.Fatalf("%s: detail %d is for %q, recipient %q", filepath.Base(f), i, d.Recipient, p.BounceRecipients[i])
			}
			rcpts++
			if d.Diagnostic != "" {
				said++
			}
		}
	}
	t.Logf("%d of %d failed recipients with a diagnostic", said, rcpts)
	if rcpts < 300 || said*20 < rcpts*17 {
		t.Errorf("%d of %d failed recipients with a diagnostic, want at least 85%%", said, rcpts)
	}
}

func TestParseXFailedRecipientsAndPlainTextBounce(t *testing.T) {
	p := mustParse(t, "From: Mail Delivery System <Mailer-Daemon@mx.example>\nTo: integrasjon@uio.no\nSubject: Mail delivery failed: returning message to sender\n"+
		"X-Failed-Recipients: gone@example.net, also@example.net\n\n"+
		"This message was created automatically by mail delivery software.\n\n"+
		"  gone@example.net\n    SMTP error from remote mail server after RCPT TO:<gone@example.net>:\n    550 5.1.1 User unknown\n\n"+
		"------ This is a copy of the message, including all the headers. ------\n\n"+
		"Message-ID: <kp.0102030405060708@UIO.NO>\nSubject: [INT#7] svar\n")
	if !equalStrings(p.BounceRecipients, "gone@example.net", "also@example.net") || !p.BouncePermanent {
		t.Errorf("recipients %q permanent %v", p.BounceRecipients, p.BouncePermanent)
	}
	if !equalStrings(p.EmbeddedIDs, "kp.0102030405060708@uio.no") {
		t.Errorf("embedded %q", p.EmbeddedIDs)
	}

	// qmail: no DSN, no X-Failed-Recipients.
	p = mustParse(t, "From: MAILER-DAEMON@mx.example\nTo: integrasjon@uio.no\nSubject: failure notice\n\n"+
		"Hi. This is the qmail-send program at mx.example.\nI'm afraid I wasn't able to deliver your message to the following addresses.\n"+
		"This is a permanent error; I've given up. Sorry it didn't work out.\n\n"+
		"<nobody@example.net>:\n192.0.2.1 does not like recipient.\nRemote host said: 550 5.1.1 no mailbox here\n\n"+
		"--- Below this line is a copy of the message.\n\nMessage-Id: <abc@Integrasjon.example.org>\nTo: nobody@example.net\n")
	if !equalStrings(p.BounceRecipients, "nobody@example.net") || !p.BouncePermanent || !equalStrings(p.EmbeddedIDs, "abc@integrasjon.example.org") {
		t.Errorf("qmail: recipients %q permanent %v embedded %q", p.BounceRecipients, p.BouncePermanent, p.EmbeddedIDs)
	}
}
