package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

const quotedReply = `From: Ola Nordmann <ola@example.org>
To: integrasjon@example.org
Subject: SV: [INT#1] Sporsmal
Message-ID: <r2q@example.org>
In-Reply-To: <r1@example.org>
Date: Mon, 23 Nov 2026 10:00:00 +0100

Takk, det hjalp.

On Mon, 23 Nov 2026 at 09:30, Integrasjon <integrasjon@example.org> wrote:
> Har du provd a logge inn pa nytt?
>
> Vennlig hilsen
> Integrasjon
`

func TestCaseShowFoldsQuotedHistory(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kp.db")
	mail := filepath.Join(dir, "mail")
	writeFile(t, mail, "1.eml", request1)
	writeFile(t, mail, "2.eml", quotedReply)
	if _, errOut, code := run(t, "", "ingest", mail, "-db", db, "-quiet"); code != 0 {
		t.Fatalf("ingest exit %d: %s", code, errOut)
	}

	out, errOut, code := run(t, "", "case", "show", "1", "-db", db)
	if code != 0 {
		t.Fatalf("case show exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "  | Takk, det hjalp.\n  | [… 5 quoted lines]\n") || strings.Contains(out, "logge inn") {
		t.Fatalf("case show does not fold the quote:\n%s", out)
	}
	if !strings.Contains(out, "lurer på noe") {
		t.Fatalf("case show lost the request:\n%s", out)
	}

	out, errOut, code = run(t, "", "case", "show", "1", "-json", "-db", db)
	if code != 0 {
		t.Fatalf("case show -json exit %d: %s", code, errOut)
	}
	var c struct {
		Messages []struct {
			Text        string  `json:"text"`
			OwnText     *string `json:"own_text"`
			QuotedLines int     `json:"quoted_lines"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("case show -json: %v\n%s", err, out)
	}
	if len(c.Messages) != 2 {
		t.Fatalf("messages = %d", len(c.Messages))
	}
	if c.Messages[0].OwnText != nil {
		t.Errorf("the request has own_text %q; it counts whole", *c.Messages[0].OwnText)
	}
	r := c.Messages[1]
	if !strings.Contains(r.Text, "> Har du provd") || r.OwnText == nil || *r.OwnText != "Takk, det hjalp." || r.QuotedLines != 5 {
		t.Errorf("reply = text %q own %v quoted %d", r.Text, r.OwnText, r.QuotedLines)
	}
}
