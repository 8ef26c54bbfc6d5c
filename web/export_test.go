package web

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// exportGet fetches path from srv, with basic auth when user is set.
func exportGet(t *testing.T, srv *httptest.Server, path, user, password string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestCaseExportDownload(t *testing.T) {
	st := openStore(t)
	c := &clock{t: t0}
	var id kp.CaseID
	err := st.Update(func(tx *store.Tx) error {
		var err error
		if id, err = tx.NextCaseID(); err != nil {
			return err
		}
		if err := tx.PutCase(&kp.Case{ID: id, Subject: "Vedlegg", Status: kp.StatusOpen, Priority: kp.PriorityNormal, Messages: 2,
			Requester: kp.Address{Name: "Ola", Addr: "ola@example.org"}}); err != nil {
			return err
		}
		if err := tx.PutMessage(&kp.Message{ID: "att@example.org", Case: id, Direction: kp.In, Kind: "request", Subject: "Vedlegg",
			From: kp.Address{Addr: "ola@example.org"}, Text: "Se vedlegg."}, []byte(attachedRaw)); err != nil {
			return err
		}
		// Our own reply: no raw bytes kept, rebuilt from the record.
		return tx.PutMessage(&kp.Message{ID: "reply@uio.no", Case: id, Direction: kp.Out, Kind: "relay", Subject: "Re: Vedlegg",
			From: kp.Address{Addr: "integrasjon@uio.no"}, To: []kp.Address{{Addr: "ola@example.org"}}, Text: "Takk, vi ser på det.", Received: t0}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, st, c, func(o *Options) {
		o.AuthFile = writeAuthFile(t, "kari", "hemmelig")
		o.ContactAddress = "integrasjon@uio.no"
	})
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, page := exportGet(t, srv, "/case/1", "kari", "hemmelig")
	if resp.StatusCode != 200 {
		t.Fatalf("case page: %d", resp.StatusCode)
	}
	mustContain(t, string(page), `action="/case/1/export"`)

	for _, tc := range []struct {
		name, user, password string
		hdr                  []string
		want                 int
	}{
		{"no credentials", "", "", nil, http.StatusUnauthorized},
		{"wrong password", "kari", "feil", nil, http.StatusUnauthorized},
		{"started by another site", "kari", "hemmelig", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
	} {
		resp, body := exportGet(t, srv, "/case/1/export", tc.user, tc.password, tc.hdr...)
		if resp.StatusCode != tc.want || bytes.HasPrefix(body, []byte("PK")) {
			t.Errorf("%s: %d, want %d without a zip", tc.name, resp.StatusCode, tc.want)
		}
	}
	if resp, _ := exportGet(t, srv, "/case/9/export", "kari", "hemmelig"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("export of a case that does not exist: %d", resp.StatusCode)
	}
	var audit []store.AuditEntry
	view := func() {
		if err := st.View(func(tx *store.Tx) error {
			var err error
			audit, err = tx.Audit(id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	view()
	if len(audit) != 0 {
		t.Fatalf("refused exports were audited: %+v", audit)
	}

	resp, body := exportGet(t, srv, "/case/1/export", "kari", "hemmelig", "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != 200 {
		t.Fatalf("export: %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/zip" {
		t.Errorf("type %q", got)
	}
	if got := resp.Header.Get("Content-Disposition"); got != `attachment; filename="INT-1.zip"; filename*=UTF-8''INT-1.zip` {
		t.Errorf("disposition %q", got)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) != 4 {
		t.Errorf("files %v", keys(files))
	}
	if string(files["INT-1/messages/001-in.eml"]) != attachedRaw {
		t.Errorf("the received message is not as received: %q", files["INT-1/messages/001-in.eml"])
	}
	if out := string(files["INT-1/messages/002-out.eml"]); !strings.Contains(out, "X-Kontaktpunkt-Rebuilt") || !strings.Contains(out, "Takk, vi ser på det.") {
		t.Errorf("our reply: %q", out)
	}
	mustContain(t, string(files["INT-1/timeline.html"]), "Vedlegg", "Takk, vi ser på det.")
	var meta struct {
		Case     kp.CaseID `json:"case"`
		Contact  string    `json:"contact_point"`
		Messages []struct {
			File string `json:"file"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(files["INT-1/case.json"], &meta); err != nil || meta.Case != 1 || meta.Contact != "integrasjon@uio.no" ||
		len(meta.Messages) != 2 || meta.Messages[0].File != "messages/001-in.eml" {
		t.Errorf("case.json: %+v %v", meta, err)
	}
	view()
	if len(audit) != 1 || audit[0].Action != "export" || audit[0].Channel != "web" || audit[0].Actor != "kari@web" || !audit[0].At.Equal(t0) {
		t.Errorf("audit after the export: %+v", audit)
	}
}

func TestCaseExportWithoutAuthOnlyFromThisMachine(t *testing.T) {
	st := openStore(t)
	addCase(t, st, kp.Case{Subject: "Lokal"}, kp.Message{Direction: kp.In, Kind: "request", Subject: "Lokal", Text: "Hei"})
	h := newHandler(t, st, &clock{t: t0}, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	if resp, body := exportGet(t, srv, "/case/1/export", "", ""); resp.StatusCode != 200 || !bytes.HasPrefix(body, []byte("PK")) {
		t.Errorf("export from this machine without auth configured: %d", resp.StatusCode)
	}
	r := httptest.NewRequest(http.MethodGet, "/case/1/export", nil)
	r.RemoteAddr = "192.0.2.7:4000"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Errorf("export from another machine without auth configured: %d", w.Code)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
