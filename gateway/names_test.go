package gateway

import (
	"bytes"
	"io"
	"mime"
	"net/mail"
	"strings"
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
)

// TestDisplayNamesCannotBreakLines: a display name that decodes to CR LF,
// LF, NEL or U+2028 (possible in any RFC 2047 encoded word) starts no line
// of its own in any outbound header or body, and never adds a header.
func TestDisplayNamesCannotBreakLines(t *testing.T) {
	for _, tt := range []struct{ name, encoded string }{
		{"CR LF and a header", "=?utf-8?q?Ola=0D=0ABcc:_x=40evil.example?="},
		{"LF and a fake line", "=?utf-8?q?Ola=0AFake_line?="},
		{"NEL and line separator", "=?utf-8?q?Ola=C2=85Fake_line=E2=80=A8Fake_line?="},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			caseNo(t, h.one(msg([]string{
				"From: " + tt.encoded + " <" + ola + ">",
				"To: " + contact,
				"Cc: " + tt.encoded + " <per@example.org>",
				"Subject: Tilgang",
				"Message-ID: <hostile-name@example.org>",
			}, "Hei,\n\nhjelp.\n")))
			out := h.outbox()
			if len(out) < 2 {
				t.Fatalf("%d mails queued, want an acknowledgement and a notification", len(out))
			}
			for _, o := range out {
				checkNoInjectedLines(t, o.Kind, o.Raw)
			}
			if ack := h.mailsTo(ola, "ack"); len(ack) != 1 || !strings.Contains(parseText(t, ack[0].Raw), "Hei Ola ") {
				t.Errorf("the acknowledgement does not greet by the cleaned name")
			}
		})
	}
}

func parseText(t *testing.T, raw []byte) string {
	t.Helper()
	p, err := mailmsg.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return p.Text
}

// checkNoInjectedLines fails when raw has a Bcc header, or a decoded header
// value or body line that a display name broke.
func checkNoInjectedLines(t *testing.T, kind string, raw []byte) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	if _, ok := m.Header["Bcc"]; ok {
		t.Errorf("%s: a Bcc header was injected", kind)
	}
	dec := &mime.WordDecoder{CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil }}
	for k, vs := range m.Header {
		for _, v := range vs {
			d, err := dec.DecodeHeader(v)
			if err != nil {
				d = v
			}
			if strings.ContainsAny(d, "\r\n\u0085\u2028\u2029") {
				t.Errorf("%s: header %s decodes to several lines: %q", kind, k, d)
			}
		}
	}
	for _, line := range strings.Split(parseText(t, raw), "\n") {
		if strings.HasPrefix(line, "Fake line") || strings.HasPrefix(line, "Bcc:") || strings.ContainsAny(line, "\r\u0085\u2028\u2029") {
			t.Errorf("%s: body line %q comes from a display name", kind, line)
		}
	}
}

// TestCaseDataCleansStoredNames: names stored before parsing cleaned them
// reach no template with a line break.
func TestCaseDataCleansStoredNames(t *testing.T) {
	h := newHarness(t, nil)
	c := &kp.Case{ID: 1, Requester: kp.Address{Name: "Ola\r\nBcc: x", Addr: ola}}
	d := h.g.caseData(c, &kp.Message{From: kp.Address{Name: "Per\nFake line", Addr: "per@example.org"}})
	if d.Requester.Name != "Ola Bcc: x" || d.Author != "Per Fake line <per@example.org>" {
		t.Errorf("requester %q, author %q", d.Requester.Name, d.Author)
	}
}
