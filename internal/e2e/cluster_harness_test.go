package e2e

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// postgresURL returns the test server's URL; without one the test is skipped,
// except in CI, where PostgreSQL tests must run.
func postgresURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("GATEHOUSE_TEST_DATABASE_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("GATEHOUSE_TEST_DATABASE_URL is required in CI (run the tests through scripts/with-postgres.sh)")
		}
		t.Skip("set GATEHOUSE_TEST_DATABASE_URL (scripts/with-postgres.sh does) to run the cluster tests")
	}
	return u
}

// freshDatabase creates an empty database for one test and drops it afterwards.
func freshDatabase(t *testing.T) (dbURL string, db *sql.DB) {
	t.Helper()
	admin, err := sql.Open("pgx", postgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "cluster_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(postgresURL(t))
	u.Path = "/" + name
	db, err = sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		admin.Exec("DROP DATABASE " + name + " WITH (FORCE)")
		admin.Close()
	})
	return u.String(), db
}

// cluster is several `gatehouse serve` processes on one PostgreSQL database,
// behind a round-robin load balancer that is the public base URL.
type cluster struct {
	t     *testing.T
	bin   string
	dbURL string
	db    *sql.DB
	nodes []*process
	lb    *httptest.Server
	env   []string
	apps  int // applications created, for unique names
}

// newCluster starts n nodes; extraEnv are GATEHOUSE_* settings for every node.
func newCluster(t *testing.T, n int, extraEnv ...string) *cluster {
	t.Helper()
	dbURL, db := freshDatabase(t)
	c := &cluster{t: t, bin: buildBinary(t), dbURL: dbURL, db: db}
	var next atomic.Uint64
	c.lb = httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		alive := c.alive()
		target := alive[next.Add(1)%uint64(len(alive))]
		r.SetURL(&url.URL{Scheme: "http", Host: target.addr})
		r.SetXForwarded()
	}})
	t.Cleanup(c.lb.Close)
	c.env = append([]string{
		"GATEHOUSE_SECRET_KEY=" + secret.GenerateMaster(),
		"GATEHOUSE_ADMIN_PASSWORD=admin-password-123",
		"GATEHOUSE_DATABASE_URL=" + dbURL,
		"GATEHOUSE_BASE_URL=" + c.lb.URL,
	}, extraEnv...)
	// All nodes start at once, as after a rolling deploy: migrations run once.
	type started struct {
		p   *process
		err error
	}
	results := make(chan started, n)
	for range n {
		addr, dir := freeAddr(t), t.TempDir()
		go func() {
			p, err := launch(c.bin, dir, addr, nil, c.env)
			results <- started{p, err}
		}()
	}
	var failure error
	for range n {
		r := <-results
		if r.p != nil {
			c.nodes = append(c.nodes, r.p)
			t.Cleanup(func() {
				r.p.kill()
				if t.Failed() {
					t.Logf("output of the node on %s:\n%s", r.p.addr, r.p.logs.String())
				}
			})
		}
		if r.err != nil {
			failure = r.err
		}
	}
	if failure != nil {
		t.Fatal(failure)
	}
	return c
}

func (c *cluster) alive() []*process {
	var out []*process
	for _, p := range c.nodes {
		if !p.dead.Load() {
			out = append(out, p)
		}
	}
	return out
}

// node returns an env that talks to node i directly.
func (c *cluster) node(i int) *env {
	return &env{t: c.t, base: "http://" + c.nodes[i].addr}
}

// balanced returns an env that talks through the load balancer.
func (c *cluster) balanced() *env { return &env{t: c.t, base: c.lb.URL} }

// cli runs a management command against the cluster's database.
func (c *cluster) cli(args ...string) string {
	c.t.Helper()
	out, errOut, err := runCLIEnv(c.bin, c.t.TempDir(), c.env, args...)
	if err != nil {
		c.t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

type createdClient struct {
	store.Client
	Secret string
}

// createClient registers an application through the CLI.
func (c *cluster) createClient(args ...string) createdClient {
	c.t.Helper()
	c.apps++ // application names are unique
	return parseCreatedClient(c.t, c.cli(append([]string{"client", "create", "--name", fmt.Sprint("Cluster app ", c.apps), "--redirect-uri", callback, "--scope", "READ", "--scope", "WRITE", "--json"}, args...)...))
}

// parseCreatedClient reads the JSON that `client create --json` prints.
func parseCreatedClient(t *testing.T, out string) createdClient {
	t.Helper()
	var j struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(out), &j); err != nil || j.ID == "" {
		t.Fatalf("client create printed %q", out)
	}
	return createdClient{Client: store.Client{ID: j.ID}, Secret: j.Secret}
}

// count runs a COUNT query against the cluster's database.
func (c *cluster) count(query string, args ...any) int {
	c.t.Helper()
	var n int
	if err := c.db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		c.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// signedIn returns a browser signed in on node i as the cluster's admin.
func (c *cluster) signedIn(e *env) *browser {
	c.t.Helper()
	b := e.newBrowser()
	if p := b.signIn("admin", "admin-password-123"); p.status != http.StatusSeeOther {
		c.t.Fatalf("sign-in: %d %s", p.status, strings.TrimSpace(p.body))
	}
	return b
}
