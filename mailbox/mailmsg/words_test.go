package mailmsg

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseRawEightBitHeaders(t *testing.T) {
	// UTF-8 is taken as is; other bytes are windows-1252 unless the body
	// names a charset.
	p := mustParse(t, "From: \"Bjørn\" <b@x.example>\nSubject: Blåbær\n\nx\n")
	if p.Subject != "Blåbær" || p.From.Name != "Bjørn" {
		t.Errorf("utf-8: subject %q from %q", p.Subject, p.From.Name)
	}
	p = mustParse(t, "From: \"Bj\xf8rn\" <b@x.example>\nSubject: Bl\xe5b\xe6r \x80\n\nx\n")
	if p.Subject != "Blåbær €" || p.From.Name != "Bjørn" || !hasDefect(p, "raw 8-bit header") {
		t.Errorf("latin: subject %q from %q defects %q", p.Subject, p.From.Name, p.Defects)
	}
	p = mustParse(t, "From: a@x.example\nSubject: \xf0\xd2\xc9\xd7\xc5\xd4\nContent-Type: text/plain; charset=koi8-r\n\nx\n")
	if p.Subject != "Привет" {
		t.Errorf("koi8-r: subject %q", p.Subject)
	}
}

func TestParseEncodedWords(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=?utf-8?Q?Sp=C3=B8rsm=C3=A5l?=", "Spørsmål"},
		{"=?UTF-8?B?U3DDuHJzbcOlbA==?=", "Spørsmål"},
		{"=?iso-8859-1?q?bl=E5b=E6r?= =?iso-8859-1?q?_og_r=F8d?=", "blåbær og rød"},
		// A character split across two words survives.
		{"=?utf-8?B?w7g=?= =?utf-8?B?w6U=?=", "øå"},
		{"=?utf-8?Q?=C3?= =?utf-8?Q?=B8?=", "ø"},
		{"Re: =?utf-8?Q?f=C3=B8r?= og etter", "Re: før og etter"},
		{"glued=?utf-8?Q?=C3=A6?=text", "gluedætext"},
		{"=?windows-1252?Q?=80_pris?=", "€ pris"},
		{"=?utf-8*nb?Q?hei?=", "hei"},
		{"=?utf-8?X?bad?=", "=?utf-8?X?bad?="},
		{"not =? an encoded word", "not =? an encoded word"},
		{"=?utf-8?B?bad*base64!?=", "m\xa7Z\xc0"},
	}
	for _, tt := range tests {
		p := mustParse(t, "From: a@b.example\nSubject: "+tt.in+"\n\nx\n")
		want := tt.want
		if !utf8.ValidString(want) {
			want = strings.ToValidUTF8(want, "\uFFFD")
		}
		if tt.in == "=?utf-8?B?bad*base64!?=" {
			// Decodes what decodes; only check it did not panic and kept text.
			if p.Subject == "" {
				t.Errorf("bad base64 word lost entirely")
			}
			continue
		}
		if p.Subject != want {
			t.Errorf("subject %q: got %q, want %q", tt.in, p.Subject, want)
		}
	}
}
