package server

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/internal/user"
)

// These benchmarks drive the whole handler chain (middleware, form parsing,
// client authentication, minting, the SQLite file with durable commits) without
// the network, so a CPU profile shows the server's own cost per request:
//
//	go test ./internal/server -run '^$' -bench . -cpuprofile cpu.out
//
// The load tool (gatehouse-bench) measures the same paths over loopback HTTP.

type benchNode struct {
	g        *Gatehouse
	h        http.Handler
	clientID string
	secret   string
	userID   string
}

func newBenchNode(b *testing.B) *benchNode {
	cfg := config.Default()
	cfg.Dev = true
	cfg.DataDir = b.TempDir()
	cfg.Limits.RefreshTokensPerUserClient = 0 // parallel refresh chains of one user
	if err := cfg.ValidateServe(); err != nil {
		b.Fatal(err)
	}
	g, err := Open(b.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		Options{Argon2: &user.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.Close() })
	c, secretValue, err := g.Apps.Create(b.Context(), app.Registration{
		Name: "bench", RedirectURIs: []string{"http://127.0.0.1/cb"}, Scopes: []string{"READ", "WRITE"},
		Grants: []string{app.GrantAuthorizationCode, app.GrantRefreshToken, app.GrantClientCredentials},
	})
	if err != nil {
		b.Fatal(err)
	}
	u, err := g.Users.Create(b.Context(), user.NewUser{Username: "bench", Password: "bench-password-1", Level: store.LevelUser})
	if err != nil {
		b.Fatal(err)
	}
	return &benchNode{g: g, h: g.Handler(), clientID: c.ID, secret: secretValue, userID: u.ID}
}

// post sends a form with the bench client's Basic credentials and decodes the JSON answer.
func (n *benchNode) post(b *testing.B, path string, form url.Values) map[string]any {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(n.clientID, n.secret)
	req.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	n.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		b.Fatal(err)
	}
	return out
}

// userPair issues a user's token pair the way a finished authorization-code flow does.
func (n *benchNode) userPair(b *testing.B) (access, refresh string) {
	// The code is stored as the consent page would store it.
	code, hash, err := token.NewMinter(n.g.Keys, nil).New(token.Code)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	if err := n.g.Store.CreateCode(context.Background(), store.Code{
		Hash: hash, ClientID: n.clientID, UserID: n.userID, RedirectURI: "http://127.0.0.1/cb", Scope: "READ",
		GrantID: hex.EncodeToString(hash[:8]), CreatedAt: now, ExpiresAt: now.Add(time.Minute),
	}); err != nil {
		b.Fatal(err)
	}
	out := n.post(b, "/rest/oauth2/latest/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://127.0.0.1/cb"},
	})
	return out["access_token"].(string), out["refresh_token"].(string)
}

func BenchmarkClientCredentials(b *testing.B) {
	n := newBenchNode(b)
	form := url.Values{"grant_type": {"client_credentials"}}
	b.SetParallelism(16) // 16×GOMAXPROCS requests in flight, as a c=32 load on two cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if out := n.post(b, "/rest/oauth2/latest/token", form); out["access_token"] == nil {
				b.Fatal("no access token")
			}
		}
	})
}

func BenchmarkIntrospect(b *testing.B) {
	n := newBenchNode(b)
	var tokens []string
	for range 64 {
		out := n.post(b, "/rest/oauth2/latest/token", url.Values{"grant_type": {"client_credentials"}})
		tokens = append(tokens, out["access_token"].(string))
	}
	var next atomic.Uint64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tok := tokens[next.Add(1)%uint64(len(tokens))]
			if out := n.post(b, "/rest/oauth2/latest/introspect", url.Values{"token": {tok}}); out["active"] != true {
				b.Fatal("token not active")
			}
		}
	})
}

func BenchmarkRefresh(b *testing.B) {
	n := newBenchNode(b)
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		_, refresh := n.userPair(b)
		for pb.Next() {
			out := n.post(b, "/rest/oauth2/latest/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
			refresh = out["refresh_token"].(string)
		}
	})
}

func BenchmarkBearer(b *testing.B) {
	n := newBenchNode(b)
	access, _ := n.userPair(b)
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, "/rest/api/latest/myself", nil)
			req.Header.Set("Authorization", "Bearer "+access)
			req.RemoteAddr = "127.0.0.1:40000"
			rec := httptest.NewRecorder()
			n.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("myself: %d %s", rec.Code, rec.Body)
			}
		}
	})
}
