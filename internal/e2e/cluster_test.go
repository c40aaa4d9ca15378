package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// together runs fn(i) for i in [0,n) on n goroutines released at the same moment.
func together(n int, fn func(i int)) {
	var ready, done sync.WaitGroup
	release := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-release
			fn(i)
		}()
	}
	ready.Wait()
	close(release)
	done.Wait()
}

func TestClusterFlowAcrossNodes(t *testing.T) {
	c := newCluster(t, 3)
	app := c.createClient()
	n1, n2, n3 := c.node(0), c.node(1), c.node(2)

	// Sign in on node 1 and start the request there.
	b := c.signedIn(n1)
	start := b.get("/rest/oauth2/latest/authorize?" + authParams(app.Client, "READ WRITE").Encode())
	consentPath := start.location().RequestURI()
	// Consent on node 2: the session and the request live in the shared database.
	b.e = n2
	consent := b.get(consentPath)
	redirect := b.decide(consent, "allow")
	if redirect.Query().Get("iss") != c.lb.URL {
		t.Fatalf("iss %q, want the load balancer's base URL", redirect.Query().Get("iss"))
	}
	// Token on node 3.
	tok := n3.token(form("grant_type", "authorization_code", "code", redirect.Query().Get("code"), "redirect_uri", callback), app.ID, app.Secret)
	if tok.status != http.StatusOK {
		t.Fatalf("token on node 3: %d %s", tok.status, tok.raw)
	}
	for i, e := range []*env{n1, n2, n3} {
		if me := e.myself(tok.str("access_token")); me.status != http.StatusOK {
			t.Fatalf("myself on node %d: %d", i+1, me.status)
		}
	}
}

