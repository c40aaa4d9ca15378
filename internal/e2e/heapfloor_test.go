package e2e

import (
	"net/http"
	"testing"
	"time"
)

// TestNodeSetsItsHeapFloorAsideForTheWorker: a serving node (the real
// binary) lets its heap grow past Go's default goal (GOGC above 100) until a
// sign-in's hash; from then on, while the worker's hashes take their memory
// and a few seconds after the last, it collects as with GOGC=50, and then
// has its floor again (the worker itself lives on for a while).
func TestNodeSetsItsHeapFloorAsideForTheWorker(t *testing.T) {
	bin := buildBinary(t)
	addr := freeAddr(t)
	startServe(t, bin, t.TempDir(), addr, "GATEHOUSE_ADMIN_PASSWORD=admin-password-123")
	e := &env{t: t, base: "http://" + addr}
	gogc := func() float64 { t.Helper(); return metricValue(t, e.base+"/metrics", "go_gc_gogc_percent") }
	// The floor takes effect after a collection; scrapes allocate.
	floor := gogc()
	for deadline := time.Now().Add(20 * time.Second); floor <= 100 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		floor = gogc()
	}
	if floor <= 100 {
		t.Fatalf("an idle node's GOGC is %v, want the heap floor's (above 100)", floor)
	}
	if p := e.newBrowser().signIn("admin", "admin-password-123"); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", p.status)
	}
	// Set aside for 5 s after the last hash.
	if got := gogc(); got != 50 {
		t.Errorf("right after a sign-in's hash, GOGC is %v, want 50 (the floor set aside); idle it was %v", got, floor)
	}
	again := gogc()
	for deadline := time.Now().Add(30 * time.Second); again <= 100 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		again = gogc()
	}
	if again <= 100 {
		t.Errorf("30 s after the sign-in GOGC is %v, want the heap floor's again (above 100)", again)
	}
}
