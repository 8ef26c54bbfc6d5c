// Package mailmsg reads and writes mail messages. It does no network I/O,
// and go-message types never leave it.
//
// Parse turns raw RFC 5322 and MIME mail into a kp.Parsed; parse.go states
// its invariants and how it repairs broken mail. Its work is spread by
// concern: header fields and the Date (header.go), encoded words
// (words.go), charsets (charset.go), media types and their parameters
// (mediatype.go), the walk over the body (body.go, multipart.go), the text
// (text.go, html.go), addresses (addr.go), Message-IDs (msgid.go),
// attachments (attachments.go), bounces and delivery reports (bounce.go,
// dsn.go), and the defects it records (defects.go).
//
// Compose writes outgoing mail (compose.go); WireAddr checks an address
// for a header or an SMTP envelope (addr.go). Attachments reads a raw
// message's attachments again (to relay them or show one), AttachedSender
// the sender of a message forwarded as an attachment (forwarded.go), and
// HeaderPart and ReadPast keep only the header of a message over the size
// limit (oversize.go).
package mailmsg
