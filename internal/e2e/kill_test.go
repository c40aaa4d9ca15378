package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// loadPlan is a bounded closed-loop load: client-credentials tokens and
// refresh-token chains, spread round-robin over targets.
type loadPlan struct {
	targets     []string // base URLs
	cc          createdClient
	chainClient createdClient
	chains      []string // one starting refresh token per chain worker
	ccWorkers   int
	maxRequests int64
	maxDuration time.Duration
	// at is called once, on the worker that sends request number atRequest.
	atRequest int64
	at        func()
	// stop, when closed, ends the run early.
	stop <-chan struct{}
}

// loadResult is what the clients saw.
type loadResult struct {
	sent, ok    int64
	errs        map[string]int
	accessToken []string // every client-credentials token answered 200
	lastRefresh []string // the newest refresh token each chain holds
}

func (r loadResult) String() string {
	return fmt.Sprintf("%d requests, %d answered 200, errors %v", r.sent, r.ok, r.errs)
}

var loadHTTP = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func post(base, path string, f url.Values, id, secretValue string) (int, tokenResult, error) {
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secretValue)
	resp, err := loadHTTP.Do(req)
	if err != nil {
		return 0, tokenResult{}, err
	}
	defer resp.Body.Close()
	r := tokenResult{status: resp.StatusCode}
	json.NewDecoder(resp.Body).Decode(&r.body)
	return resp.StatusCode, r, nil
}

func runLoad(p loadPlan) loadResult {
	var (
		sent, ok atomic.Int64
		mu       sync.Mutex
		res      = loadResult{errs: map[string]int{}, lastRefresh: append([]string(nil), p.chains...)}
		wg       sync.WaitGroup
		next     atomic.Uint64
	)
	deadline := time.Now().Add(p.maxDuration)
	fail := func(kind string) {
		mu.Lock()
		res.errs[kind]++
		mu.Unlock()
	}
	// claim reserves a request slot and fires the plan's event on its turn.
	claim := func() bool {
		select {
		case <-p.stop:
			return false
		default:
		}
		n := sent.Add(1)
		if n > p.maxRequests || time.Now().After(deadline) {
			sent.Add(-1)
			return false
		}
		if n == p.atRequest && p.at != nil {
			p.at()
		}
		return true
	}
	target := func() string { return p.targets[next.Add(1)%uint64(len(p.targets))] }
	for range p.ccWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for claim() {
				status, r, err := post(target(), "/rest/oauth2/latest/token", form("grant_type", "client_credentials"), p.cc.ID, p.cc.Secret)
				if err != nil {
					fail("connection")
					continue
				}
				if status != http.StatusOK {
					fail(fmt.Sprint(status))
					continue
				}
				ok.Add(1)
				mu.Lock()
				res.accessToken = append(res.accessToken, r.str("access_token"))
				mu.Unlock()
			}
		}()
	}
	for i := range p.chains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			current := p.chains[i]
			for claim() {
				// A request whose answer was lost (node killed) is retried with the
				// same token on the next node, as a client would: the grace window
				// makes that safe.
				status, r, err := post(target(), "/rest/oauth2/latest/token", form("grant_type", "refresh_token", "refresh_token", current), p.chainClient.ID, p.chainClient.Secret)
				if err != nil {
					fail("connection")
					continue
				}
				if status != http.StatusOK {
					fail(fmt.Sprint(status))
					continue
				}
				ok.Add(1)
				current = r.str("refresh_token")
				mu.Lock()
				res.lastRefresh[i] = current
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.sent, res.ok = sent.Load(), ok.Load()
	return res
}

// verifyLoad checks through base that every client-credentials token answered
// 200 is still active, and that every chain can go on: its newest refresh
// token refreshes. (If the kill cut off a rotation's answer, the server may
// have rotated that token already; the client's retry inside the grace window
// must still succeed, as it would in production.) It returns how many
// credentials it verified.
func verifyLoad(t *testing.T, base string, p loadPlan, r loadResult) int {
	t.Helper()
	e := &env{t: t, base: base}
	for _, tok := range r.accessToken {
		if !e.active(tok, p.cc.ID, p.cc.Secret) {
			t.Fatalf("a client-credentials token answered 200 is no longer active (%s)", r)
		}
	}
	for _, tok := range r.lastRefresh {
		next := e.token(form("grant_type", "refresh_token", "refresh_token", tok), p.chainClient.ID, p.chainClient.Secret)
		if next.status != http.StatusOK {
			t.Fatalf("a chain cannot go on after the kill: %d %s (%s)", next.status, next.raw, r)
		}
	}
	return len(r.accessToken) + len(r.lastRefresh)
}

