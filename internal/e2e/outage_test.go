package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testnode"
)

// TestDatabaseOutageAnswers503 cuts a node off its PostgreSQL database in the
// middle of the test, as a stopped server or a failover does: the database
// stops accepting connections and its sessions are terminated. Every door
// must then answer 503 with Retry-After in its own form (OAuth JSON, admin
// API JSON, one HTML page), /readyz must say why, and everything must work
// again once the database is back, without a restart. The node's log says
// when the database went away and when it came back, once each, beside the
// requests' own lines.
func TestDatabaseOutageAnswers503(t *testing.T) {
	dbURL, _ := freshDatabase(t)
	u, _ := url.Parse(dbURL)
	outage := newOutage(t, strings.TrimPrefix(u.Path, "/"))
	var logs syncBuffer
	e := newLoggedEnv(t, &logs, func(c *config.Config) {
		c.Database.URL = dbURL
		c.Cache.ClientTTL = 0 // every request reads its application: no door is spared by the cache
	})
	e.createUser("root", "root-password", store.LevelSystemAdmin)
	c, secretValue := e.createClient(app.Registration{})
	root := e.newBrowser()
	if p := root.signIn("root", "root-password"); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", p.status)
	}
	tok := e.token(form("grant_type", "authorization_code", "code", root.code(authParams(c, "READ ADMIN")), "redirect_uri", callback), c.ID, secretValue)
	if tok.status != http.StatusOK {
		t.Fatalf("token: %d %s", tok.status, tok.raw)
	}
	access, refresh := tok.str("access_token"), tok.str("refresh_token")

	outage.begin()

	oauthJSON := map[string]tokenResult{
		"token":      e.token(form("grant_type", "refresh_token", "refresh_token", refresh), c.ID, secretValue),
		"introspect": e.postForm("/rest/oauth2/latest/introspect", form("token", access), c.ID, secretValue),
		"revoke":     e.postForm("/rest/oauth2/latest/revoke", form("token", access), c.ID, secretValue),
		"myself":     e.myself(access),
	}
	for name, r := range oauthJSON {
		t.Run(name, func(t *testing.T) {
			wantError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
			wantRetryAfter(t, r.header)
		})
	}
	adminJSON := map[string]tokenResult{
		"admin API with a token":   e.bearerGET("/rest/oauth2/latest/client", access),
		"admin API with a session": root.apiGET("/rest/oauth2/latest/client"),
	}
	for name, r := range adminJSON {
		t.Run(name, func(t *testing.T) {
			if r.status != http.StatusServiceUnavailable || r.str("error") != "temporarily_unavailable" || r.str("message") == "" {
				t.Fatalf("got %d %s; want 503 with the API's JSON error temporarily_unavailable", r.status, r.raw)
			}
			wantRetryAfter(t, r.header)
		})
	}
	// A visitor without a session reads nothing from the database to see the
	// sign-in page, so it still shows; signing in needs the database.
	visitor := e.newBrowser()
	if p := visitor.get("/login"); p.status != http.StatusOK || strings.Count(p.body, "<!doctype html>") != 1 {
		t.Fatalf("the sign-in page without a session: %d", p.status)
	}
	signIn := visitor.post("/login", set(formFields(visitor.get("/login").body), "username", "root", "password", "root-password"))
	pages := map[string]page{
		"authorize":                    e.newBrowser().get("/rest/oauth2/latest/authorize?" + authParams(c, "READ").Encode()),
		"authorize, signed in":         root.get("/rest/oauth2/latest/authorize?" + authParams(c, "READ").Encode()),
		"signing in":                   signIn,
		"sign-in page, with a session": root.get("/login"),
		"console":                      root.get("/admin/apps"),
	}
	for name, p := range pages {
		t.Run(name, func(t *testing.T) {
			if p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "cannot reach its database") {
				t.Fatalf("got %d; want the 503 error page:\n%s", p.status, p.body)
			}
			if n := strings.Count(p.body, "<!doctype html>"); n != 1 {
				t.Fatalf("the answer holds %d HTML documents, want 1:\n%s", n, p.body)
			}
			wantRetryAfter(t, p.header)
		})
	}
	t.Run("readyz", func(t *testing.T) {
		r := e.get("/readyz")
		if r.status != http.StatusServiceUnavailable || !strings.Contains(r.raw, "database unavailable") {
			t.Fatalf("readyz during the outage: %d %q; want 503 saying the database is unavailable", r.status, r.raw)
		}
	})
	if got := strings.Count(logs.String(), `msg="database unavailable"`); got != 1 {
		t.Errorf("%d lines say the database is unavailable during the outage, want 1:\n%s", got, logs.String())
	}

	outage.end()

	deadline := time.Now().Add(10 * time.Second)
	for e.get("/readyz").status != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("not ready 10 s after the database came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if back := regexp.MustCompile(`level=INFO msg="database available again" after=\S+ failures=(\d+)`).FindStringSubmatch(logs.String()); back == nil || back[1] == "0" {
		t.Errorf("no line says the database is available again, with how long it was away and how many calls failed:\n%s", logs.String())
	}
	// Nothing was half-done during the outage: the refresh token still works.
	again := e.token(form("grant_type", "refresh_token", "refresh_token", refresh), c.ID, secretValue)
	if again.status != http.StatusOK {
		t.Fatalf("refresh after the outage: %d %s", again.status, again.raw)
	}
	if me := e.myself(again.str("access_token")); me.status != http.StatusOK || me.str("name") != "root" {
		t.Fatalf("myself after the outage: %d %s", me.status, me.raw)
	}
	if !e.active(again.str("access_token"), c.ID, secretValue) {
		t.Fatal("new access token not active after the outage")
	}
	if r := root.apiGET("/rest/oauth2/latest/client"); r.status != http.StatusOK {
		t.Fatalf("admin API after the outage: %d %s", r.status, r.raw)
	}
	if p := root.get("/admin/apps"); p.status != http.StatusOK || !strings.Contains(p.body, c.Name) {
		t.Fatalf("console after the outage: %d", p.status)
	}
	if p := e.newBrowser().get("/login"); p.status != http.StatusOK || strings.Count(p.body, "<!doctype html>") != 1 {
		t.Fatalf("sign-in page after the outage: %d", p.status)
	}
}

