package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/integration"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testprovider"
)

// BenchmarkIntegrationTokenAPI: the token API answering from the vault
// through the whole handler chain, on a node holding 10,000 other
// integrations: an application's client-credentials token checked, the
// integration read and opened, the call audited (a durable write, batched
// by the group commit). Without the network: scripts/bench.sh measures the
// same over loopback HTTP (integration-token).
//
//	go test ./internal/server -run '^$' -bench IntegrationTokenAPI -cpu 1
func BenchmarkIntegrationTokenAPI(b *testing.B) {
	n := newBenchNode(b)
	ctx := b.Context()
	seedIntegrations(b, n.g.Store, 10_000)
	c, secretValue, err := n.g.Apps.Create(ctx, app.Registration{
		Name: "mail fetcher", Scopes: []string{scope.IntegrationToken}, Grants: []string{app.GrantClientCredentials},
	})
	if err != nil {
		b.Fatal(err)
	}
	n.clientID, n.secret = c.ID, secretValue
	bearer := n.post(b, "/rest/oauth2/latest/token", url.Values{"grant_type": {"client_credentials"}, "scope": {scope.IntegrationToken}})["access_token"].(string)

	p := testprovider.Start(b, testprovider.Options{})
	auth, tok, userinfo := p.Endpoints()
	svc := n.g.Integrations
	in, err := svc.Create(ctx, audit.CommandLine(), integration.Settings{Provider: integration.Custom, Name: "Mail",
		ClientID: p.ClientID(), ClientSecret: p.ClientSecret(), AuthURL: auth, TokenURL: tok, UserinfoURL: userinfo})
	if err != nil {
		b.Fatal(err)
	}
	u, _, err := svc.StartAuthorization(ctx, audit.CommandLine(), in.ID, nil)
	if err != nil {
		b.Fatal(err)
	}
	redirect, q := p.Approve(b, u)
	if done, err := svc.CompleteAuthorization(ctx, integration.Callback{Key: path.Base(redirect), Query: q}); err != nil || done.Failure != nil {
		b.Fatalf("authorize: %v %v", err, done.Failure)
	}
	target := "/rest/gatehouse/latest/integrations/" + in.ID + "/token"
	b.SetParallelism(32) // c=32 per core, as scripts/bench.sh loads the token endpoints
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.Header.Set("Authorization", "Bearer "+bearer)
			req.RemoteAddr = "127.0.0.1:40000"
			rec := httptest.NewRecorder()
			n.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"access_token"`) {
				b.Fatalf("token API: %d %s", rec.Code, rec.Body)
			}
		}
	})
}

// seedIntegrations stores n authorized-looking integrations, 32 writers at
// a time so that the group commit batches them.
func seedIntegrations(b *testing.B, st store.Store, n int) {
	now := time.Now()
	var g errgroup.Group
	g.SetLimit(32)
	for i := range n {
		g.Go(func() error {
			return st.CreateIntegration(b.Context(), store.Integration{ID: fmt.Sprintf("seed_%06d", i), Name: fmt.Sprintf("Seed %d", i),
				Provider: integration.Custom, CreatedAt: now, UpdatedAt: now,
				Vault: store.IntegrationVault{TokensSealed: []byte("x"), ExpiresAt: now.Add(time.Hour), NextRefreshAt: now.Add(time.Hour)}})
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkMetricsScrape: one /metrics scrape of a node holding 10,000
// integrations (50,000 of its series), through the whole handler chain; the
// answer is thrown away as it is written, as a connection would send it.
//
//	go test ./internal/server -run '^$' -bench MetricsScrape -benchtime 20x -cpu 1
func BenchmarkMetricsScrape(b *testing.B) {
	n := newBenchNode(b)
	seedIntegrations(b, n.g.Store, 10_000)
	scrape := func(rec *httptest.ResponseRecorder) {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.RemoteAddr = "127.0.0.1:40000"
		n.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("metrics: %d", rec.Code)
		}
	}
	first := httptest.NewRecorder()
	scrape(first)
	if series := strings.Count(first.Body.String(), "\ngatehouse_integration_"); series < 50_000 {
		b.Fatalf("%d integration series, want 50,000 and more", series)
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		rec.Body = nil // a recorder without a body drops what is written
		scrape(rec)
	}
	b.ReportMetric(float64(first.Body.Len()), "bytes/scrape")
}
