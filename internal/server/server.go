package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/adminapi"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/clientip"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/heapfloor"
	"github.com/gatehouse/gatehouse/internal/integration"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/reqlog"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/session"
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
	// Integrations are the outgoing OAuth 2.0 integrations; Metrics the
	// node's Prometheus registry, served at /metrics (metrics.go).
	Integrations *integration.Service
	Mail         *mail.Service // the incoming mail servers
	Metrics      *prometheus.Registry
	nodeMetrics  nodeMetrics
	// purgeBatch is the most rows of one janitor transaction (purgeBatch; tests shrink it).
	purgeBatch int
	// deletingSeen holds the applications a janitor pass found deleting,
	// for the next pass (finishDeletions).
	deletingMu   sync.Mutex
	deletingSeen map[string]bool
	hasher       *user.Hasher
	hashWorker   func() *exec.Cmd
	// answerWithin is each request's deadline (Options.AnswerWithin).
	answerWithin time.Duration
}

// Options are the seams tests control.
type Options struct {
	Now    func() time.Time
	Argon2 *user.Argon2Params // nil: user.DefaultArgon2
	// HashWorker, when set, starts the process that derives password keys
	// (user.ServeHashWorker at low priority; `gatehouse hash-worker`), so
	// that sign-ins neither hold up other requests nor grow this process's
	// memory, once EnableHashWorker is called (before serving); until then,
	// and when nil, keys are derived in this process.
	HashWorker func() *exec.Cmd
	// KeepSchema, for management commands, refuses a SQLite database whose
	// schema is behind this binary's instead of migrating it under a node
	// that may be running (sqlstore.SQLiteOptions.KeepSchema).
	KeepSchema bool
	// AnswerWithin bounds each request's work (default answerWithin): past
	// it, whatever the request still waits for ends and it is answered 503.
	AnswerWithin time.Duration
	// WaitForProviders, for the command line, has a caller wait for an
	// outside provider as long as its requests may take, rather than the
	// 20 s a node's HTTP answer may (integration.Options.AnswerWithin).
	WaitForProviders bool
}

// answerWithin is how long a request to a node on PostgreSQL may work: 5 s
// under the server's WriteTimeout (30 s), so that even a request held up by
// a database that stopped answering (without closing its connections) gets
// its 503 written rather than a closed connection, and stops waiting.
const answerWithin = 25 * time.Second

