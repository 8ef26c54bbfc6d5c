package routing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"strings"

	kp "kontaktpunkt"
)

// Reply tokens (docs/behaviour.md, Threading, rule 2) put a case number, signed, into the
// local part of the Reply-To address: integrasjon+<token>@uio.no. A reply
// reaches the case whatever the client did to the subject and the
// References.
//
// Layout: lower-case unpadded base32 of uvarint(case) || HMAC-SHA256(secret,
// tokenDomain || uvarint(case))[:tokenMACLen]. With 80 bits of MAC a forger
// needs about 2^79 guesses per case; case 42 gives an 18-character token.
// Lower-case because local parts are often case-folded on the way; checking
// folds the token to lower case first and accepts only the canonical
// encoding, so every case has exactly one valid token per secret.
const (
	tokenMACLen = 10 // bytes: 80 bits, above the 64 the design asks for
	tokenDomain = "kontaktpunkt reply-token v1\x00"
	// maxTokenLen bounds the input CheckReplyToken looks at: a 10-byte
	// uvarint plus the MAC is 20 bytes, 32 base32 characters.
	maxTokenLen = 32
)

var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func tokenMAC(secret, idBytes []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(tokenDomain))
	m.Write(idBytes)
	return m.Sum(nil)[:tokenMACLen]
}

// ReplyToken returns the reply token of case id: short, lower-case letters
// and digits 2–7 only, safe in a local part. It returns "" when secret is
// empty (tokens disabled) or id is 0.
func ReplyToken(secret []byte, id kp.CaseID) string {
	if len(secret) == 0 || id == 0 {
		return ""
	}
	idBytes := binary.AppendUvarint(nil, uint64(id))
	return tokenEncoding.EncodeToString(append(idBytes, tokenMAC(secret, idBytes)...))
}

// CheckReplyToken returns the case a token names when its MAC is valid for
// secret. The MAC is compared in constant time. An empty secret accepts
// nothing.
func CheckReplyToken(secret []byte, token string) (kp.CaseID, bool) {
	if len(secret) == 0 || token == "" || len(token) > maxTokenLen {
		return 0, false
	}
	token = strings.ToLower(token)
	raw, err := tokenEncoding.DecodeString(token)
	if err != nil {
		return 0, false
	}
	id, n := binary.Uvarint(raw)
	if n <= 0 || id == 0 || len(raw) != n+tokenMACLen {
		return 0, false
	}
	// Refuse non-canonical spellings (overlong varints, stray trailing bits)
	// so a token has exactly one valid form.
	if tokenEncoding.EncodeToString(raw) != token || binary.PutUvarint(make([]byte, binary.MaxVarintLen64), id) != n {
		return 0, false
	}
	if !hmac.Equal(raw[n:], tokenMAC(secret, raw[:n])) {
		return 0, false
	}
	return kp.CaseID(id), true
}

// TokenAddress returns the contact address with the token as a
// sub-address: TokenAddress("integrasjon@uio.no", "abc") is
// "integrasjon+abc@uio.no". An empty token, or a contact without '@', gives
// the contact address unchanged.
func TokenAddress(contact, token string) string {
	at := strings.LastIndexByte(contact, '@')
	if token == "" || at <= 0 {
		return contact
	}
	return contact[:at] + "+" + token + contact[at:]
}

// FindReplyToken scans recipient addresses for contact-local+token@contact-domain
// (local part and domain compared case-insensitively) and returns the case of
// the first valid token. Recipients may be bare or in angle brackets.
func FindReplyToken(secret []byte, contact string, rcpts []string) (kp.CaseID, bool) {
	if len(secret) == 0 {
		return 0, false
	}
	at := strings.LastIndexByte(contact, '@')
	if at <= 0 {
		return 0, false
	}
	local, domain := contact[:at]+"+", contact[at+1:]
	for _, r := range rcpts {
		r = strings.TrimSpace(r)
		r = strings.TrimSuffix(strings.TrimPrefix(r, "<"), ">")
		rat := strings.LastIndexByte(r, '@')
		if rat <= 0 || !strings.EqualFold(r[rat+1:], domain) {
			continue
		}
		rl := r[:rat]
		if len(rl) <= len(local) || !strings.EqualFold(rl[:len(local)], local) {
			continue
		}
		if id, ok := CheckReplyToken(secret, rl[len(local):]); ok {
			return id, true
		}
	}
	return 0, false
}
