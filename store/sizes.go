package store

import (
	"sort"

	bolt "go.etcd.io/bbolt"
)

// BucketSize is where the bytes of one bucket are: its keys and the pages
// it takes, split by page kind. Bytes "in use" are what the keys, values
// and page headers fill; "alloc" is the pages the bucket holds, so
// alloc - in use is the room left empty by the fill percent and splits.
type BucketSize struct {
	Name       string `json:"name"`
	Keys       int    `json:"keys"`
	Depth      int    `json:"depth"`
	LeafPages  int    `json:"leaf_pages"`  // leaf pages, overflow pages not counted
	Overflow   int    `json:"overflow"`    // overflow pages of leaf values
	BranchUse  int    `json:"branch_use"`  // bytes in use on branch pages
	LeafUse    int    `json:"leaf_use"`    // bytes in use on leaf pages (with their overflow)
	LeafAlloc  int    `json:"leaf_alloc"`  // bytes of leaf pages with their overflow
	TotalAlloc int    `json:"total_alloc"` // bytes of every page of the bucket
}

// Use returns the bytes in use on the bucket's pages.
func (b BucketSize) Use() int { return b.BranchUse + b.LeafUse }

// Sizes returns the size of every top-level bucket of the store on one
// snapshot, largest first, and the page size. It reads every page of the
// store, so it takes as long as a full scan.
func (s *Store) Sizes() (sizes []BucketSize, pageSize int, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		pageSize = tx.DB().Info().PageSize
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			sizes = append(sizes, bucketSize(string(name), b.Stats()))
			return nil
		})
	})
	sort.SliceStable(sizes, func(i, j int) bool { return sizes[i].TotalAlloc > sizes[j].TotalAlloc })
	return sizes, pageSize, err
}

func bucketSize(name string, st bolt.BucketStats) BucketSize {
	return BucketSize{
		Name: name, Keys: st.KeyN, Depth: st.Depth,
		LeafPages: st.LeafPageN, Overflow: st.LeafOverflowN,
		BranchUse: st.BranchInuse, LeafUse: st.LeafInuse + st.InlineBucketInuse,
		LeafAlloc:  st.LeafAlloc,
		TotalAlloc: st.BranchAlloc + st.LeafAlloc,
	}
}
