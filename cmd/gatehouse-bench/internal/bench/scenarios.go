package bench

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// target is what the workers load: the nodes, the bench application and the users.
type target struct {
	nodes  []node
	client Client
	basic  string // the Authorization header value for the client
	scope  string
	users  []Credentials
	// integration is the bench integration's ID (integration-token).
	integration string
	// setupDeadline bounds every exchange made before the measured runs.
	setupDeadline time.Time
}

// nodeFor spreads workers round-robin over the nodes.
func (t *target) nodeFor(i int) node { return t.nodes[i%len(t.nodes)] }

func (t *target) userFor(i int) Credentials { return t.users[i%len(t.users)] }

func (t *target) setupConn(n node) *conn {
	c := newConn(n)
	c.setDeadline(t.setupDeadline)
	return c
}

// basicAuth is the client's HTTP Basic credentials, form-encoded first (RFC 6749 §2.3.1).
func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// worker is one closed loop: prepare (unmeasured, may be nil) then op, again and again.
type worker struct {
	conn    *conn
	prepare func() *failure
	op      func() *failure
	stats   stats
}

// newWorkerFunc makes worker i on its connection, doing its unmeasured setup.
type newWorkerFunc func(i int, c *conn) (*worker, error)

// scenario is one kind of operation.
type scenario struct {
	about  string
	client bool // needs the bench application
	// integration: needs the bench integration authorized (Options.Integration)
	integration bool
	scopes      []string // the application's scopes unless told (default DefaultScopes)
	users       bool     // needs one user per worker
	// servedByTool: the tool serves the bare handler itself when given no URL.
	servedByTool bool
	// build prepares what the workers share (unmeasured) and returns how to
	// make each worker.
	build func(t *target) (newWorkerFunc, error)
}

var scenarios = map[string]scenario{
	"client-credentials": {
		about:  "POST token grant_type=client_credentials with Basic auth; 200 with an access_token",
		client: true,
		build:  buildClientCredentials,
	},
	"introspect": {
		about:  "POST introspect of tokens from a pool of 256 (minted first, not measured); 200 with \"active\":true",
		client: true,
		build:  buildIntrospect,
	},
	"bearer": {
		about:  "GET /rest/api/latest/myself with Bearer user tokens (4 per worker, from the authorization code flow); 200",
		client: true, users: true,
		build: buildBearer,
	},
	"refresh": {
		about:  "grant_type=refresh_token, one rotation chain per worker, each request using the previous answer's refresh token; 200 with a new refresh_token",
		client: true, users: true,
		build: buildRefresh,
	},
	"authcode": {
		about:  "one whole authorization code flow with PKCE through the sign-in and consent pages (signed in once per worker; consent answered each flow); 200 with an access_token",
		client: true, users: true,
		build: buildAuthcode,
	},
	"integration-token": {
		about:  "GET the bench integration's access token from the vault (token API) with a client-credentials token holding INTEGRATION_TOKEN, among --other-integrations (10,000) others; 200 with an access_token",
		client: true, integration: true, scopes: IntegrationScopes,
		build: buildIntegrationToken,
	},
	"signin": {
		about: "GET /login and POST /login with a fresh session each time; a redirect after sign-in",
		users: true,
		build: buildSignin,
	},
	"ceiling": {
		about:        "GET of a bare handler served by the tool itself (or by `gatehouse-bench ceiling-server` at --url): this machine's HTTP ceiling",
		build:        buildCeiling(false),
		servedByTool: true,
	},
	"ceiling-post": {
		about:        "the ceiling's bare handler, POSTed an introspection-shaped request (Basic credentials, a token in a form) that it parses, answering as many bytes as an introspection: net/http's own part of a token endpoint request",
		build:        buildCeiling(true),
		servedByTool: true,
	},
	"ceiling-flow": {
		about:        "the authcode scenario's three exchanges (authorization request with a session cookie, Allow, code exchange) answered by bare handlers with as many bytes and the same headers as Gatehouse's, reading the cookie, query, form and Basic credentials and checking nothing: net/http's own part of a browser flow (against ceiling-server --floor-dir, which also stores the flow's code and tokens through a node's write path: the flow's floor; with --floor-storage gatehouse, what a node stores, through its own store)",
		build:        buildCeilingFlow,
		servedByTool: true,
	},
	"ceiling-client-credentials": {
		about:        "the client-credentials scenario's requests answered by a bare handler with as many bytes and the same headers as Gatehouse's: net/http's own part of a token request (against ceiling-server --floor-dir, which also stores each token in one durable row through a node's write path: a token's floor; with --floor-storage gatehouse, through a node's own store)",
		build:        buildCeilingClientCredentials,
		servedByTool: true,
	},
	"ceiling-refresh": {
		about:        "the refresh scenario's rotations (each chain started by one ceiling-flow, not measured) answered by a bare handler with as many bytes and the same headers as Gatehouse's: net/http's own part of a rotation (against ceiling-server --floor-dir, which also stores the rotation's four row changes through a node's write path: the rotation's floor; with --floor-storage gatehouse, through a node's own store)",
		build:        buildCeilingRefresh,
		servedByTool: true,
	},
}