// checkNoHalfWrittenRows looks for rows a torn transaction would leave.
func checkNoHalfWrittenRows(t *testing.T, db *sql.DB) {
	t.Helper()
	queries := map[string]string{
		"refresh token without its access token": `SELECT count(*) FROM tokens r WHERE r.kind = 'refresh' AND NOT EXISTS (SELECT 1 FROM tokens a WHERE a.hash = r.access_hash)`,
		"token without client":                   `SELECT count(*) FROM tokens t WHERE NOT EXISTS (SELECT 1 FROM clients c WHERE c.id = t.client_id)`,
		"token without scope or grant":           `SELECT count(*) FROM tokens WHERE scope = '' OR grant_id = ''`,
		"used code whose grant has no tokens":    `SELECT count(*) FROM codes c WHERE c.used_at <> 0 AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.grant_id = c.grant_id)`,
	}
	for what, q := range queries {
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if n != 0 {
			t.Errorf("%d rows: %s", n, what)
		}
	}
}

// chainStarts runs one authorization-code flow per chain and returns the refresh tokens.
func chainStarts(t *testing.T, e *env, b *browser, app createdClient, n int) []string {
	t.Helper()
	var out []string
	for range n {
		code := b.code(authParams(app.Client, "READ"))
		r := e.token(form("grant_type", "authorization_code", "code", code, "redirect_uri", callback), app.ID, app.Secret)
		if r.status != http.StatusOK {
			t.Fatalf("chain start: %d %s", r.status, r.raw)
		}
		out = append(out, r.str("refresh_token"))
	}
	return out
}

// The kill tests' clients retry a refresh whose answer was lost with the same
// token, so they run with the reuse window an operator opens for such clients
// (strict detection would rightly revoke those chains).
const killGrace = "GATEHOUSE_LIFETIMES_REFRESH_GRACE=10s"

func TestClusterSurvivesKillNineUnderLoad(t *testing.T) {
	c := newCluster(t, 3, killGrace)
	chainApp := c.createClient()
	ccApp := c.createClient("--grant", "client_credentials")
	e := c.balanced()
	plan := loadPlan{
		cc: ccApp, chainClient: chainApp, chains: chainStarts(t, e, c.signedIn(e), chainApp, 4),
		ccWorkers: 4, maxRequests: 3000, maxDuration: 30 * time.Second, atRequest: 1000,
	}
	for _, n := range c.nodes {
		plan.targets = append(plan.targets, "http://"+n.addr)
	}
	plan.at = func() { c.nodes[1].kill() }
	r := runLoad(plan)
	if r.ok < 1000 {
		t.Fatalf("too little got through: %s", r)
	}
	verified := verifyLoad(t, "http://"+c.nodes[2].addr, plan, r)
	checkNoHalfWrittenRows(t, c.db)
	t.Logf("three-node kill -9: %s; %d tokens verified active afterwards", r, verified)
}

func TestSQLiteSurvivesKillNineUnderLoad(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	settings := []string{"GATEHOUSE_ADMIN_PASSWORD=admin-password-123", killGrace}
	node := startProcess(t, bin, dir, addr, nil, settings)
	e := &env{t: t, base: "http://" + addr}
	created := func(args ...string) createdClient {
		return parseCreatedClient(t, cli(t, bin, dir, append([]string{"client", "create", "--name", "app " + strings.Join(args, " "), "--redirect-uri", callback, "--scope", "READ", "--json"}, args...)...))
	}
	chainApp, ccApp := created(), created("--grant", "client_credentials")
	b := e.newBrowser()
	b.signIn("admin", "admin-password-123")
	stop := make(chan struct{})
	plan := loadPlan{
		targets: []string{e.base}, cc: ccApp, chainClient: chainApp, chains: chainStarts(t, e, b, chainApp, 2),
		ccWorkers: 4, maxRequests: 2000, maxDuration: 30 * time.Second, atRequest: 1000,
		// The only node dies mid-run; the clients stop sending.
		at: func() { node.kill(); close(stop) }, stop: stop,
	}
	r := runLoad(plan)

	startProcess(t, bin, dir, addr, nil, settings) // restart on the same data directory
	verified := verifyLoad(t, e.base, plan, r)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "gatehouse-data", "gatehouse.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkNoHalfWrittenRows(t, db)
	t.Logf("SQLite kill -9: %s; %d tokens verified active after restart", r, verified)
}
