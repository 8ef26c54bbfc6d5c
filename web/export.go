package web

import (
	"archive/zip"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/export"
	"kontaktpunkt/store"
)

// exportFile is one file of a case export, read before the response
// starts so that no transaction stays open while a client downloads.
type exportFile struct {
	name string
	data []byte
}

// mayExport reports whether r may download a case export: an
// authenticated user when authentication is configured (protect ran),
// otherwise a request from this machine, as for actions. A request
// another site started is refused, so that no page elsewhere can add
// exports to the audit trail.
func (s *server) mayExport(r *http.Request) bool {
	return !crossSite(r) && s.trusted(r)
}

// caseExport serves GET /case/{id}/export: the case export of
// `kontaktpunkt case export` (every message as .eml, case.json,
// timeline.html) as a zip file, in a folder named after the case. The
// export is recorded in the audit trail (channel web) before any byte
// is sent; a store that cannot record it gets no export.
func (d *dashboard) caseExport(w http.ResponseWriter, r *http.Request) {
	if !d.s.mayExport(r) {
		http.Error(w, "not allowed to export", http.StatusForbidden)
		return
	}
	n, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || n == 0 {
		http.Error(w, "no such case", http.StatusNotFound)
		return
	}
	id := kp.CaseID(n)
	folder := fmt.Sprintf("%s-%d", d.s.o.TagPrefix, id)
	var files []exportFile
	var ce *export.Case
	o := export.Options{TagPrefix: d.s.o.TagPrefix, ContactPoint: d.s.o.ContactAddress, Now: d.s.now()}
	err = d.s.o.Store.View(func(tx *store.Tx) error {
		var err error
		ce, err = export.WriteCase(tx, id, o, func(name string, data []byte) error {
			files = append(files, exportFile{folder + "/" + name, data})
			return nil
		})
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "no such case", http.StatusNotFound)
		return
	}
	if err == nil {
		actor := d.s.actor(r)
		err = d.s.o.Store.Update(func(tx *store.Tx) error {
			return tx.AddAudit(&store.AuditEntry{At: d.s.now(), Actor: actor.Addr, Channel: "web", Action: "export", Case: id,
				Detail: fmt.Sprintf("case exported from the dashboard, %d messages", len(ce.Messages))})
		})
	}
	if err != nil {
		d.s.log.Error("case export", "case", id, "err", err)
		http.Error(w, "the store cannot be read", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", contentDisposition(folder+".zip"))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	zw := zip.NewWriter(w)
	for _, f := range files {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: o.Now.In(time.UTC)})
		if err == nil {
			_, err = fw.Write(f.data)
		}
		if err != nil {
			d.s.log.Warn("case export: sending", "case", id, "err", err)
			return
		}
	}
	if err := zw.Close(); err != nil {
		d.s.log.Warn("case export: sending", "case", id, "err", err)
	}
}
