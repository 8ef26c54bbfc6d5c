package gateway

import (
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// TestWebActionsAreAuditedAsWeb: a command from the dashboard is recorded
// in the audit trail with the web channel, one from the command line with
// the cli channel.
func TestWebActionsAreAuditedAsWeb(t *testing.T) {
	h := newHarness(t, nil)
	id := caseNo(t, h.one(request("req1@example.org")))
	if _, err := (WebActions{h.g}).Operate(id, kp.Address{Addr: kari}, "[prio:high]", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.g.Operate(id, kp.Address{Addr: "root@server"}, "[prio:low]", ""); err != nil {
		t.Fatal(err)
	}
	var channels []string
	if err := h.st.View(func(tx *store.Tx) error {
		entries, err := tx.Audit(id)
		for _, e := range entries {
			channels = append(channels, e.Channel)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(channels) != 2 || channels[0] != ChannelWeb || channels[1] != ChannelCLI {
		t.Fatalf("audit channels = %v, want [web cli]", channels)
	}
}
