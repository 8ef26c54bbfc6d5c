// Package testcorpus locates the shared third-party mail corpus
// (../shared/corpus beside the repository) for tests. The corpus is never
// copied into the repository; under CI=true its absence fails the test,
// elsewhere the test is skipped with a message saying so.
package testcorpus

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the corpus folder.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testcorpus: go.mod not found above the test directory")
		}
		dir = parent
	}
	corpus := filepath.Join(dir, "..", "shared", "corpus")
	if _, err := os.Stat(corpus); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testcorpus: shared corpus missing at %s (CI=true requires it): %v", corpus, err)
		}
		t.Skipf("testcorpus: shared corpus missing at %s; put ../shared/corpus beside the repository to run this test", corpus)
	}
	return corpus
}
