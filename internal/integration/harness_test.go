package integration

import (
	"bytes"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/testprovider"
)

var root = Actor{Username: "root", Level: store.LevelSystemAdmin, Address: "127.0.0.1"}

// env is a Service on a fresh SQLite store, its log kept for inspection.
type env struct {
	t     testing.TB
	s     *Service
	store *sqlstore.Store
	path  string
	logs  *syncBuffer
}

func newEnv(t testing.TB, mutate ...func(*Options)) *env {
	t.Helper()
	dbPath := filepath.Join(t.TempDir(), "gatehouse.db")
	st, err := sqlstore.OpenSQLite(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	master := make([]byte, secret.KeySize)
	rand.Read(master)
	keys, err := secret.New(master)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	o := Options{
		BaseURL: "https://gatehouse.example.com", Dev: true, Node: "node-a", RequestTimeout: 3 * time.Second,
		PollInterval: 200 * time.Millisecond, Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mutate {
		m(&o)
	}
	return &env{t: t, s: New(st, keys, o), store: st, path: dbPath, logs: logs}
}

// useStandIn points the preset of provider at the stand-in p.
func (e *env) useStandIn(provider string, p *testprovider.Provider) {
	auth, token, userinfo := p.Endpoints()
	pr := e.s.presets[provider]
	pr.authURL, pr.tokenURL, pr.userinfoURL = auth, token, userinfo
	e.s.presets[provider] = pr
}

// create adds an integration with the stand-in's client credentials.
func (e *env) create(st Settings, p *testprovider.Provider) store.Integration {
	e.t.Helper()
	if st.Name == "" {
		st.Name = "Mail"
	}
	if p != nil {
		st.ClientID, st.ClientSecret = p.ClientID(), p.ClientSecret()
		if st.Provider == Custom && st.AuthURL == "" {
			st.AuthURL, st.TokenURL, st.UserinfoURL = p.Endpoints()
		}
	}
	in, err := e.s.Create(e.t.Context(), root, st)
	if err != nil {
		e.t.Fatalf("Create: %v", err)
	}
	return in
}

// binding is the console session's binding in these tests.
var binding = []byte("the administrator's browser session")

// authorize runs the whole authorization against the stand-in, as the
// console does, and returns its completion.
func (e *env) authorize(id string, p *testprovider.Provider) Completion {
	e.t.Helper()
	u, _, err := e.s.StartAuthorization(e.t.Context(), root, id, binding)
	if err != nil {
		e.t.Fatalf("StartAuthorization: %v", err)
	}
	redirect, q := p.Approve(e.t, u)
	c, err := e.s.CompleteAuthorization(e.t.Context(), Callback{Key: path.Base(redirect), Query: q, Binding: binding})
	if err != nil {
		e.t.Fatalf("CompleteAuthorization: %v", err)
	}
	return c
}

// authorized is authorize that must succeed.
func (e *env) authorized(id string, p *testprovider.Provider) store.Integration {
	e.t.Helper()
	c := e.authorize(id, p)
	if c.Failure != nil {
		e.t.Fatalf("authorization failed: %v", c.Failure)
	}
	return c.Integration
}

func (e *env) get(id string) store.Integration {
	e.t.Helper()
	in, err := e.store.IntegrationByID(e.t.Context(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return in
}

// tokens opens the vault of id.
func (e *env) tokens(id string) sealedTokens {
	e.t.Helper()
	t, ok, err := e.s.open(e.get(id))
	if err != nil || !ok {
		e.t.Fatalf("open the vault: %v, %v", ok, err)
	}
	return t
}

// noSecretsLogged fails when any of the values is in the log.
func (e *env) noSecretsLogged(values ...string) {
	e.t.Helper()
	logs := e.logs.String()
	for _, v := range values {
		if v != "" && strings.Contains(logs, v) {
			e.t.Errorf("the log holds a secret value %.12s…:\n%s", v, logs)
		}
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// readFile returns a file's bytes as a string; "" when it does not exist.
func readFile(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

func containsString(haystack, needle string) bool {
	return needle != "" && strings.Contains(haystack, needle)
}
