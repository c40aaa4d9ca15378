package bench

import (
	"crypto/rand"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/cpubench"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// BenchmarkFlowStorage stores browser flows through each floor storage from
// 8 callers (authcode's c=8), without HTTP: an Allow's decision, then its
// code's exchange, as ceiling-server --floor-storage does. Run with -cpu 1
// and read cpu-µs/op; the storages' differences are what each one stores
// above the one before it (docs/performance.md, "The browser flow").
func BenchmarkFlowStorage(b *testing.B) {
	for _, kind := range []string{FloorMinimal, FloorRequired, FloorGatehouse} {
		b.Run(kind, func(b *testing.B) {
			s, err := openFlowStorage(b.Context(), b.TempDir(), kind)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var failed atomic.Bool
			b.SetParallelism(max(8/runtime.GOMAXPROCS(0), 1))
			defer cpubench.Report(b)()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() && !failed.Load() {
					page, code := floorHash(rand.Text()), floorHash(rand.Text())
					c := sqlstore.FloorCode{Hash: code, ClientID: floorClientID, UserID: "bench", RedirectURI: RedirectURI,
						Challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Scope: "READ WRITE", ExpiresAt: time.Now().Add(floorCodeLife)}
					if err := s.Decide(b.Context(), page, c); err != nil {
						b.Errorf("Decide: %v", err)
						failed.Store(true)
						return
					}
					if err := s.Exchange(b.Context(), code, floorHash(rand.Text()), floorHash(rand.Text()), time.Now()); err != nil {
						b.Errorf("Exchange: %v", err)
						failed.Store(true)
						return
					}
				}
			})
		})
	}
}

// BenchmarkRotationStorage rotates 8 refresh-token chains at once (the
// refresh scenario's c=8) through each floor storage, without HTTP, as
// ceiling-server --floor-storage does: each chain starts with a flow, then
// every operation is one rotation. Run with -cpu 1 and read cpu-µs/op
// (docs/performance.md, "Refresh rotation").
func BenchmarkRotationStorage(b *testing.B) {
	for _, kind := range []string{FloorMinimal, FloorRequired, FloorGatehouse} {
		b.Run(kind, func(b *testing.B) {
			s, err := openFlowStorage(b.Context(), b.TempDir(), kind)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var failed atomic.Bool
			b.SetParallelism(max(8/runtime.GOMAXPROCS(0), 1))
			defer cpubench.Report(b)()
			b.RunParallel(func(pb *testing.PB) {
				code, refresh := floorHash(rand.Text()), floorHash(rand.Text())
				c := sqlstore.FloorCode{Hash: code, ClientID: floorClientID, UserID: "bench", RedirectURI: RedirectURI,
					Challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Scope: "READ WRITE", ExpiresAt: time.Now().Add(floorCodeLife)}
				if err := s.Decide(b.Context(), floorHash(rand.Text()), c); err != nil {
					b.Errorf("Decide: %v", err)
					return
				}
				if err := s.Exchange(b.Context(), code, floorHash(rand.Text()), refresh, time.Now()); err != nil {
					b.Errorf("Exchange: %v", err)
					return
				}
				for pb.Next() && !failed.Load() {
					next := floorHash(rand.Text())
					if err := s.Rotate(b.Context(), refresh, floorHash(rand.Text()), next, time.Now()); err != nil {
						b.Errorf("Rotate: %v", err)
						failed.Store(true)
						return
					}
					refresh = next
				}
			})
		})
	}
}