// Open builds a node from a validated configuration.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger, opt Options) (*Gatehouse, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	argon := user.DefaultArgon2
	if opt.Argon2 != nil {
		argon = *opt.Argon2
	}
	if err := databaseBesideKey(cfg); err != nil {
		return nil, err
	}
	catalogue, err := scope.Load(cfg.Scopes.Catalogue)
	if err != nil {
		return nil, err
	}
	db, err := openStore(ctx, cfg, opt.KeepSchema)
	if err != nil {
		return nil, err
	}
	logMigration(log, db.Migrated(), cfg)
	db.LogOutages(log)
	// The key is made once the database exists: a first start that failed
	// before would otherwise leave a key that databaseBesideKey refuses.
	keys, err := loadKeys(ctx, cfg, log, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	st := store.NewClientCache(db, cfg.Cache.ClientTTL, opt.Now)
	g := &Gatehouse{Config: cfg, Store: st, Keys: keys, Scopes: catalogue, Log: log, Now: opt.Now, nodeID: newNodeID(), purgeBatch: purgeBatch,
		Metrics: prometheus.NewRegistry(), answerWithin: cmp.Or(opt.AnswerWithin, answerWithin)}
	minter := token.NewMinter(keys, nil)
	g.Apps = app.NewService(st, keys, minter, catalogue, app.Options{Dev: cfg.Dev, Limit: cfg.Limits.Clients, Now: opt.Now, Log: log})
	if err := g.checkKey(ctx); err != nil {
		st.Close()
		return nil, err
	}
	g.hasher = user.NewHasher(argon, cfg.SignIn.HashConcurrency)
	g.hashWorker = opt.HashWorker
	g.Users = user.NewService(st, g.hasher, user.ThrottlePolicy{
		PerAccount: cfg.SignIn.MaxFailuresPerAccount, PerAddress: cfg.SignIn.MaxFailuresPerAddress, Window: cfg.SignIn.FailureWindow,
	}, opt.Now)
	l := cfg.Lifetimes
	g.OAuth = oauth.New(oauth.Settings{
		Issuer: cfg.BaseURL, CodeTTL: l.Code, AccessTTL: l.AccessToken, RefreshIdle: l.RefreshIdle,
		RefreshAbsolute: l.RefreshMax, RefreshGrace: store.ReuseGrace{Window: l.RefreshGrace, Max: l.RefreshGraceReuses}, RefreshCap: cfg.Limits.RefreshTokensPerUserClient,
		CompatQuery: cfg.Compat.QueryParameters,
	}, st, g.Apps, catalogue, minter, opt.Now, log)
	g.Admin = admin.New(st, g.Apps, g.Users, audit.New(st, opt.Now, log), opt.Now)
	g.openIntegrations(opt.WaitForProviders)
	g.Mail = mail.NewService(st, keys, g.Integrations, mail.Options{Dev: cfg.Dev, Now: opt.Now, Log: log})
	g.Pages, err = web.New(g.OAuth, g.Users, g.Admin, st, catalogue, keys, log, web.Options{
		Sessions: session.Options{Idle: l.SessionIdle, Absolute: l.SessionMax, Secure: !cfg.Dev},
		Now:      opt.Now, HSTS: !cfg.Dev, Integrations: g.Integrations, Mail: g.Mail,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	g.registerMetrics(db)
	if err := db.SchemaAhead(); err != nil {
		log.Warn("database schema ahead of this build", "error", err)
	}
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	return g, nil
}

// logMigration says what opening the store did to its schema, if anything;
// a new database is named, so that one made in an unintended place (a
// relative data_dir read from another working directory) is seen at once.
func logMigration(log *slog.Logger, m sqlstore.Migration, cfg config.Config) {
	switch {
	case m.From == m.To:
	case m.From == 0:
		log.Info("database created", "store", StoreTarget(cfg), "schema_version", m.To, "took", m.Took.Round(time.Millisecond))
	default:
		log.Info("database schema migrated", "from_version", m.From, "to_version", m.To, "took", m.Took.Round(time.Millisecond))
	}
}

// loadKeys reads the master key and derives the keys. The key file is made
// only for a database that holds nothing sealed yet (a first start): for
// one that does, a new key would open nothing.
func loadKeys(ctx context.Context, cfg config.Config, log *slog.Logger, db store.KeyCheck) (*secret.Keys, error) {
	if cfg.SecretKey == "" {
		warnOpenKeyFile(log, filepath.Join(cfg.DataDir, secret.KeyFileName))
	}
	master, err := secret.ReadMaster(cfg.DataDir, cfg.SecretKey)
	if errors.Is(err, fs.ErrNotExist) {
		if _, kerr := db.KeyCheck(ctx); !errors.Is(kerr, store.ErrNotFound) {
			if kerr != nil {
				return nil, kerr
			}
			return nil, fmt.Errorf("refusing to start: %s holds no %s, yet the data in this database was sealed with a secret key: start with that key (GATEHOUSE_SECRET_KEY, or its %s restored into the data directory); no new key was made",
				cfg.DataDir, secret.KeyFileName, secret.KeyFileName)
		}
		master, err = secret.LoadMaster(cfg.DataDir, "")
	}
	if err != nil {
		return nil, err
	}
	return secret.New(master)
}

// warnOpenKeyFile says so when the key file could be read by other users
// (copied in under a umask's 0644): ReadMaster takes those permissions away,
// but whoever could log in on the machine meanwhile may hold the key, which
// opens every sealed secret.
func warnOpenKeyFile(log *slog.Logger, path string) {
	if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
		log.Warn("the secret key file was readable by other users; it is now readable by this user only. Whoever could read it may hold the key: consider who could log in on this machine",
			"file", path, "mode", fmt.Sprintf("%04o", info.Mode().Perm()))
	}
}

// databaseBesideKey refuses a SQLite data directory that holds secret.key
// but no database: the database was deleted or moved, and a new, empty one
// made in its place would serve with none of its users and applications.
func databaseBesideKey(cfg config.Config) error {
	if cfg.Database.URL != "" {
		return nil
	}
	key := filepath.Join(cfg.DataDir, secret.KeyFileName)
	if _, err := os.Stat(key); err != nil {
		return nil // a new data directory, or a key given another way
	}
	// An empty file is no database either (one truncated, or made by touch).
	if info, err := os.Stat(cfg.SQLitePath()); errors.Is(err, fs.ErrNotExist) || err == nil && info.Size() == 0 {
		return fmt.Errorf("%s holds %s but no %s (or an empty one): the database was deleted, moved or emptied. Restore it (docs/operations.md, \"Backups and restore\"); to start afresh on purpose, move %s away first",
			cfg.DataDir, secret.KeyFileName, filepath.Base(cfg.SQLitePath()), secret.KeyFileName)
	}
	return nil
}

// OpenStore opens (and migrates) the configured database: PostgreSQL when
// database.url is set, else the SQLite file in the data directory.
func OpenStore(ctx context.Context, cfg config.Config) (*sqlstore.Store, error) {
	if err := databaseBesideKey(cfg); err != nil {
		return nil, err
	}
	return openStore(ctx, cfg, false)
}

// openStore is OpenStore; keepSchema is Options.KeepSchema.
func openStore(ctx context.Context, cfg config.Config, keepSchema bool) (*sqlstore.Store, error) {
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
	return sqlstore.OpenSQLiteWith(ctx, cfg.SQLitePath(), sqlstore.SQLiteOptions{
		NormalSync: cfg.Database.SQLiteSynchronous == "normal", KeepSchema: keepSchema,
		BesideNode: keepSchema, // a management command, perhaps beside a running node
	})
}

// StoreTarget names the database cfg selects, for messages: the PostgreSQL
// database, host and port (never the password), or the SQLite file.
func StoreTarget(cfg config.Config) string {
	if cfg.Database.URL == "" {
		if cfg.Database.SQLiteSynchronous == "normal" {
			return "SQLite file " + cfg.SQLitePath() + " (sqlite_synchronous=normal: a power cut may lose the last writes)"
		}
		return "SQLite file " + cfg.SQLitePath()
	}
	target, err := sqlstore.PostgresTarget(cfg.Database.URL)
	if err != nil {
		return "PostgreSQL (the URL does not parse)"
	}
	return target
}

// EnableHashWorker moves password hashing to the worker process of
// Options.HashWorker, if any. Call it before serving: the start's own hash
// (the first administrator's) is quicker in process than through a worker
// that must start first. While hashes are under way (and a few seconds
// after) the node sets its heap floor aside, and each time a worker starts
// it calls workerStarted (if not nil) in a goroutine of its own: the node
// then gives back what it can, so that the two processes together hold
// little more than one did.
func (g *Gatehouse) EnableHashWorker(workerStarted func()) {
	if g.hashWorker == nil {
		return
	}
	start := g.hashWorker
	g.hasher.UseWorkerProcess(func() *exec.Cmd {
		if workerStarted != nil {
			go workerStarted()
		}
		return start()
	}, heapfloor.SetAside)
}

// Close waits for the integrations' refreshes under way, then releases the
// store and stops the hash worker.
func (g *Gatehouse) Close() error {
	g.Integrations.Wait()
	g.hasher.Close()
	return g.Store.Close()
}

// AdminAPI is the admin REST API with every part a node serves.
func (g *Gatehouse) AdminAPI() *adminapi.API {
	return adminapi.New(g.Admin, g.Users, g.OAuth, g.Pages.Sessions(), g.Log).AddIntegrations(g.Integrations, g.Scopes).AddMail(g.Mail)
}

// Handler is the whole HTTP surface of a node.
func (g *Gatehouse) Handler() http.Handler {
	mux := http.NewServeMux()
	g.OAuth.Register(mux)
	probes := []string{"/healthz", "/readyz"}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", g.handleReady)
	g.AdminAPI().Register(mux)
	if g.Config.Metrics.Listen == "" {
		mux.Handle("GET /metrics", g.handleMetrics())
		probes = append(probes, "/metrics")
	}
	for _, path := range probes {
		// Another method would reach the pages' catch-all, a 404.
		mux.Handle(path, g.OAuth.MethodNotAllowed("GET, HEAD"))
	}
	mux.Handle("/", g.Pages.Handler())
	proxies := clientip.NewResolver(g.Config.TrustedProxies)
	h := reqlog.Middleware(g.Log, proxies, g.nodeMetrics.http.observe, reqlog.Route(mux))
	if g.Config.Database.URL != "" {
		// Only a database across a network stalls without an error; SQLite's
		// waits are bounded by its busy timeout (10 s), and a node on it
		// keeps the ~0.6 µs a deadline costs every request.
		h = withDeadline(g.answerWithin, h)
	}
	h = recoverPanics(g.Log, h)
	if !g.Config.Dev {
		h = hsts(h)
	}
	return h
}

// withDeadline gives every request's context a deadline d away: a store
// call still waiting then ends, and the request is answered 503
// (store.Unavailable).
func withDeadline(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// handleReady answers 200 only while the store can serve (store.Store.Ready).
func (g *Gatehouse) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := g.Store.Ready(ctx); err != nil {
		if r.Context().Err() != nil {
			// The prober hung up (or half-closed) before the answer: no word
			// about the database, which was not asked to the end.
			w.WriteHeader(oauth.StatusClientClosedRequest)
			return
		}
		g.Log.Warn("not ready", "error", err)
		http.Error(w, "database unavailable", http.StatusServiceUnavailable) // the log says why
		return
	}
	w.Write([]byte("ready\n"))
}

// Serve answers on ln until ctx ends, then shuts down gracefully. With
// tls.cert_file it answers HTTPS (HTTP/2 or 1.1) on ln, and with
// tls.redirect_listen also plain HTTP there, only to redirect to https.
// started, when not nil, is called once everything the node serves is set
// up (the TLS pair loaded, every listener bound), just before it serves.
func (g *Gatehouse) Serve(ctx context.Context, ln net.Listener, started func()) error {
	heapfloor.Keep(heapfloor.ServingNode)
	srv := &http.Server{
		Handler:           g.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(g.Log.Handler(), slog.LevelWarn),
	}
	servers := []*http.Server{srv}
	serve := srv.Serve
	if g.Config.TLS.Enabled() {
		cfg, err := g.tlsConfig()
		if err != nil {
			return err
		}
		srv.TLSConfig = cfg
		// The certificate comes from cfg.GetCertificate, not from files here.
		serve = func(ln net.Listener) error { return srv.ServeTLS(ln, "", "") }
	}
	errc := make(chan error, 3)
	if addr := g.Config.TLS.RedirectListen; addr != "" {
		redirect, err := g.redirectServer(addr, errc)
		if err != nil {
			return err
		}
		servers = append(servers, redirect)
	}
	if addr := g.Config.Metrics.Listen; addr != "" {
		metrics, err := g.metricsServer(addr, errc)
		if err != nil {
			for _, s := range servers[1:] { // the redirect listener
				s.Close()
			}
			return err
		}
		servers = append(servers, metrics)
	}
	if started != nil {
		started()
	}
	janitorCtx, stopJanitor := context.WithCancel(ctx)
	janitor := make(chan struct{})
	// The janitor gives its lease back before the store closes.
	defer func() { stopJanitor(); <-janitor }()
	go func() { defer close(janitor); g.runJanitor(janitorCtx) }()
	refresherCtx, stopRefresher := context.WithCancel(ctx)
	refresher := make(chan struct{})
	// A refresh under way stores what the provider answered before Serve returns.
	defer func() { stopRefresher(); <-refresher }()
	go g.runRefresher(refresherCtx, refresher)
	go func() { errc <- serve(ln) }()
	var err error
	select {
	case err = <-errc: // a listener failed: stop the others too
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range servers {
		err = errors.Join(err, s.Shutdown(shutdown))
	}
	return err
}

// redirectServer listens on addr and serves redirectToHTTPS there, sending
// the error that ends it to errc.
func (g *Gatehouse) redirectServer(addr string, errc chan<- error) (*http.Server, error) {
	h, err := redirectToHTTPS(g.Config.BaseURL)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tls.redirect_listen: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          slog.NewLogLogger(g.Log.Handler(), slog.LevelWarn),
	}
	g.Log.Info("redirecting plain http to https", "listen", ln.Addr().String(), "to", g.Config.BaseURL)
	go func() { errc <- srv.Serve(ln) }()
	return srv, nil
}

func newNodeID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}
