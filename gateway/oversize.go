package gateway

import (
	"fmt"

	kp "kontaktpunkt"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/routing"
)

// parseOversize makes the stub of a message over the size limit: only its
// header is kept and parsed, so its record names the Message-ID, sender
// and subject and it is classified as usual, and it is quarantined with
// its size as the reason. The record's Size is the whole message's.
func parseOversize(it Item, limit int64, o routing.ClassifyOptions) (pi parsedItem) {
	size := max(it.Oversize, int64(len(it.Raw)))
	it.Raw = mailmsg.HeaderPart(it.Raw)
	it.Oversize = size
	pi.Item = it
	pi.parseErr = fmt.Errorf("message too large: %d bytes, limit %d", size, limit)
	defer func() {
		if r := recover(); r != nil {
			pi.parsed = &kp.Parsed{MessageID: mailmsg.SyntheticID(it.Raw), SyntheticID: true, Size: size}
			pi.class = kp.ClassHuman
		}
	}()
	if pi.parsed, _ = mailmsg.Parse(it.Raw); pi.parsed == nil {
		pi.parsed = &kp.Parsed{MessageID: mailmsg.SyntheticID(it.Raw), SyntheticID: true}
	}
	pi.parsed.Size = size
	pi.class = routing.ClassifyWith(pi.parsed, o)
	return pi
}
