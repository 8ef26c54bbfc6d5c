package config

// AckForwarded reports whether the original sender of a mail staff
// forwarded as a new case is acknowledged (contact.ack_forwarded, default
// true).
func (c *Config) AckForwarded() bool {
	return c.Contact.AckForwarded == nil || *c.Contact.AckForwarded
}

// ReplyTokenInFrom reports whether mail to requesters and counterparts is
// sent From the signed reply address (contact.reply_token.in_from; only
// with reply tokens enabled).
func (c *Config) ReplyTokenInFrom() bool {
	return c.Contact.ReplyToken.Enabled && c.Contact.ReplyToken.InFrom
}
