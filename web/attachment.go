package web

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/store"
)

// safeTypes are the content types an attachment is served with as
// declared; anything else, HTML, SVG and XML above all, goes out as
// application/octet-stream. Either way it is a download, never shown
// inline: Content-Disposition says attachment and nosniff holds.
var safeTypes = map[string]bool{
	"application/pdf": true, "image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
	"text/plain": true, "text/csv": true, "application/zip": true, "application/msword": true,
	"application/vnd.ms-excel": true, "application/vnd.ms-powerpoint": true,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   true,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         true,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": true,
	"application/vnd.oasis.opendocument.text":                                   true,
	"application/vnd.oasis.opendocument.spreadsheet":                            true,
	"message/rfc822": true,
}

// downloadType returns the Content-Type an attachment is served with.
func downloadType(declared string) string {
	mt, _, err := mime.ParseMediaType(declared)
	if err != nil || !safeTypes[strings.ToLower(mt)] {
		return "application/octet-stream"
	}
	if strings.HasPrefix(mt, "text/") {
		return mt + "; charset=utf-8"
	}
	return mt
}

// contentDisposition returns "attachment" with the file name as an
// ASCII fallback and as RFC 6266 / RFC 8187 filename*.
func contentDisposition(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '/' || r == '\\' {
			return '_'
		}
		return r
	}, name)
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "_")
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = "attachment"
	}
	var ascii strings.Builder
	for _, r := range name {
		switch {
		case r < 0x20 || r >= 0x7f || r == '"' || r == '%' || r == ';':
			ascii.WriteByte('_')
		default:
			ascii.WriteRune(r)
		}
	}
	return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + strings.ReplaceAll(url.PathEscape(name), "+", "%2B")
}

// attachment serves GET /case/{id}/attachment?m=N&a=I: attachment I
// (from 0) of the case's message N (from 1, as the timeline numbers
// them), decoded from the stored raw message, as a download.
func (d *dashboard) attachment(w http.ResponseWriter, r *http.Request) {
	id, err1 := strconv.ParseUint(r.PathValue("id"), 10, 64)
	n, err2 := strconv.Atoi(r.URL.Query().Get("m"))
	a, err3 := strconv.Atoi(r.URL.Query().Get("a"))
	if err1 != nil || err2 != nil || err3 != nil || id == 0 || n < 1 || a < 0 {
		http.Error(w, "no such attachment", http.StatusNotFound)
		return
	}
	var (
		m   kp.Message
		raw []byte
	)
	err := d.s.o.Store.View(func(tx *store.Tx) error {
		msgs, err := tx.CaseMessages(kp.CaseID(id))
		if err != nil {
			return err
		}
		if n > len(msgs) {
			return store.ErrNotFound
		}
		m = msgs[n-1]
		raw, err = tx.Raw(m.ID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) || (err == nil && a >= len(m.Attachments)) {
		http.Error(w, "no such attachment", http.StatusNotFound)
		return
	}
	if err != nil {
		d.s.log.Error("attachment", "case", id, "err", err)
		http.Error(w, "the store cannot be read", http.StatusInternalServerError)
		return
	}
	want := m.Attachments[a]
	list, _ := mailmsg.Attachments(raw, 1<<40)
	var found *mailmsg.Attached
	if a < len(list) && list[a].Name == want.Name {
		found = &list[a]
	} else {
		for i := range list {
			if list[i].Name == want.Name {
				found = &list[i]
				break
			}
		}
	}
	if found == nil {
		http.Error(w, "the attachment could not be read from the stored message", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", downloadType(want.ContentType))
	h.Set("Content-Disposition", contentDisposition(want.Name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Length", strconv.Itoa(len(found.Data)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(found.Data)
}
