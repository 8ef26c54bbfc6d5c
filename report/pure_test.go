package report

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestReportStaysPure asserts the import graph: the report reads no store
// and does no I/O; of our packages it knows only the domain types and the
// business clock.
func TestReportStaysPure(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("go tool not found: %v", err)
		}
		t.Skipf("go tool not found: %v", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	allowed := map[string]bool{"kontaktpunkt": true, "kontaktpunkt/routing": true, "kontaktpunkt/report": true}
	forbidden := []string{"github.com/", "go.etcd.io/", "golang.org/x/net/", "net/http", "net/smtp", "os/exec", "database/"}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "kontaktpunkt") && !allowed[dep] {
			t.Errorf("report depends on %s", dep)
		}
		for _, f := range forbidden {
			if dep == f || strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f) {
				t.Errorf("report depends on %s", dep)
			}
		}
	}
}
