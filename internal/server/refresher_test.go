package server

import (
	"context"
	"testing"
	"time"
)

// integrations.background_refresh: false keeps a node from refreshing the
// integrations' tokens on its own — for a copy of the data started to
// rehearse an upgrade, whose refreshes would present the live node's
// refresh tokens and, at a provider that detects reuse, end its grants.
func TestBackgroundRefreshCanBeOff(t *testing.T) {
	for _, on := range []bool{true, false} {
		g := openNodes(t, 1, &testClock{t: time.Now()})[0]
		g.Config.Integrations.BackgroundRefresh = on
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go g.runRefresher(ctx, done)
		select {
		case <-done:
			if on {
				t.Fatal("the refresher stopped by itself")
			}
		case <-time.After(300 * time.Millisecond):
			if !on {
				t.Fatal("the refresher runs though background_refresh is off")
			}
		}
		cancel()
		<-done
	}
}
