package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/adminapi"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/clientip"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/internal/user"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Gatehouse is one node with every part built.
type Gatehouse struct {
	Config config.Config
	Store  store.Store
	Keys   *secret.Keys
	Scopes *scope.Catalogue
	Apps   *app.Service
	Users  *user.Service
	OAuth  *oauth.Server
	Pages  *web.Pages
	Admin  *admin.Service
	Log    *slog.Logger
	Now    func() time.Time
	nodeID string
}

// Options are the seams tests control.
type Options struct {
	Now    func() time.Time
	Argon2 *user.Argon2Params // nil: user.DefaultArgon2
}

// Open builds a node from a validated configuration.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger, opt Options) (*Gatehouse, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	argon := user.DefaultArgon2
	if opt.Argon2 != nil {
		argon = *opt.Argon2
	}
	master, err := secret.LoadMaster(cfg.DataDir, cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	keys, err := secret.New(master)
	if err != nil {
		return nil, err
	}
	catalogue, err := scope.Load(cfg.Scopes.Catalogue)
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	st = store.NewClientCache(st, cfg.Cache.ClientTTL, opt.Now)
	g := &Gatehouse{Config: cfg, Store: st, Keys: keys, Scopes: catalogue, Log: log, Now: opt.Now, nodeID: newNodeID()}
	minter := token.NewMinter(keys, nil)
	g.Apps = app.NewService(st, keys, minter, catalogue, app.Options{Dev: cfg.Dev, Limit: cfg.Limits.Clients, Now: opt.Now, Log: log})
	if err := g.checkKey(ctx); err != nil {
		st.Close()
		return nil, err
	}
	g.Users = user.NewService(st, user.NewHasher(argon, cfg.SignIn.HashConcurrency), user.ThrottlePolicy{
		PerAccount: cfg.SignIn.MaxFailuresPerAccount, PerAddress: cfg.SignIn.MaxFailuresPerAddress, Window: cfg.SignIn.FailureWindow,
	}, opt.Now)
	l := cfg.Lifetimes
	g.OAuth = oauth.New(oauth.Settings{
		Issuer: cfg.BaseURL, CodeTTL: l.Code, AccessTTL: l.AccessToken, RefreshIdle: l.RefreshIdle,
		RefreshAbsolute: l.RefreshMax, RefreshGrace: store.ReuseGrace{Window: l.RefreshGrace, Max: l.RefreshGraceReuses}, RefreshCap: cfg.Limits.RefreshTokensPerUserClient,
		CompatQuery: cfg.Compat.QueryParameters,
	}, st, g.Apps, catalogue, minter, opt.Now, log)
	g.Admin = admin.New(st, g.Apps, g.Users, audit.New(st, opt.Now, log), opt.Now)
	g.Pages, err = web.New(g.OAuth, g.Users, g.Admin, st, catalogue, keys, log, web.Options{
		Sessions: web.SessionOptions{Idle: l.SessionIdle, Absolute: l.SessionMax, Secure: !cfg.Dev},
		Now:      opt.Now, HSTS: !cfg.Dev,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	return g, nil
}

// OpenStore opens (and migrates) the configured database: PostgreSQL when
// database.url is set, else the SQLite file in the data directory.
func OpenStore(ctx context.Context, cfg config.Config) (store.Store, error) {
	if cfg.Database.URL != "" {
		p := cfg.Database.Pool
		return sqlstore.OpenPostgres(ctx, cfg.Database.URL, sqlstore.PoolSettings{
			MaxOpenConns: p.MaxOpenConns, MaxIdleConns: p.MaxIdleConns,
			ConnMaxLifetime: p.ConnMaxLifetime, ConnMaxIdleTime: p.ConnMaxIdleTime,
		})
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	return sqlstore.OpenSQLite(ctx, cfg.SQLitePath())
}

// Close releases the store.
func (g *Gatehouse) Close() error { return g.Store.Close() }

// Handler is the whole HTTP surface of a node.
func (g *Gatehouse) Handler() http.Handler {
	mux := http.NewServeMux()
	g.OAuth.Register(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", g.handleReady)
	adminapi.New(g.Admin, g.Users, g.OAuth, g.Pages, g.Log).Register(mux)
	mux.Handle("/", g.Pages.Handler())
	var h http.Handler = mux
	h = logRequests(g.Log, h)
	h = clientip.NewResolver(g.Config.TrustedProxies).Middleware(h)
	h = recoverPanics(g.Log, h)
	if !g.Config.Dev {
		h = hsts(h)
	}
	return h
}

// handleReady answers 200 only while the database answers.
func (g *Gatehouse) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := g.Store.CountUsers(ctx); err != nil {
		g.Log.Warn("not ready", "error", err)
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ready\n"))
}

// Serve answers on ln until ctx ends, then shuts down gracefully.
func (g *Gatehouse) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           g.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(g.Log.Handler(), slog.LevelWarn),
	}
	go g.runJanitor(ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

func newNodeID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}