// outage cuts a database off and brings it back, through a connection to
// another database of the same server.
type outage struct {
	t     *testing.T
	admin *sql.DB
	name  string
}

func newOutage(t *testing.T, name string) *outage {
	admin, err := sql.Open("pgx", postgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	o := &outage{t: t, admin: admin, name: name}
	t.Cleanup(func() {
		o.end() // so that freshDatabase's cleanup finds it as it was
		admin.Close()
	})
	return o
}

// begin refuses new connections to the database, even a superuser's, and
// ends every session on it, then waits until none has been left for
// outageSettle. A connection the node was opening as connections were
// refused can have passed PostgreSQL's check of the database before it
// shows in pg_stat_activity: it would slip past one round of terminations
// and quietly end the outage, so any session that shows up is ended too.
func (o *outage) begin() {
	o.t.Helper()
	o.exec(fmt.Sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS false", o.name))
	deadline := time.Now().Add(10 * time.Second)
	var emptySince time.Time
	for {
		var n int
		if err := o.admin.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", o.name).Scan(&n); err != nil {
			o.t.Fatal(err)
		}
		switch {
		case n > 0:
			emptySince = time.Time{}
			o.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", o.name)
		case emptySince.IsZero():
			emptySince = time.Now()
		case time.Since(emptySince) >= outageSettle:
			return
		}
		if time.Now().After(deadline) {
			o.t.Fatalf("sessions still come and go on %s 10 s after connections were refused (%d now)", o.name, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// outageSettle is how long no session may be seen on the database before an
// outage counts as begun: far longer than a connection takes to start.
const outageSettle = 300 * time.Millisecond

// end accepts connections again.
func (o *outage) end() {
	o.t.Helper()
	o.exec(fmt.Sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS true", o.name))
}

func (o *outage) exec(query string, args ...any) {
	o.t.Helper()
	if _, err := o.admin.Exec(query, args...); err != nil {
		o.t.Fatalf("%s: %v", query, err)
	}
}

func wantRetryAfter(t *testing.T, h http.Header) {
	t.Helper()
	if got := h.Get("Retry-After"); got != store.RetryAfterSeconds {
		t.Errorf("Retry-After = %q, want %q", got, store.RetryAfterSeconds)
	}
}

// get fetches path without credentials.
func (e *env) get(path string) tokenResult {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.base+path, nil)
	return e.send(req)
}

// bearerGET fetches path with a Bearer token.
func (e *env) bearerGET(path, accessToken string) tokenResult {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	return e.send(req)
}

// apiGET fetches an admin API path with the browser's session.
func (b *browser) apiGET(path string) tokenResult {
	b.e.t.Helper()
	p := b.get(path)
	r := tokenResult{status: p.status, header: p.header, raw: p.body}
	json.Unmarshal([]byte(p.body), &r.body)
	return r
}

// TestStalledDatabaseAnswers503InTime: a database that stops answering
// without closing its connections (a frozen server, a lock held by a stuck
// session) holds a request only until its deadline: the client gets 503
// with Retry-After in time, not a connection the server closed with no
// answer after its write timeout, and the node serves again once the
// database does.
func TestStalledDatabaseAnswers503InTime(t *testing.T) {
	dbURL, db := freshDatabase(t)
	n := testnode.Start(t, testnode.Options{Server: server.Options{AnswerWithin: time.Second}}, func(c *config.Config) { c.Database.URL = dbURL })
	e := &env{t: t, node: n.Gatehouse, base: n.BaseURL, clock: &clock{t: time.Now()}}
	c, secretValue := e.createClient(app.Registration{Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}})
	grant := form("grant_type", "client_credentials", "scope", "READ")
	wantOK(t, e.token(grant, c.ID, secretValue))

	stuck, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Rollback()
	if _, err := stuck.Exec("LOCK TABLE tokens IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := e.token(grant, c.ID, secretValue)
	took := time.Since(start)
	wantError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
	wantRetryAfter(t, r.header)
	if took > 5*time.Second {
		t.Errorf("the answer took %v with a 1 s deadline", took)
	}

	stuck.Rollback()
	wantOK(t, e.token(grant, c.ID, secretValue))
}
