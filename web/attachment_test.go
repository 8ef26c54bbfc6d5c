package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

const attachedRaw = "From: ola@example.org\r\nTo: integrasjon@uio.no\r\nSubject: Vedlegg\r\nMessage-ID: <att@example.org>\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n" +
	"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSe vedlegg.\r\n" +
	"--B\r\nContent-Type: text/html; name=\"faktura.html\"\r\nContent-Disposition: attachment; filename*=UTF-8''r%C3%A6kke%20%22mars%22.html\r\n\r\n<script>alert(1)</script>\r\n" +
	"--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"plan.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n" +
	"--B--\r\n"

func TestAttachmentDownload(t *testing.T) {
	st := openStore(t)
	c := &clock{t: t0}
	var id kp.CaseID
	err := st.Update(func(tx *store.Tx) error {
		var err error
		if id, err = tx.NextCaseID(); err != nil {
			return err
		}
		if err := tx.PutCase(&kp.Case{ID: id, Subject: "Vedlegg", Status: kp.StatusOpen, Priority: kp.PriorityNormal, Messages: 1}); err != nil {
			return err
		}
		return tx.PutMessage(&kp.Message{ID: "att@example.org", Case: id, Direction: kp.In, Kind: "request", Subject: "Vedlegg",
			Attachments: []kp.Attachment{{Name: `række "mars".html`, ContentType: "text/html", Size: 26}, {Name: "plan.pdf", ContentType: "application/pdf", Size: 9}}},
			[]byte(attachedRaw))
	})
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, st, c, nil)
	_, page, _ := get(t, h, "/case/1")
	mustContain(t, page, `href="/case/1/attachment?m=1&amp;a=1"`)

	code, body, hdr := get(t, h, "/case/1/attachment?m=1&a=1")
	if code != 200 || body != "%PDF-1.4\n" {
		t.Fatalf("pdf: %d %q", code, body)
	}
	if got := hdr.Get("Content-Type"); got != "application/pdf" {
		t.Errorf("pdf type %q", got)
	}
	if got := hdr.Get("Content-Disposition"); got != `attachment; filename="plan.pdf"; filename*=UTF-8''plan.pdf` {
		t.Errorf("pdf disposition %q", got)
	}
	for _, p := range []string{"/case/1/attachment?m=1&a=2", "/case/1/attachment?m=2&a=0", "/case/9/attachment?m=1&a=0", "/case/1/attachment?m=x"} {
		if code, _, _ := get(t, h, p); code != 404 {
			t.Errorf("%s: %d", p, code)
		}
	}
}

func TestAttachmentHTMLIsNeverInline(t *testing.T) {
	st := openStore(t)
	c := &clock{t: t0}
	err := st.Update(func(tx *store.Tx) error {
		id, _ := tx.NextCaseID()
		if err := tx.PutCase(&kp.Case{ID: id, Subject: "Vedlegg", Status: kp.StatusOpen, Priority: kp.PriorityNormal, Messages: 1}); err != nil {
			return err
		}
		return tx.PutMessage(&kp.Message{ID: "att@example.org", Case: id, Direction: kp.In, Kind: "request",
			Attachments: []kp.Attachment{{Name: "række \"mars\".html", ContentType: "text/html"}}}, []byte(attachedRaw))
	})
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, st, c, nil)
	code, body, hdr := get(t, h, "/case/1/attachment?m=1&a=0")
	if code != 200 || !strings.Contains(body, "<script>") {
		t.Fatalf("html attachment: %d %q", code, body)
	}
	if got := hdr.Get("Content-Type"); got != "application/octet-stream" {
		t.Errorf("html served as %q", got)
	}
	cd := hdr.Get("Content-Disposition")
	if !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, `filename*=UTF-8''r%C3%A6kke%20%22mars%22.html`) || !strings.Contains(cd, `filename="r_kke _mars_.html"`) {
		t.Errorf("disposition %q", cd)
	}
	if hdr.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(hdr.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("headers %v", hdr)
	}
	// With authentication configured, only for authenticated users.
	ha := newHandler(t, st, c, func(o *Options) { o.AuthFile = writeAuthFile(t, "kari", "pw") })
	r := httptest.NewRequest(http.MethodGet, "/case/1/attachment?m=1&a=0", nil)
	w := httptest.NewRecorder()
	ha.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized || strings.Contains(w.Body.String(), "<script>") {
		t.Fatalf("unauthenticated download: %d", w.Code)
	}
}
