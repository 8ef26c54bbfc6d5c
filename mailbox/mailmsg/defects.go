package mailmsg

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
)

// Defects: what was wrong with a message, recorded as it is repaired.
// The repairs here are of whole bytes (line endings, transfer encodings);
// header and part header repairs are in header.go and multipart.go.

func (w *walker) defect(d string) {
	for _, x := range w.p.Defects {
		if x == d {
			return
		}
	}
	if len(w.p.Defects) < maxDefects {
		w.p.Defects = append(w.p.Defects, d)
	}
}

// fixLineEndings turns CR-only line endings (old Mac mail, sisimai
// maildir-mac-cr) and a mix of CRLF and LF into LF: go-message's multipart
// reader takes its line ending from the first boundary line and finds no
// boundary written with the other. A message in one style is left as is.
func (w *walker) fixLineEndings(data []byte) []byte {
	cr := bytes.Count(data, []byte{'\r'})
	if cr == 0 {
		return data
	}
	lf := bytes.Count(data, []byte{'\n'})
	if cr == lf {
		return data // CRLF throughout; counting the pairs costs more
	}
	crlf := bytes.Count(data, []byte("\r\n"))
	switch {
	case cr == crlf && lf == crlf:
		return data // all CRLF
	case cr-crlf > lf && cr-crlf >= 2:
		w.defect("CR line endings")
	case lf > crlf && crlf > 0:
		w.defect("mixed line endings")
	default:
		return data // stray CRs inside lines
	}
	out := make([]byte, 0, len(data))
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\r')
		if i < 0 {
			out = append(out, data...)
			break
		}
		out = append(out, data[:i]...)
		out = append(out, '\n')
		data = data[i+1:]
		if len(data) > 0 && data[0] == '\n' {
			data = data[1:]
		}
	}
	return out
}

// bodyError records what reading a part's body ran into.
func (w *walker) bodyError(err error) {
	switch {
	case err == nil:
	case errors.Is(err, io.ErrUnexpectedEOF):
		w.defect("missing final boundary")
	case errors.As(err, new(base64.CorruptInputError)):
		w.defect("bad base64")
	default:
		w.defect("unreadable part: " + err.Error())
	}
}

// repairBase64 keeps the base64 alphabet of src (reading the URL-safe
// alphabet as the standard one), stops at padding and pads what is left to
// whole groups, so that go-message's decoder decodes what decodes.
func repairBase64(src []byte) []byte {
	out := make([]byte, 0, len(src))
	for _, c := range src {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			out = append(out, c)
		case c == '-':
			out = append(out, '+')
		case c == '_':
			out = append(out, '/')
		case c == '=' && len(out)%4 >= 2:
			// Padding ends the data.
			return padBase64(out)
		}
	}
	return padBase64(out)
}

// repairQP escapes the bytes quoted-printable may not hold raw (control
// characters other than tab and line breaks, such as the ESC of ISO-2022-JP
// text written unencoded), which mime/quotedprintable refuses.
func repairQP(src []byte) []byte {
	const hex = "0123456789ABCDEF"
	out := make([]byte, 0, len(src)+16)
	for _, c := range src {
		if c < ' ' && c != '\t' && c != '\r' && c != '\n' || c == 0x7f {
			out = append(out, '=', hex[c>>4], hex[c&15])
			continue
		}
		out = append(out, c)
	}
	return out
}

func padBase64(b []byte) []byte {
	switch len(b) % 4 {
	case 1:
		b = b[:len(b)-1]
	case 2:
		b = append(b, '=', '=')
	case 3:
		b = append(b, '=')
	}
	return b
}
