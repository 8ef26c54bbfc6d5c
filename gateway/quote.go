package gateway

import (
	"io/fs"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"

	kp "kontaktpunkt"
	"kontaktpunkt/routing"
)

// The gateway relays a writer's own new text, not the history their mail
// program quoted: quoted history holds earlier mail of the thread, and a
// staff member's reply to an assignment or a note quotes internal text. The
// trimmer also knows every line of our own templates, so our mail is cut
// out of a reply even when nothing marks it as quoted.

// templateLines describes the lines of the templates in set to
// routing.NewQuoteTrimmer: the literal text of each line in pieces, with a
// gap wherever the template fills in a value. The body of an {{if}} or
// {{with}} is a gap in its line, and its own lines are described as well.
func templateLines(set map[string]*template.Template) [][]string {
	var out [][]string
	for _, tmpl := range set {
		if tmpl.Tree != nil && tmpl.Tree.Root != nil {
			out = append(out, listLines(tmpl.Tree.Root)...)
		}
	}
	return out
}

// gap stands for a value filled in, in the text listLines builds.
const gap = "\x00"

func listLines(list *parse.ListNode) [][]string {
	var b strings.Builder
	var inner [][]string
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			b.Write(n.Text)
		case *parse.IfNode:
			b.WriteString(gap)
			inner = append(inner, branchLines(n.List, n.ElseList)...)
		case *parse.WithNode:
			b.WriteString(gap)
			inner = append(inner, branchLines(n.List, n.ElseList)...)
		case *parse.RangeNode:
			b.WriteString(gap)
			inner = append(inner, branchLines(n.List, n.ElseList)...)
		default:
			b.WriteString(gap)
		}
	}
	var out [][]string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Trim(l, gap+" \t") != "" {
			out = append(out, strings.Split(l, gap))
		}
	}
	return append(out, inner...)
}

// branchLines describes the lines inside a branch; its first and last
// lines continue text outside it, so they begin and end with a gap.
func branchLines(lists ...*parse.ListNode) [][]string {
	var out [][]string
	for _, list := range lists {
		if list == nil {
			continue
		}
		lines := listLines(list)
		for _, l := range lines {
			out = append(out, append(append([]string{""}, l...), ""))
		}
	}
	return out
}

// trimmerFor builds the quote trimmer that knows the given templates and
// the built-in ones (an override folder does not make our older mail, sent
// with the built-in text, unrecognisable).
func trimmerFor(set map[string]*template.Template) *routing.QuoteTrimmer {
	var lines [][]string
	seen := map[string]bool{}
	for _, l := range append(templateLines(set), templateLines(builtinSet())...) {
		if k := strings.Join(l, gap); !seen[k] {
			seen[k] = true
			lines = append(lines, l)
		}
	}
	return routing.NewQuoteTrimmer(lines)
}

// builtinSet parses the built-in templates of both languages.
var builtinSet = sync.OnceValue(func() map[string]*template.Template {
	set := map[string]*template.Template{}
	_ = fs.WalkDir(builtinTemplates, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".tmpl") {
			return nil
		}
		src, err := fs.ReadFile(builtinTemplates, path)
		if err != nil {
			return nil
		}
		if t, err := template.New(path).Parse(string(src)); err == nil {
			set[path] = t
		}
		return nil
	})
	return set
})

// builtinTrimmer knows the built-in templates only.
var builtinTrimmer = sync.OnceValue(func() *routing.QuoteTrimmer { return trimmerFor(nil) })

// Trimmer is the quote trimmer that knows these templates' lines.
func (t *Templates) Trimmer() *routing.QuoteTrimmer {
	if t == nil || t.trim == nil {
		return builtinTrimmer()
	}
	return t.trim()
}

// mailText is the text of msg that mail about it carries: the writer's own
// new text where routing.FoldsQuotes says so, else the whole text.
func (g *Gateway) mailText(msg *kp.Message) string {
	if !routing.FoldsQuotes(msg) {
		return msg.Text
	}
	return g.Templates.Trimmer().Split(msg.Text).Own
}
