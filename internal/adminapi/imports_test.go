package adminapi_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestAdminAPIDoesNotImportThePages keeps the boundary: the JSON API shares
// the admin service and the browser sessions, not the pages' package.
func TestAdminAPIDoesNotImportThePages(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "github.com/gatehouse/gatehouse/internal/web" {
			t.Fatal("internal/adminapi depends on internal/web")
		}
	}
}
