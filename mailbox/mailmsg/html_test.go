package mailmsg

import (
	"testing"
)

func TestHTMLToText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"paragraphs", "<p>Hei</p><p>Andre avsnitt</p>", "Hei\n\nAndre avsnitt"},
		{"line breaks", "a<br>b<br/>c", "a\nb\nc"},
		{"white space collapsed", "  mange   \n\t mellomrom&nbsp;her  ", "mange mellomrom her"},
		{"entities", "bl&aring;b&aelig;r &amp; r&oslash;d &lt;tag&gt; &#8364;", "blåbær & rød <tag> €"},
		{"link with text", `Se <a href="https://uio.no/x">dokumentasjonen</a>.`, "Se dokumentasjonen <https://uio.no/x>."},
		{"link showing its url", `<a href="https://uio.no/">https://uio.no/</a>`, "https://uio.no/"},
		{"mailto link", `<a href="mailto:ola@uio.no">ola@uio.no</a>`, "ola@uio.no"},
		{"anchor and javascript links", `<a href="#top">Til toppen</a> <a href="javascript:x()">Klikk</a>`, "Til toppen Klikk"},
		{"empty link text", `<a href="https://uio.no/y"></a>`, "https://uio.no/y"},
		{"lists", "<ul><li>en</li><li>to</li></ul><ol><li>tre</li></ol>", "- en\n- to\n\n- tre"},
		{"table rows", "<table><tr><td>Navn</td><td>Ola</td></tr><tr><td>Rolle</td><td>Utvikler</td></tr></table>", "Navn Ola\nRolle Utvikler"},
		{"script style head dropped", "<html><head><title>T</title><style>p{}</style></head><body><script>var x;</script>Tekst</body></html>", "Tekst"},
		{"pre kept", "<pre>linje 1\n  innrykk</pre>etter", "linje 1\n  innrykk\n\netter"},
		{"divs are lines", "<div>a</div><div>b</div><div><br></div><div>c</div>", "a\nb\n\nc"},
		{"outlook markup", `<p class=MsoNormal>Hei<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>Mvh<o:p></o:p></p>`, "Hei\n\nMvh"},
		{"image alt", `<img src="cid:x" alt="Logo">Tekst`, "[Logo]Tekst"},
		{"unclosed tags", "<p>a<p>b<div>c", "a\n\nb\nc"},
		{"broken markup", "<<p>>a</b></p>&bogus; <", "<\n\n>a\n\n&bogus; <"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := htmlToText(tt.in); got != tt.want {
				t.Errorf("htmlToText(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}
