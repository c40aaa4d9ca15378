package server

import (
	"testing"
	"time"
)

// TestRequestMetricsDoNotAllocate: once a route and status have been seen,
// counting another request of theirs allocates nothing.
func TestRequestMetricsDoNotAllocate(t *testing.T) {
	m := newHTTPMetrics()
	route := "POST /rest/oauth2/latest/token"
	m.observe(route, 200, time.Millisecond)
	if n := testing.AllocsPerRun(100, func() { m.observe(route, 200, time.Millisecond) }); n != 0 {
		t.Fatalf("%v allocations per request", n)
	}
}