func TestClusterCodeRedeemedOnceAcrossNodes(t *testing.T) {
	c := newCluster(t, 3)
	app := c.createClient()
	b := c.signedIn(c.balanced())
	for round := range 5 {
		code := b.code(authParams(app.Client, "READ"))
		results := make([]tokenResult, 3)
		together(3, func(i int) {
			results[i] = c.node(i).token(form("grant_type", "authorization_code", "code", code, "redirect_uri", callback), app.ID, app.Secret)
		})
		var winners []tokenResult
		for _, r := range results {
			switch {
			case r.status == http.StatusOK:
				winners = append(winners, r)
			case r.str("error") != "invalid_grant":
				t.Fatalf("round %d: a loser got %d %s", round, r.status, r.raw)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("round %d: %d nodes redeemed the code, want exactly 1", round, len(winners))
		}
		// The replays revoked what the code issued, on every node at once.
		for i := range 3 {
			if c.node(i).active(winners[0].str("access_token"), app.ID, app.Secret) || c.node(i).active(winners[0].str("refresh_token"), app.ID, app.Secret) {
				t.Fatalf("round %d: node %d still accepts the replayed code's tokens", round, i+1)
			}
		}
	}
}

// refreshOnAllNodes rotates one refresh token on every node at once.
func refreshOnAllNodes(t *testing.T, c *cluster, app createdClient) (first tokenResult, results []tokenResult) {
	t.Helper()
	b := c.signedIn(c.balanced())
	code := b.code(authParams(app.Client, "READ"))
	first = c.node(0).token(form("grant_type", "authorization_code", "code", code, "redirect_uri", callback), app.ID, app.Secret)
	results = make([]tokenResult, len(c.nodes))
	together(len(c.nodes), func(i int) {
		results[i] = c.node(i).token(form("grant_type", "refresh_token", "refresh_token", first.str("refresh_token")), app.ID, app.Secret)
	})
	return first, results
}

func TestClusterRefreshRotationStrict(t *testing.T) {
	c := newCluster(t, 3, "GATEHOUSE_LIFETIMES_REFRESH_GRACE=0")
	app := c.createClient()
	for round := range 3 {
		_, results := refreshOnAllNodes(t, c, app)
		ok := 0
		var winner tokenResult
		for _, r := range results {
			if r.status == http.StatusOK {
				ok, winner = ok+1, r
			} else if r.str("error") != "invalid_grant" {
				t.Fatalf("round %d: %d %s", round, r.status, r.raw)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d rotations succeeded with grace 0, want exactly 1", round, ok)
		}
		// Strict reuse detection: the losers' reuse revoked the whole chain.
		if c.node(2).active(winner.str("refresh_token"), app.ID, app.Secret) {
			t.Fatalf("round %d: the chain survived a detected reuse", round)
		}
	}
}

// With a grace window admitting two reuses, three nodes racing with one
// refresh token all succeed; a fourth use is past the count and revokes the
// whole grant, every pair minted in the race included.
func TestClusterRefreshRotationWithGrace(t *testing.T) {
	c := newCluster(t, 3, "GATEHOUSE_LIFETIMES_REFRESH_GRACE=10s", "GATEHOUSE_LIFETIMES_REFRESH_GRACE_REUSES=2")
	app := c.createClient()
	first, results := refreshOnAllNodes(t, c, app)
	for i, r := range results {
		if r.status != http.StatusOK {
			t.Fatalf("node %d: %d %s; racing refreshes inside the grace window and count must all succeed", i+1, r.status, r.raw)
		}
		if !c.node((i+1)%3).active(r.str("refresh_token"), app.ID, app.Secret) {
			t.Fatalf("node %d's new refresh token is not active", i+1)
		}
	}
	if c.node(0).active(first.str("access_token"), app.ID, app.Secret) || c.node(0).active(first.str("refresh_token"), app.ID, app.Secret) {
		t.Fatal("the rotated pair is still active")
	}
	again := c.node(1).token(form("grant_type", "refresh_token", "refresh_token", first.str("refresh_token")), app.ID, app.Secret)
	if again.status != http.StatusBadRequest || again.str("error") != "invalid_grant" {
		t.Fatalf("a reuse past the count: %d %s, want invalid_grant", again.status, again.raw)
	}
	for i, r := range results {
		if c.node(2).active(r.str("refresh_token"), app.ID, app.Secret) || c.node(2).active(r.str("access_token"), app.ID, app.Secret) {
			t.Fatalf("node %d's pair survived a reuse past the count", i+1)
		}
	}
}

func TestClusterRefreshCapUnderConcurrency(t *testing.T) {
	c := newCluster(t, 3, "GATEHOUSE_LIMITS_REFRESH_TOKENS_PER_USER_CLIENT=4")
	app := c.createClient()
	b := c.signedIn(c.balanced())
	codes := make([]string, 12)
	for i := range codes {
		codes[i] = b.code(authParams(app.Client, "READ"))
	}
	together(len(codes), func(i int) {
		r := c.node(i%3).token(form("grant_type", "authorization_code", "code", codes[i], "redirect_uri", callback), app.ID, app.Secret)
		if r.status != http.StatusOK {
			t.Errorf("code %d: %d %s", i, r.status, r.raw)
		}
	})
	active := c.count(`SELECT count(*) FROM tokens WHERE kind = 'refresh' AND client_id = $1 AND revoked_at = 0 AND rotated_at = 0`, app.ID)
	if active != 4 {
		t.Fatalf("%d active refresh tokens after 12 concurrent issues with cap 4", active)
	}
}

func TestClusterApplicationLimitUnderConcurrency(t *testing.T) {
	c := newCluster(t, 1, "GATEHOUSE_LIMITS_CLIENTS=5")
	var mu sync.Mutex
	created := 0
	dir := t.TempDir()
	together(8, func(i int) {
		_, _, err := runCLIEnv(c.bin, dir, c.env, "client", "create", "--name", fmt.Sprint("app ", i), "--grant", "client_credentials", "--scope", "READ")
		if err == nil {
			mu.Lock()
			created++
			mu.Unlock()
		}
	})
	if n := c.count(`SELECT count(*) FROM clients`); n != 5 || created != 5 {
		t.Fatalf("%d applications exist (%d creations succeeded), want exactly 5", n, created)
	}
}

func TestClusterRevocationIsImmediateEverywhere(t *testing.T) {
	c := newCluster(t, 3)
	app := c.createClient()
	b := c.signedIn(c.balanced())
	code := b.code(authParams(app.Client, "READ"))
	tok := c.node(0).token(form("grant_type", "authorization_code", "code", code, "redirect_uri", callback), app.ID, app.Secret)
	for i := range 3 { // warm every node with the token first
		if me := c.node(i).myself(tok.str("access_token")); me.status != http.StatusOK {
			t.Fatalf("node %d: %d", i+1, me.status)
		}
	}
	if r := c.node(1).postForm("/rest/oauth2/latest/revoke", form("token", tok.str("refresh_token")), app.ID, app.Secret); r.status != http.StatusOK {
		t.Fatalf("revoke: %d", r.status)
	}
	for i := range 3 {
		if me := c.node(i).myself(tok.str("access_token")); me.status != http.StatusUnauthorized {
			t.Fatalf("node %d still accepts a revoked token: %d", i+1, me.status)
		}
	}
}

func TestClusterSignInThrottleAcrossNodes(t *testing.T) {
	c := newCluster(t, 3)
	for i := range 5 {
		if p := c.node(i%3).newBrowser().signIn("admin", "wrong-password"); p.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, p.status)
		}
	}
	p := c.node(2).newBrowser().signIn("admin", "admin-password-123")
	if p.status != http.StatusTooManyRequests {
		t.Fatalf("sixth attempt, right password, on another node: %d; want 429", p.status)
	}
}

