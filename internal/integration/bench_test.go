package integration

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testprovider"
)

// BenchmarkAccessTokenFromVault: a current token handed out from the vault
// (one indexed read, one AES-GCM open), as the token API and the mail tests
// get it.
//
//	go test ./internal/integration -run '^$' -bench AccessTokenFromVault -cpu 1
func BenchmarkAccessTokenFromVault(b *testing.B) {
	e := newEnv(b)
	p := testprovider.Start(b, testprovider.Options{})
	in := e.authorized(e.create(Settings{Provider: Custom}, p).ID, p)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.s.AccessToken(b.Context(), in.ID, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRefresherTick: one tick of the refresher (claim what is due,
// then read when the next is due) among n integrations of which 10 are
// due. Its cost does not grow with n: both queries walk the index on
// next_refresh_at from its start.
//
//	go test ./internal/integration -run '^$' -bench RefresherTick -cpu 1
func BenchmarkRefresherTick(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("integrations=%d", n), func(b *testing.B) {
			e := newEnv(b)
			ctx := b.Context()
			now := e.s.now()
			for i := range n {
				in := store.Integration{ID: fmt.Sprintf("int_%06d", i), Name: fmt.Sprintf("Integration %d", i), Provider: Custom,
					CreatedAt: now, UpdatedAt: now}
				in.Vault = store.IntegrationVault{TokensSealed: []byte("x"), ExpiresAt: now.Add(time.Hour),
					NextRefreshAt: now.Add(time.Duration(10+i) * time.Minute)}
				if i < 10 {
					in.Vault.NextRefreshAt = now.Add(-time.Second)
				}
				if err := e.store.CreateIntegration(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := range b.N {
				// A fresh holder and a clock far enough on that the earlier
				// ticks' leases have ended: every tick claims the same 10.
				at := now.Add(time.Duration(i) * time.Minute / 1000)
				claimed, err := e.store.ClaimDueIntegrations(ctx, fmt.Sprint("bench-", i), at, time.Microsecond, claimBatch)
				if err != nil || len(claimed) != 10 {
					b.Fatalf("claimed %d, %v", len(claimed), err)
				}
				if _, err := e.store.NextIntegrationRefresh(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
