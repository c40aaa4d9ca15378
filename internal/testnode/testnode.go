// Package testnode starts a real Gatehouse node on a free loopback port for
// tests: the same wiring as `gatehouse serve`, a fresh SQLite file, stopped
// when the test ends. Only tests import it.
package testnode

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/user"
)

// FastArgon2 keeps sign-ins quick in tests; the code path is the production one.
var FastArgon2 = user.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}

// Node is a running node.
type Node struct {
	*server.Gatehouse
	BaseURL string // http://127.0.0.1:PORT, no trailing slash
	Addr    string // 127.0.0.1:PORT
}

// Options adjust Start. The zero value is a quiet node with FastArgon2.
type Options struct {
	Server server.Options // Argon2 defaults to FastArgon2
	Log    *slog.Logger   // nil: discard
}

// Start starts a node in development mode on a fresh data directory; mutate
// adjusts the configuration before it is validated.
func Start(t testing.TB, opt Options, mutate ...func(*config.Config)) *Node {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Dev = true
	cfg.Listen = ln.Addr().String()
	cfg.DataDir = t.TempDir()
	for _, m := range mutate {
		m(&cfg)
	}
	if err := cfg.ValidateServe(); err != nil {
		ln.Close()
		t.Fatal(err)
	}
	if opt.Server.Argon2 == nil {
		opt.Server.Argon2 = &FastArgon2
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	gh, err := server.Open(ctx, cfg, opt.Log, opt.Server)
	if err != nil {
		cancel()
		ln.Close()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		gh.Serve(ctx, ln, nil)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		gh.Close()
	})
	return &Node{Gatehouse: gh, BaseURL: cfg.BaseURL, Addr: ln.Addr().String()}
}