func TestClusterJanitorRunsOnOneNode(t *testing.T) {
	c := newCluster(t, 3, "GATEHOUSE_JANITOR_INTERVAL=1s")
	holder := func() string {
		var h string
		c.db.QueryRow(`SELECT holder FROM locks WHERE name = 'janitor'`).Scan(&h)
		return h
	}
	first := holder()
	if first == "" {
		t.Fatal("no node holds the janitor lease")
	}
	// The lease stays with one node while it lives.
	for range 4 {
		time.Sleep(500 * time.Millisecond)
		if h := holder(); h != first {
			t.Fatalf("lease moved from %s to %s while its holder lived", first, h)
		}
	}
	// Kill the holder: another node takes over once the lease expires.
	var victim int = -1
	for i, p := range c.nodes {
		if strings.Contains(first, "-"+pidOf(p)+"-") {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatalf("holder %q is none of the nodes", first)
	}
	c.nodes[victim].kill()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if h := holder(); h != first && h != "" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("no node took the janitor over after its holder died")
}

func pidOf(p *process) string { return strconv.Itoa(p.cmd.Process.Pid) }

// A refresh token revoked (RFC 7009) on one node while it is being
// refreshed on another leaves nothing of its grant alive, whichever lands
// first: the pair the refresh may hand out is revoked with the rest.
func TestClusterRevocationRacingARefreshLeavesNothingAlive(t *testing.T) {
	c := newCluster(t, 2)
	app := c.createClient()
	b := c.signedIn(c.balanced())
	for round := range 15 {
		code := b.code(authParams(app.Client, "READ"))
		first := c.node(0).token(form("grant_type", "authorization_code", "code", code, "redirect_uri", callback), app.ID, app.Secret)
		var refreshed, revoked tokenResult
		together(2, func(i int) {
			if i == 0 {
				refreshed = c.node(0).token(form("grant_type", "refresh_token", "refresh_token", first.str("refresh_token")), app.ID, app.Secret)
				return
			}
			revoked = c.node(1).postForm("/rest/oauth2/latest/revoke", form("token", first.str("refresh_token")), app.ID, app.Secret)
		})
		if revoked.status != http.StatusOK {
			t.Fatalf("round %d: revoke: %d %s", round, revoked.status, revoked.raw)
		}
		switch {
		case refreshed.status == http.StatusOK:
			for i := range 2 {
				for _, tok := range []string{refreshed.str("access_token"), refreshed.str("refresh_token")} {
					if c.node(i).active(tok, app.ID, app.Secret) {
						t.Fatalf("round %d: node %d accepts a token the refresh handed out as its grant was revoked", round, i+1)
					}
				}
			}
		case refreshed.str("error") != "invalid_grant":
			t.Fatalf("round %d: refresh: %d %s", round, refreshed.status, refreshed.raw)
		}
	}
}
