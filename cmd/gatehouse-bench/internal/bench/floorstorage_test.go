package bench

import (
	"crypto/rand"
	"fmt"
	"runtime"
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
	benchFloorStorages(b, func(b *testing.B, s flowStorage, pb *testing.PB) error {
		for pb.Next() {
			if _, err := floorFlow(b, s); err != nil {
				return err
			}
		}
		return nil
	})
}

// BenchmarkRotationStorage rotates 8 refresh-token chains at once (the
// refresh scenario's c=8) through each floor storage, without HTTP, as
// ceiling-server --floor-storage does: each chain starts with a flow, then
// every operation is one rotation. Run with -cpu 1 and read cpu-µs/op
// (docs/performance.md, "Refresh rotation").
func BenchmarkRotationStorage(b *testing.B) {
	benchFloorStorages(b, func(b *testing.B, s flowStorage, pb *testing.PB) error {
		refresh, err := floorFlow(b, s)
		if err != nil {
			return err
		}
		for pb.Next() {
			next := floorHash(rand.Text())
			if err := s.Rotate(b.Context(), refresh, floorHash(rand.Text()), next, time.Now()); err != nil {
				return fmt.Errorf("Rotate: %w", err)
			}
			refresh = next
		}
		return nil
	})
}

// benchFloorStorages runs body from 8 callers against each floor storage
// and reports cpu-µs/op; the first error a caller returns fails the run.
func benchFloorStorages(b *testing.B, body func(b *testing.B, s flowStorage, pb *testing.PB) error) {
	for _, kind := range []string{FloorMinimal, FloorRequired, FloorGatehouse} {
		b.Run(kind, func(b *testing.B) {
			s, err := openFlowStorage(b.Context(), b.TempDir(), kind)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.SetParallelism(max(8/runtime.GOMAXPROCS(0), 1))
			defer cpubench.Report(b)()
			b.RunParallel(func(pb *testing.PB) {
				if err := body(b, s, pb); err != nil {
					b.Error(err)
				}
			})
		})
	}
}

// floorFlow stores one flow through s — an Allow's decision, then its
// code's exchange — and returns the refresh token's hash.
func floorFlow(b *testing.B, s flowStorage) ([]byte, error) {
	page, code, refresh := floorHash(rand.Text()), floorHash(rand.Text()), floorHash(rand.Text())
	c := sqlstore.FloorCode{Hash: code, ClientID: floorClientID, UserID: floorUserID, RedirectURI: RedirectURI,
		Challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Scope: "READ WRITE", ExpiresAt: time.Now().Add(floorCodeLife)}
	if err := s.Decide(b.Context(), page, c); err != nil {
		return nil, fmt.Errorf("Decide: %w", err)
	}
	if err := s.Exchange(b.Context(), code, floorHash(rand.Text()), refresh, time.Now()); err != nil {
		return nil, fmt.Errorf("Exchange: %w", err)
	}
	return refresh, nil
}
