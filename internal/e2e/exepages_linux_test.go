package e2e

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testproc"
)

// TestNodeGivesBackItsExecutablePagesWhenItsWorkerStarts: the real
// binary's node, whose resident executable pages grew with what it served
// (metadata, metrics, error pages), gives them back when a sign-in starts
// its hash worker. Without that, a sign-in only adds its own pages to the
// others. The node's RssFile is sampled every millisecond from the sign-in
// on and judged at its lowest: what the node runs next comes back at once,
// and how much comes back with each page it touches is the kernel's choice
// (a kernel that keeps the executable in large folios maps them whole), so
// a single reading after the sign-in passed or failed with the page cache's
// state. The steady state of a node beside its worker is the load suite's
// figure (docs/performance.md, memory).
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
	var lowest atomic.Int64
	lowest.Store(int64(before))
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if kib, err := testproc.ReadStatusKiB(pid, "RssFile"); err == nil && int64(kib) < lowest.Load() {
				lowest.Store(int64(kib))
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	if b := e.newBrowser().signIn("admin", "admin-password-123"); b.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", b.status)
	}
	for deadline := time.Now().Add(5 * time.Second); lowest.Load() > int64(before-2<<10) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	<-sampled
	after := testproc.StatusKiB(t, pid, "RssFile")
	t.Logf("node's RssFile: %d KiB before the sign-in, %d KiB at its lowest after the worker started, %d KiB now", before, lowest.Load(), after)
	if lowest.Load() > int64(before-2<<10) {
		t.Errorf("node's RssFile at its lowest %d KiB after its hash worker started, %d KiB before: want at least 2 MiB given back", lowest.Load(), before)
	}
}
