package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/export"
	"kontaktpunkt/store"
)

// newExportDir makes OUT, which must not exist or be empty.
func newExportDir(out string) error {
	if ents, err := os.ReadDir(out); err == nil && len(ents) > 0 {
		return usageErr("%s is not empty; give a new folder", out)
	}
	return os.MkdirAll(out, 0o700)
}

// dirPut writes an export's files into the folder out.
func dirPut(out string) export.Put {
	return func(name string, data []byte) error {
		path := filepath.Join(out, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		return os.WriteFile(path, data, 0o600)
	}
}

func (e *env) exportOptions() export.Options {
	return export.Options{TagPrefix: e.cfg.Contact.TagPrefix, ContactPoint: e.cfg.Contact.Address, Now: time.Now()}
}

// exportCase writes case id into the folder out and records the export.
func exportCase(e *env, id kp.CaseID, out string, stdout io.Writer) error {
	if err := newExportDir(out); err != nil {
		return err
	}
	var ce *export.Case
	err := e.st.View(func(tx *store.Tx) error {
		var err error
		ce, err = export.WriteCase(tx, id, e.exportOptions(), dirPut(out))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return usageErr("no case %d", id)
	}
	if err != nil {
		return err
	}
	if err := e.st.Update(func(tx *store.Tx) error {
		return tx.AddAudit(&store.AuditEntry{At: time.Now(), Actor: "operator " + operatorAddr(), Channel: "cli", Action: "export", Case: id,
			Detail: fmt.Sprintf("case exported, %d messages", len(ce.Messages))})
	}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "case %d exported to %s: %d messages (messages/*.eml), case.json, timeline.html\n", id, out, len(ce.Messages))
	return nil
}

// exportPerson writes every case and message that involve addr into out.
func exportPerson(e *env, addr, out string, stdout io.Writer) error {
	a := kp.NormAddr(addr)
	if !strings.Contains(a, "@") {
		return usageErr("%q is not an address", addr)
	}
	if err := newExportDir(out); err != nil {
		return err
	}
	var pe *export.Person
	err := e.st.View(func(tx *store.Tx) error {
		var err error
		pe, err = export.WritePerson(tx, a, e.exportOptions(), dirPut(out))
		return err
	})
	if err != nil {
		return err
	}
	if err := e.st.Update(func(tx *store.Tx) error {
		return tx.AddAudit(&store.AuditEntry{At: time.Now(), Actor: "operator " + operatorAddr(), Channel: "cli", Action: "export-person",
			Detail: fmt.Sprintf("%s: %d cases, %d messages", a, len(pe.Cases), len(pe.Messages))})
	}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d cases and %d messages exported to %s (messages/*.eml, summary.json, summary.html)\n", a, len(pe.Cases), len(pe.Messages), out)
	return nil
}

// absLastPositional makes the last positional argument (an output
// folder) an absolute path.
func absLastPositional(args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	last := -1
	for i := 0; i < len(out); i++ {
		if strings.HasPrefix(out[i], "-") {
			if !strings.Contains(out[i], "=") && out[i] != "-json" && out[i] != "--json" && out[i] != "-dry-run" && out[i] != "--dry-run" {
				i++
			}
			continue
		}
		last = i
	}
	if last >= 0 {
		if abs, err := filepath.Abs(out[last]); err == nil {
			out[last] = abs
		}
	}
	return out
}
