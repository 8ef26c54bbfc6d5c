package report_test

import (
	"testing"

	kp "kontaktpunkt"
	"kontaktpunkt/report"
	"kontaktpunkt/store"
)

// TestStoreKeepsFactsOfCountedMessages: every message of a case that
// Counts accepts has a fact in the store (store.KeepsFact), so a report
// read from the facts sees every message it counts.
func TestStoreKeepsFactsOfCountedMessages(t *testing.T) {
	kinds := append([]string{kp.KindStatus, kp.KindEscalation, "relay", "reply", "request", "ack", "notify", "note", "receipt",
		"quarantined", "unfiled", "weekly", ""}, report.FollowUpKinds...)
	counted := 0
	for _, dir := range []kp.Direction{kp.In, kp.Out, ""} {
		for _, kind := range kinds {
			m := &kp.Message{Case: 7, Direction: dir, Kind: kind}
			if report.Counts(m) {
				counted++
				if !store.KeepsFact(m) {
					t.Errorf("%s %q: counted by the report, but the store keeps no fact of it", dir, kind)
				}
			}
		}
	}
	if counted < 4+len(report.FollowUpKinds) {
		t.Errorf("only %d kinds counted", counted)
	}
}
