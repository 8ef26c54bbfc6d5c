package gateway

import (
	"strings"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/store"
)

// Audit channels: how a staff action reached the gateway.
const (
	ChannelMail     = "mail"     // a subject command in mail
	ChannelCLI      = "cli"      // an operator command (Operate)
	ChannelWeb      = "web"      // a dashboard action (WebActions)
	ChannelSchedule = "schedule" // serve's own schedule (retention)
)

// recordAudit records the commands that applied to case c, by actor on
// channel, in the audit trail (refused ones change nothing and are not
// recorded). The detail names the commands and their outcome, never the
// text of the mail.
func (g *Gateway) recordAudit(tx *store.Tx, now time.Time, actor, channel string, c kp.CaseID, fx commandEffects) error {
	for _, a := range fx.applied {
		verb := a
		if i := strings.IndexByte(verb, ']'); strings.HasPrefix(verb, "[") && i > 0 {
			verb = verb[1:i]
			if j := strings.IndexByte(verb, ':'); j >= 0 {
				verb = verb[:j]
			}
		}
		if err := tx.AddAudit(&store.AuditEntry{At: now, Actor: kp.NormAddr(actor), Channel: channel, Action: strings.ToLower(verb), Case: c, Detail: a}); err != nil {
			return err
		}
	}
	return nil
}
