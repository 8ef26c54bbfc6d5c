package suggest

import (
	"math/rand/v2"
	"slices"
	"testing"

	kp "kontaktpunkt"
)

// TestTopCandsLikeSorting: the best n candidates are those a full sort
// puts first, in that order, ties in score broken by the higher id, for
// lists shorter and much longer than n.
func TestTopCandsLikeSorting(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var buf []cand
	for _, size := range []int{0, 1, 7, 30, 119, 121, 500, 5000} {
		for _, n := range []int{1, 2, 30, 200} {
			s := make([]cand, size)
			for i, id := range r.Perm(size) {
				// Few distinct scores, so that ties are many.
				s[i] = cand{kp.CaseID(id + 1), float64(float32(r.IntN(40)) / 7)}
			}
			want := slices.Clone(s)
			slices.SortFunc(want, func(a, b cand) int {
				if a.score != b.score {
					if a.score > b.score {
						return -1
					}
					return 1
				}
				return int(b.id) - int(a.id)
			})
			want = want[:min(n, len(want))]
			if got := topCands(s, n, &buf); !slices.Equal(got, want) {
				t.Errorf("%d of %d: got %v, want %v", n, size, got, want)
			}
		}
	}
}
