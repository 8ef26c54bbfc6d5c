package suggest_test

import (
	"fmt"
	"testing"

	"kontaktpunkt/store"
	"kontaktpunkt/suggest"
)

// BenchmarkCaseTerms measures the terms of one generated request (about
// 60 words), with a vocabulary for the compounds.
func BenchmarkCaseTerms(b *testing.B) {
	g := newGen(3)
	reqs := g.history(100, true)
	vocab := map[string]bool{}
	for _, c := range g.history(300, false) {
		for t := range suggest.CaseTerms(c.subject, c.text, nil) {
			vocab[t] = true
		}
	}
	known := func(t string) bool { return vocab[t] }
	i := 0
	for b.Loop() {
		c := reqs[i%len(reqs)]
		suggest.CaseTerms(c.subject, c.text, known)
		i++
	}
}

// BenchmarkRank measures one suggestion (terms of a new request, then the
// ranking) against a store of past assigned cases: 100,000 as the target
// says, and 1,000 as a baseline in the same run.
func BenchmarkRank(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := openStore(b)
			g := newGen(5)
			load(b, s, g.history(n, false), 5000)
			fresh := g.history(200, true)
			i := 0
			err := s.View(func(tx *store.Tx) error {
				for b.Loop() {
					c := fresh[i%len(fresh)]
					i++
					if _, err := suggest.Rank(tx, suggest.CaseTerms(c.subject, c.text, suggest.VocabOf(tx)), suggest.Options{}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}
