package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// yamlTypeError matches the decoder's message for a value of the wrong
// kind: "line 5: cannot unmarshal !!str `x@examp...` into []config.Person".
var yamlTypeError = lazyRegexp("^line (\\d+): cannot unmarshal !!(\\w+) `(.*)` into (\\S+)$")

// describeTypeError rewrites the decoder's wrong-kind message in words an
// operator reads without knowing Go: the key, what it wants and what it
// found ("line 5: staff.members must be a list, not text "x@examp...""). Other
// messages are returned unchanged.
func describeTypeError(msg string, doc *yaml.Node) string {
	m := yamlTypeError().FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	line, _ := strconv.Atoi(m[1])
	key, node := keyAtLine(doc, line)
	if key == "" {
		key = "this value"
	}
	found := yamlKindWords(m[2])
	if m[2] != "map" && m[2] != "seq" && m[3] != "" {
		v := m[3] // the decoder shortens it; the node has it whole
		if node != nil && node.Kind == yaml.ScalarNode && len(node.Value) <= 60 {
			v = node.Value
		}
		found += " " + strconv.Quote(v)
	}
	return fmt.Sprintf("line %d: %s must be %s, not %s", line, key, goTypeWords(m[4]), found)
}

func yamlKindWords(tag string) string {
	switch tag {
	case "str":
		return "text"
	case "int", "float":
		return "a number"
	case "bool":
		return "true/false"
	case "seq":
		return "a list"
	case "map":
		return "a mapping of keys"
	case "null":
		return "empty"
	}
	return "a " + tag
}

func goTypeWords(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "a mapping of keys"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "text"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case strings.HasPrefix(t, "config."), strings.HasPrefix(t, "*config."):
		return "a mapping of keys"
	}
	return "a value of another kind"
}

// keyAtLine returns the dotted key path ("teams[1].members") of the value
// that starts on line, and that value; "" and nil when there is none.
func keyAtLine(n *yaml.Node, line int) (string, *yaml.Node) {
	var found *yaml.Node
	var walk func(n *yaml.Node, path string) string
	walk = func(n *yaml.Node, path string) string {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				if p := walk(c, path); p != "" {
					return p
				}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if v.Line == line && (v.Kind == yaml.ScalarNode || k.Line == line) {
					found = v
					return p
				}
				if r := walk(v, p); r != "" {
					return r
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if c.Line == line && c.Kind == yaml.ScalarNode {
					found = c
					return p
				}
				if r := walk(c, p); r != "" {
					return r
				}
			}
		}
		return ""
	}
	if n == nil {
		return "", nil
	}
	p := walk(n, "")
	return p, found
}

// lazyRegexp compiles pat on first use: a command that never needs the
// expression does not pay for compiling it at start-up.
func lazyRegexp(pat string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pat) })
}
