package routing

import (
	"regexp"
	"sync"
)

// lazyRegexp compiles pattern on first use, so that a command that never
// classifies or threads mail does not pay for it at start-up.
func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}
