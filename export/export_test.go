package export

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

func TestWriteCaseHandsOutEveryFile(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "kp.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	raw := "From: ola@example.org\r\nSubject: Hei\r\nMessage-ID: <a@example.org>\r\n\r\nHei\r\n"
	if err := st.Update(func(tx *store.Tx) error {
		id, err := tx.NextCaseID()
		if err != nil {
			return err
		}
		if err := tx.PutCase(&kp.Case{ID: id, Subject: "Hei", Status: kp.StatusOpen, Priority: kp.PriorityNormal, Created: at, Updated: at, Messages: 2}); err != nil {
			return err
		}
		if err := tx.PutMessage(&kp.Message{ID: "a@example.org", Case: id, Direction: kp.In, Kind: "request", Subject: "Hei", Text: "Hei", Received: at}, []byte(raw)); err != nil {
			return err
		}
		return tx.PutMessage(&kp.Message{ID: "b@uio.no", Case: id, Direction: kp.Out, Kind: "ack", Subject: "Mottatt: Hei", Text: "Vi har fått saken.", Received: at}, nil)
	}); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	var order []string
	put := func(name string, data []byte) error {
		files[name] = string(data)
		order = append(order, name)
		return nil
	}
	var ce *Case
	if err := st.View(func(tx *store.Tx) error {
		ce, err = WriteCase(tx, 1, Options{TagPrefix: "INT", ContactPoint: "integrasjon@uio.no", Now: at}, put)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"messages/001-in.eml", "messages/002-out.eml", "case.json", "timeline.html"}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Errorf("files %v, want %v", order, want)
	}
	if files["messages/001-in.eml"] != raw {
		t.Errorf("received mail not as received: %q", files["messages/001-in.eml"])
	}
	if !strings.Contains(files["messages/002-out.eml"], "X-Kontaktpunkt-Rebuilt: yes") || !ce.Messages[1].Rebuilt {
		t.Errorf("our own mail is not marked rebuilt: %q", files["messages/002-out.eml"])
	}
	var back Case
	if err := json.Unmarshal([]byte(files["case.json"]), &back); err != nil || back.Case != 1 || back.ContactPoint != "integrasjon@uio.no" || len(back.Messages) != 2 {
		t.Errorf("case.json %+v %v", back, err)
	}
	if strings.Contains(files["timeline.html"], "<script") || !strings.Contains(files["timeline.html"], "Vi har fått saken.") {
		t.Errorf("timeline.html: %s", files["timeline.html"])
	}
	if err := st.View(func(tx *store.Tx) error {
		_, err := WriteCase(tx, 9, Options{}, put)
		return err
	}); err == nil {
		t.Error("export of a case that does not exist")
	}
}
