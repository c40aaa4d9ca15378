package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testproc"
)

// TestNodeGivesBackItsExecutablePagesWhenItsWorkerStarts: the real
// binary's node, whose resident executable pages grew with what it served
// (metadata, metrics, error pages), gives them back when a sign-in starts
// its hash worker, and from then on holds the pages it runs again. Without
// that, a sign-in only adds its own pages to the others.
func TestNodeGivesBackItsExecutablePagesWhenItsWorkerStarts(t *testing.T) {
	bin := buildBinary(t)
	addr := freeAddr(t)
	p := startProcess(t, bin, t.TempDir(), addr, nil, []string{"GATEHOUSE_ADMIN_PASSWORD=admin-password-123"})
	pid := p.cmd.Process.Pid
	e := &env{t: t, base: "http://" + addr}
	time.Sleep(time.Second) // serve gives back the start's own pages 500 ms after it serves
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/metrics", "/login", "/authorize?client_id=nobody",
		"/rest/gatehouse/latest/users", "/openapi.json", "/console/", "/static/nothing", "/token", "/introspect"} {
		resp, err := http.Get(e.base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	e.postForm("/token", nil, "nobody", "nothing")
	before := testproc.StatusKiB(t, pid, "RssFile")
	if b := e.newBrowser().signIn("admin", "admin-password-123"); b.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", b.status)
	}
	after := testproc.StatusKiB(t, pid, "RssFile")
	for deadline := time.Now().Add(5 * time.Second); after > before-2<<10 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		after = testproc.StatusKiB(t, pid, "RssFile")
	}
	t.Logf("node's RssFile: %d KiB before the sign-in, %d KiB after", before, after)
	if after > before-2<<10 {
		t.Errorf("node's RssFile %d KiB after its hash worker started, %d KiB before: want at least 2 MiB given back", after, before)
	}
}