// ScenarioNames lists the scenarios, sorted.
func ScenarioNames() []string {
	names := make([]string, 0, len(scenarios))
	for n := range scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ScenarioHelp describes every scenario, one per line.
func ScenarioHelp() string {
	var b strings.Builder
	for _, n := range ScenarioNames() {
		fmt.Fprintf(&b, "  %-19s %s\n", n, scenarios[n].about)
	}
	return b.String()
}

// perNode prebuilds one request for every node.
func perNode(t *target, build func(n node) []byte) [][]byte {
	out := make([][]byte, len(t.nodes))
	for i, n := range t.nodes {
		out[i] = build(n)
	}
	return out
}

// doOK sends req and returns the answer's body, or the failure when the
// exchange fails or its answer is not a 200.
func doOK(c *conn, req []byte) ([]byte, *failure) {
	resp, body, err := c.do(req)
	if err != nil {
		return nil, transportFailure(err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusFailure(resp, body)
	}
	return body, nil
}

// accessTokenWorkers send reqs[i] (one per node) again and again, each
// answer a 200 with an access_token.
func accessTokenWorkers(reqs [][]byte) newWorkerFunc {
	return func(i int, c *conn) (*worker, error) {
		req := reqs[i%len(reqs)]
		return &worker{conn: c, op: func() *failure {
			body, f := doOK(c, req)
			if f != nil {
				return f
			}
			if tok, ok := jsonString(body, "access_token"); !ok || len(tok) == 0 {
				return badBody("no access_token", body)
			}
			return nil
		}}, nil
	}
}

func buildClientCredentials(t *target) (newWorkerFunc, error) {
	body := []byte("grant_type=client_credentials&scope=" + url.QueryEscape(t.scope))
	reqs := perNode(t, func(n node) []byte {
		var r request
		return r.start("POST", pathToken, n.host).header("Authorization", t.basic).form(body)
	})
	return accessTokenWorkers(reqs), nil
}

// clientToken gets an access token for the bench application
// (client_credentials, the scenario's scopes) from node n.
func (t *target) clientToken(c *conn, n node) (string, error) {
	var r request
	resp, body, err := c.do(r.start("POST", pathToken, n.host).header("Authorization", t.basic).
		form([]byte("grant_type=client_credentials&scope=" + url.QueryEscape(t.scope))))
	if err != nil {
		return "", err
	}
	tok, ok := jsonString(body, "access_token")
	if resp.StatusCode != http.StatusOK || !ok {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, snippet(body))
	}
	return string(tok), nil
}

func buildIntegrationToken(t *target) (newWorkerFunc, error) {
	if t.integration == "" {
		return nil, errors.New("no integration to ask for (Options.Integration)")
	}
	path := "/rest/gatehouse/latest/integrations/" + url.PathEscape(t.integration) + "/token"
	reqs := make([][]byte, len(t.nodes))
	for i, n := range t.nodes {
		c := t.setupConn(n)
		tok, err := t.clientToken(c, n)
		c.close()
		if err != nil {
			return nil, fmt.Errorf("get a client-credentials token with %s: %w", t.scope, err)
		}
		var r request
		reqs[i] = r.start("GET", path, n.host).header("Authorization", "Bearer "+tok).end(nil)
	}
	return accessTokenWorkers(reqs), nil
}

// introspectPool is how many access tokens the introspect scenario cycles through.
const introspectPool = 256

func buildIntrospect(t *target) (newWorkerFunc, error) {
	// Mint the pool with client_credentials, on the first node.
	c := t.setupConn(t.nodes[0])
	defer c.close()
	tokens := make([]string, 0, introspectPool)
	for range introspectPool {
		tok, err := t.clientToken(c, t.nodes[0])
		if err != nil {
			return nil, fmt.Errorf("mint the token pool: %w", err)
		}
		tokens = append(tokens, tok)
	}
	// One serialised request per node and token.
	reqs := make([][][]byte, len(t.nodes))
	for ni, n := range t.nodes {
		for _, tok := range tokens {
			var r request
			reqs[ni] = append(reqs[ni], r.start("POST", pathIntrospect, n.host).header("Authorization", t.basic).
				form([]byte("token="+url.QueryEscape(tok))))
		}
	}
	return func(i int, c *conn) (*worker, error) {
		mine := reqs[i%len(reqs)]
		next := (i * 37) % len(mine)
		return &worker{conn: c, op: func() *failure {
			req := mine[next]
			next = (next + 1) % len(mine)
			body, f := doOK(c, req)
			if f != nil {
				return f
			}
			if !jsonTrue(body, "active") {
				return badBody(`not "active":true`, body)
			}
			return nil
		}}, nil
	}, nil
}

// bearerTokensPerWorker stays well below the refresh cap (10 active refresh
// tokens per user and application), which would revoke older grants' tokens.
const bearerTokensPerWorker = 4

func buildBearer(t *target) (newWorkerFunc, error) {
	return func(i int, c *conn) (*worker, error) {
		b := &browser{t: t, n: t.nodeFor(i), c: c, user: t.userFor(i)}
		var reqs [][]byte
		for range bearerTokensPerWorker {
			body, f := b.flow()
			if f != nil {
				return nil, fmt.Errorf("worker %d: get a user token (as %s): %s: %s", i, b.user.Username, f.kind, f.detail)
			}
			tok, _ := jsonString(body, "access_token")
			var r request
			reqs = append(reqs, r.start("GET", pathMyself, b.n.host).header("Authorization", "Bearer "+string(tok)).end(nil))
		}
		next := 0
		return &worker{conn: c, op: func() *failure {
			req := reqs[next]
			next = (next + 1) % len(reqs)
			_, f := doOK(c, req)
			return f
		}}, nil
	}, nil
}

func buildRefresh(t *target) (newWorkerFunc, error) {
	return func(i int, c *conn) (*worker, error) {
		return refreshWorker(t, i, c, &browser{t: t, n: t.nodeFor(i), c: c, user: t.userFor(i)})
	}, nil
}

// refreshWorker rotates one refresh-token chain, which browser b starts
// with an authorization code flow.
func refreshWorker(t *target, i int, c *conn, b *browser) (*worker, error) {
	var current []byte // this chain's refresh token
	start := func() *failure {
		body, f := b.flow()
		if f != nil {
			return f
		}
		tok, ok := jsonString(body, "refresh_token")
		if !ok || len(tok) == 0 {
			return badBody("the code exchange gave no refresh_token", body)
		}
		current = append(current[:0], tok...)
		return nil
	}
	if f := start(); f != nil {
		return nil, fmt.Errorf("worker %d: start a refresh chain (as %s): %s: %s", i, b.user.Username, f.kind, f.detail)
	}
	prefix := []byte("grant_type=refresh_token&refresh_token=")
	var form []byte
	var r request
	w := &worker{conn: c}
	// A broken chain (an error left us without the current token) starts
	// again with a new authorization, outside the measured time.
	w.prepare = func() *failure {
		if len(current) > 0 {
			return nil
		}
		b.jar.reset()
		b.signedIn = false
		return start()
	}
	w.op = func() *failure {
		form = appendFormValue(append(form[:0], prefix...), current)
		req := r.start("POST", pathToken, b.n.host).header("Authorization", t.basic).form(form)
		current = current[:0]
		body, f := doOK(c, req)
		if f != nil {
			return f
		}
		tok, ok := jsonString(body, "refresh_token")
		if !ok || len(tok) == 0 {
			return badBody("no refresh_token", body)
		}
		current = append(current, tok...)
		return nil
	}
	return w, nil
}

func buildAuthcode(t *target) (newWorkerFunc, error) {
	return func(i int, c *conn) (*worker, error) {
		b := &browser{t: t, n: t.nodeFor(i), c: c, user: t.userFor(i)}
		if f := b.signIn(); f != nil {
			return nil, fmt.Errorf("worker %d: sign in as %s: %s: %s", i, b.user.Username, f.kind, f.detail)
		}
		return &worker{
			conn: c,
			// A lost session is signed in again outside the measured time.
			prepare: func() *failure {
				if b.signedIn {
					return nil
				}
				b.jar.reset()
				return b.signIn()
			},
			op: func() *failure {
				code, verifier, f := b.authorize()
				if f != nil {
					return f
				}
				_, f = b.redeem(code, verifier)
				return f
			},
		}, nil
	}, nil
}

func buildSignin(t *target) (newWorkerFunc, error) {
	return func(i int, c *conn) (*worker, error) {
		b := &browser{t: t, n: t.nodeFor(i), c: c, user: t.userFor(i)}
		return &worker{conn: c, op: func() *failure {
			b.jar.reset() // a fresh session every time
			return b.signIn()
		}}, nil
	}, nil
}

// CeilingPath is what the ceiling scenario asks for.
const CeilingPath = "/ceiling"

// ceilingToken and ceilingSecret are what ceiling-post sends: made up, as
// long as a Gatehouse access token and client secret (the handler reads them
// and checks nothing).
var (
	ceilingToken  = "gat_" + strings.Repeat("A", 51)
	ceilingSecret = "gcs_" + strings.Repeat("A", 51)
)

func buildCeiling(post bool) func(t *target) (newWorkerFunc, error) {
	return func(t *target) (newWorkerFunc, error) {
		reqs := perNode(t, func(n node) []byte {
			var r request
			if post {
				return r.start("POST", CeilingPath, n.host).header("Authorization", basicAuth(strings.Repeat("0", 32), ceilingSecret)).
					form([]byte("token=" + ceilingToken))
			}
			return r.start("GET", CeilingPath, n.host).end(nil)
		})
		return func(i int, c *conn) (*worker, error) {
			req := reqs[i%len(reqs)]
			return &worker{conn: c, op: func() *failure {
				_, f := doOK(c, req)
				return f
			}}, nil
		}, nil
	}
}

// buildCeilingFlow runs authcode's browser against the ceiling handlers,
// signed in by cookies of the names and lengths Gatehouse sets, as an
// application with an ID and secret as long as Gatehouse's.
func buildCeilingFlow(t *target) (newWorkerFunc, error) {
	ceilingClient(t)
	return func(i int, c *conn) (*worker, error) {
		b := ceilingBrowser(t, i, c)
		return &worker{conn: c, op: func() *failure {
			_, f := b.flow()
			return f
		}}, nil
	}, nil
}

func buildCeilingClientCredentials(t *target) (newWorkerFunc, error) {
	ceilingClient(t)
	return buildClientCredentials(t)
}

func buildCeilingRefresh(t *target) (newWorkerFunc, error) {
	ceilingClient(t)
	return func(i int, c *conn) (*worker, error) {
		return refreshWorker(t, i, c, ceilingBrowser(t, i, c))
	}, nil
}

// ceilingClient names the application the ceiling server's handlers expect
// credentials of, unless provisioned.
func ceilingClient(t *target) {
	if t.client.ID == "" {
		t.client.ID = strings.Repeat("0", 32)
		t.basic = basicAuth(t.client.ID, ceilingSecret)
	}
}

// ceilingBrowser is a browser holding the cookies of a signed-in one, which
// the ceiling server's pages ask for and do not check.
func ceilingBrowser(t *target, i int, c *conn) *browser {
	b := &browser{t: t, n: t.nodeFor(i), c: c, signedIn: true}
	b.jar.update(http.Header{"Set-Cookie": {ceilingSession, ceilingFormCookie}})
	return b
}

// appendFormValue appends v form-encoded, copying it as it is when it needs
// no escaping (tokens are base64url).
func appendFormValue(dst, v []byte) []byte {
	for _, ch := range v {
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			return append(dst, url.QueryEscape(string(v))...)
		}
	}
	return append(dst, v...)
}
