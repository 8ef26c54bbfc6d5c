// Package mailmsg reads and writes mail messages: Parse turns raw RFC 5322
// and MIME mail into a kp.Parsed (the parse*.go files state the parser's
// invariants), Compose writes outgoing mail, and the rest serves both:
// addresses (addr.go), Message-ID lists (msgid.go), attachments, the sender
// of an attached message, bounce details, and the header part kept of a
// message over the size limit (oversize.go).
//
// It does no network I/O. go-message types never leave this package.
package mailmsg
