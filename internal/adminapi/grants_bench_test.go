package adminapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

// BenchmarkListEveryGrant: GET /rest/gatehouse/latest/grants without a
// limit on a node whose one application holds benchGrants
// client-credentials grants (a token each, stored directly). B/op counts
// the whole process: the node's reads and answer, and the caller's copy to
// io.Discard. peak-heap-MiB is the most the heap's live and not yet
// collected objects held, sampled every millisecond, less what they held
// before the first request.
func BenchmarkListEveryGrant(b *testing.B) {
	const benchGrants = 50_000
	f := newFixture(b)
	c, _ := f.createClient(app.Registration{Name: "Robot", Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}})
	now := time.Now()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < benchGrants; i += 16 {
				h := fmt.Sprintf("bench-grant-%06d", i)
				tok := store.Token{Hash: []byte(h), Kind: store.KindAccess, GrantID: h, ClientID: c.ID, Scope: "READ",
					CreatedAt: now.Add(time.Duration(i) * time.Millisecond), GrantedAt: now, ExpiresAt: now.Add(time.Hour)}
				if err := f.node.Store.IssueTokens(context.Background(), store.Issue{Access: tok}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	runtime.GC()
	before := heapObjects()
	peak := before
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				peak = max(peak, heapObjects())
			}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	var size int64
	for b.Loop() {
		req, _ := http.NewRequest("GET", f.base+"/rest/gatehouse/latest/grants", nil)
		req.Header.Set("Authorization", "Bearer "+f.admin.bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		size, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d, %v", resp.StatusCode, err)
		}
	}
	close(stop)
	<-sampled
	b.ReportMetric(float64(size)/(1<<20), "answer-MiB")
	b.ReportMetric(float64(peak-before)/(1<<20), "peak-heap-MiB")
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
