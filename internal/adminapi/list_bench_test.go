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

// The admin API's unbounded lists on a large node. B/op counts the whole
// process: the node's reads and answer, and the caller's copy to
// io.Discard. peak-heap-MiB is the most the heap's live and not yet
// collected objects held, sampled every millisecond, less what they held
// before the first request.

// BenchmarkListEveryGrant: GET /grants without a limit, one application
// holding 50,000 client-credentials grants (a token each, stored directly).
func BenchmarkListEveryGrant(b *testing.B) {
	const grants = 50_000
	f := newFixture(b)
	c, _ := f.createClient(app.Registration{Name: "Robot", Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}})
	now := time.Now()
	inParallel(b, grants, func(i int) error {
		h := fmt.Sprintf("bench-grant-%06d", i)
		tok := store.Token{Hash: []byte(h), Kind: store.KindAccess, GrantID: h, ClientID: c.ID, Scope: "READ",
			CreatedAt: now.Add(time.Duration(i) * time.Millisecond), GrantedAt: now, ExpiresAt: now.Add(time.Hour)}
		return f.node.Store.IssueTokens(context.Background(), store.Issue{Access: tok})
	})
	benchList(b, f, "/rest/gatehouse/latest/grants")
}

// BenchmarkListEveryUser and BenchmarkListGroups: GET /users without
// parameters and GET /groups, 50,000 users in five groups (stored directly).
func BenchmarkListEveryUser(b *testing.B) { benchList(b, manyUsers(b, 50_000), adminPathUser) }

func BenchmarkListGroups(b *testing.B) {
	benchList(b, manyUsers(b, 50_000), "/rest/gatehouse/latest/groups")
}

func manyUsers(b *testing.B, n int) *fixture {
	f := newFixture(b)
	now := time.Now()
	inParallel(b, n, func(i int) error {
		name := fmt.Sprintf("bench-user-%06d", i)
		return f.node.Store.CreateUser(context.Background(), store.User{ID: name, Username: name, DisplayName: "Bench User " + name,
			Email: name + "@example.com", PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
			Groups: []string{fmt.Sprint("group-", i%5)}, CreatedAt: now, UpdatedAt: now})
	})
	return f
}

// inParallel runs do(0) … do(n-1) on 16 goroutines.
func inParallel(b *testing.B, n int, do func(int) error) {
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				if err := do(i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// benchList GETs path as an administrator b.N times.
func benchList(b *testing.B, f *fixture, path string) {
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
		req, _ := http.NewRequest("GET", f.base+path, nil)
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
