package e2e

import (
	"github.com/gatehouse/gatehouse/internal/audit"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
)

const tokenContentType = "application/json;charset=UTF-8"

// RFC 6749 §5.1 and §5.2: every token-endpoint answer, success or error, is
// JSON and must not be cached.
func TestTokenResponseHeaders(t *testing.T) {
	w := newWorld(t, app.Registration{Grants: []string{app.GrantAuthorizationCode, app.GrantRefreshToken, app.GrantClientCredentials}})
	pair := w.issue(w.alice, w.client, w.secret, "READ")
	code, verifier := pkceCode(w.alice, w.client, "READ")
	cases := []struct {
		name   string
		status int
		send   func() tokenResult
	}{
		{"authorization_code success", http.StatusOK, func() tokenResult {
			return w.redeem(w.client, w.secret, code, "code_verifier", verifier)
		}},
		{"refresh_token success", http.StatusOK, func() tokenResult { return w.refresh(w.client, w.secret, pair.str("refresh_token")) }},
		{"client_credentials success", http.StatusOK, func() tokenResult {
			return w.token(form("grant_type", "client_credentials", "scope", "READ"), w.client.ID, w.secret)
		}},
		{"invalid_grant", http.StatusBadRequest, func() tokenResult {
			return w.redeem(w.client, w.secret, "gac_nope", "code_verifier", verifier)
		}},
		{"invalid_client", http.StatusUnauthorized, func() tokenResult {
			return w.token(form("grant_type", "client_credentials"), w.client.ID, "gcs_wrong")
		}},
		{"unsupported_grant_type", http.StatusBadRequest, func() tokenResult {
			return w.token(form("grant_type", "password"), w.client.ID, w.secret)
		}},
		{"invalid_scope", http.StatusBadRequest, func() tokenResult {
			return w.token(form("grant_type", "client_credentials", "scope", "NOPE"), w.client.ID, w.secret)
		}},
		{"method not allowed", http.StatusMethodNotAllowed, func() tokenResult { return w.request("GET", pathToken, "", nil) }},
		{"body too large", http.StatusRequestEntityTooLarge, func() tokenResult {
			return w.request("POST", pathToken, formType, strings.NewReader("x="+strings.Repeat("a", 100<<10)))
		}},
		{"parameters in the query string", http.StatusBadRequest, func() tokenResult {
			return w.request("POST", pathToken+"?grant_type=client_credentials", "", nil, withBasic(w.client.ID, w.secret))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.send()
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.raw)
			}
			if got := r.header.Get("Content-Type"); got != tokenContentType {
				t.Fatalf("Content-Type %q, want %q", got, tokenContentType)
			}
			if got := r.header.Get("Cache-Control"); got != "no-store" {
				t.Fatalf("Cache-Control %q, want no-store", got)
			}
			if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Fatalf("X-Content-Type-Options %q, want nosniff", got)
			}
			if r.body == nil {
				t.Fatalf("body is not JSON: %q", r.raw)
			}
		})
	}
}

// Sign-in and consent pages cannot be framed.
func TestPagesCannotBeFramed(t *testing.T) {
	w := newWorld(t, app.Registration{})
	pages := map[string]func() page{
		"login page":   func() page { return w.newBrowser().get("/login") },
		"consent page": func() page { return w.alice.authorize(authParams(w.client, "READ")) },
		"error page":   func() page { return w.newBrowser().get("/rest/oauth2/latest/authorize?client_id=nope") },
	}
	for name, get := range pages {
		t.Run(name, func(t *testing.T) {
			p := get()
			if p.status >= 500 || p.status == http.StatusFound {
				t.Fatalf("status %d", p.status)
			}
			if got := p.header.Get("X-Frame-Options"); got != "DENY" {
				t.Fatalf("X-Frame-Options %q, want DENY", got)
			}
			policy := p.header.Get("Content-Security-Policy")
			if !strings.Contains(policy, "frame-ancestors 'none'") || !strings.Contains(policy, "default-src 'none'") {
				t.Fatalf("Content-Security-Policy %q lacks frame-ancestors 'none'", policy)
			}
			if p.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("Cache-Control %q, want no-store", p.header.Get("Cache-Control"))
			}
		})
	}
	t.Run("the consent page's form-action allows only the redirect origin", func(t *testing.T) {
		p := w.alice.authorize(authParams(w.client, "READ"))
		if policy := p.header.Get("Content-Security-Policy"); !strings.Contains(policy, "form-action 'self' http://127.0.0.1:7777;") {
			t.Fatalf("Content-Security-Policy %q", policy)
		}
	})
}

func TestCSRF(t *testing.T) {
	signedIn := func(b *browser) bool {
		b.e.t.Helper()
		home := b.get("/")
		if home.status != http.StatusOK {
			b.e.t.Fatalf("home page: %d", home.status)
		}
		return !strings.Contains(home.body, textSignedOut)
	}
	loginForm := func(b *browser, password string) url.Values {
		return set(formFields(b.get("/login").body), "username", "alice", "password", password)
	}
	t.Run("sign-in without a CSRF token", func(t *testing.T) {
		e := newEnv(t)
		e.createUser("alice", alicePassword, store.LevelUser)
		b := e.newBrowser()
		p := b.post("/login", set(loginForm(b, alicePassword), "csrf_token", ""))
		if p.status != http.StatusForbidden || !strings.Contains(p.body, textCSRF) {
			t.Fatalf("got %d, want 403 with the CSRF message", p.status)
		}
		if signedIn(b) {
			t.Fatal("signed in without a CSRF token")
		}
		// Control: the same browser signs in with the token.
		if p := b.post("/login", loginForm(b, alicePassword)); p.status != http.StatusSeeOther || !signedIn(b) {
			t.Fatalf("sign-in with the token: %d", p.status)
		}
	})
	t.Run("sign-in with a wrong CSRF token", func(t *testing.T) {
		e := newEnv(t)
		e.createUser("alice", alicePassword, store.LevelUser)
		b := e.newBrowser()
		other := e.newBrowser()
		stolen := formFields(other.get("/login").body).Get("csrf_token")
		if p := b.post("/login", set(loginForm(b, alicePassword), "csrf_token", stolen)); p.status != http.StatusForbidden {
			t.Fatalf("got %d, want 403", p.status)
		}
		if signedIn(b) {
			t.Fatal("signed in with another session's CSRF token")
		}
	})
	t.Run("sign-in without any session", func(t *testing.T) {
		e := newEnv(t)
		e.createUser("alice", alicePassword, store.LevelUser)
		b := e.newBrowser()
		if p := b.post("/login", form("username", "alice", "password", alicePassword, "csrf_token", "x")); p.status != http.StatusForbidden {
			t.Fatalf("got %d, want 403", p.status)
		}
		if signedIn(b) {
			t.Fatal("signed in without a session")
		}
	})
	crossSite := []struct{ name, header, value string }{
		{"Sec-Fetch-Site cross-site", "Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site same-site", "Sec-Fetch-Site", "same-site"},
		{"a foreign Origin", "Origin", "https://evil.example"},
	}
	for _, cs := range crossSite {
		t.Run("sign-in with "+cs.name, func(t *testing.T) {
			e := newEnv(t)
			e.createUser("alice", alicePassword, store.LevelUser)
			b := e.newBrowser()
			req, _ := http.NewRequest("POST", e.base+"/login", strings.NewReader(loginForm(b, alicePassword).Encode()))
			req.Header.Set("Content-Type", formType)
			req.Header.Set(cs.header, cs.value)
			if p := b.do(req); p.status != http.StatusForbidden {
				t.Fatalf("got %d, want 403", p.status)
			}
			if signedIn(b) {
				t.Fatal("a cross-site sign-in succeeded")
			}
		})
		t.Run("consent with "+cs.name, func(t *testing.T) {
			w := newWorld(t, app.Registration{})
			fields := set(formFields(w.alice.authorize(authParams(w.client, "READ")).body), "decision", "allow")
			req, _ := http.NewRequest("POST", w.base+pathConsent, strings.NewReader(fields.Encode()))
			req.Header.Set("Content-Type", formType)
			req.Header.Set(cs.header, cs.value)
			p := w.alice.do(req)
			if p.status != http.StatusForbidden || p.header.Get("Location") != "" {
				t.Fatalf("got %d to %q, want 403 and no redirect", p.status, p.header.Get("Location"))
			}
		})
	}
	t.Run("consent without a CSRF token issues no code", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		fields := set(formFields(w.alice.authorize(authParams(w.client, "READ")).body), "decision", "allow", "csrf_token", "")
		p := w.alice.post(pathConsent, fields)
		if p.status != http.StatusForbidden || p.header.Get("Location") != "" || strings.Contains(p.body, "gac_") {
			t.Fatalf("got %d to %q, want 403 and no code", p.status, p.header.Get("Location"))
		}
		// Control: the same form with its token gives a code.
		fields = set(formFields(w.alice.authorize(authParams(w.client, "READ")).body), "decision", "allow")
		if p := w.alice.post(pathConsent, fields); p.status != http.StatusSeeOther || p.location().Query().Get("code") == "" {
			t.Fatalf("consent with the token: %d %q", p.status, p.header.Get("Location"))
		}
	})
	t.Run("sign-out without a CSRF token", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		if p := w.alice.post("/logout", url.Values{}); p.status != http.StatusForbidden {
			t.Fatalf("got %d, want 403", p.status)
		}
		if !signedIn(w.alice) {
			t.Fatal("signed out without a CSRF token")
		}
	})
}

func TestSignInThrottling(t *testing.T) {
	attempt := func(b *browser, username, password string) page {
		b.e.t.Helper()
		return b.signIn(username, password)
	}
	t.Run("five failures lock the account, even for the right password", func(t *testing.T) {
		e := newEnv(t)
		e.createUser("alice", alicePassword, store.LevelUser)
		b := e.newBrowser()
		for i := range 5 {
			if p := attempt(b, "alice", "wrong-password"); p.status != http.StatusUnauthorized || alert(p.body) != textLoginFailed {
				t.Fatalf("failure %d: %d %q", i+1, p.status, alert(p.body))
			}
		}
		p := attempt(b, "alice", alicePassword)
		if p.status != http.StatusTooManyRequests || alert(p.body) != textThrottled {
			t.Fatalf("6th attempt: %d %q, want 429 %q", p.status, alert(p.body), textThrottled)
		}
		// The window is fixed: its count is gone at the latest when it ends (15 minutes).
		if got := p.header.Get("Retry-After"); got != "900" {
			t.Fatalf("Retry-After %q, want 900", got)
		}
		if home := b.get("/"); !strings.Contains(home.body, textSignedOut) {
			t.Fatal("a throttled sign-in signed the user in")
		}
		// From another browser too: the limit is on the account.
		if p := attempt(e.newBrowser(), "Alice", alicePassword); p.status != http.StatusTooManyRequests {
			t.Fatalf("another browser: %d, want 429", p.status)
		}
		// Refused attempts go on being refused, and the audit log records the
		// lock once per window, not once per attempt: an anonymous caller
		// would otherwise write a durable row per request, without end.
		for range 20 {
			if p := attempt(e.newBrowser(), "alice", "wrong-password"); p.status != http.StatusTooManyRequests {
				t.Fatalf("a further attempt: %d, want 429", p.status)
			}
		}
		if list, err := e.node.Store.ListAudit(t.Context(), store.AuditFilter{Kind: audit.SignInThrottled}); err != nil || len(list) != 1 {
			t.Fatalf("%d %s events after 22 refused attempts (%v), want 1", len(list), audit.SignInThrottled, err)
		}
		// Other accounts are not locked.
		e.createUser("bob", "bob-password", store.LevelUser)
		if p := attempt(e.newBrowser(), "bob", "bob-password"); p.status != http.StatusSeeOther {
			t.Fatalf("bob: %d, want 303", p.status)
		}
		// After the window the account opens again.
		e.clock.Advance(16 * time.Minute)
		if p := attempt(b, "alice", alicePassword); p.status != http.StatusSeeOther {
			t.Fatalf("after the window: %d, want 303", p.status)
		}
	})
	t.Run("a browser that signed in before keeps its own count", func(t *testing.T) {
		e := newEnv(t)
		e.createUser("admin", "admin-password", store.LevelSystemAdmin)
		owner := e.newBrowser()
		if p := attempt(owner, "admin", "admin-password"); p.status != http.StatusSeeOther {
			t.Fatalf("the owner's first sign-in: %d", p.status)
		}
		owner.post("/logout", url.Values{"csrf_token": {owner.csrf()}})
		// Anyone can lock a well-known account out of browsers it was never
		// used in …
		for range 5 {
			attempt(e.newBrowser(), "admin", "wrong-password")
		}
		if p := attempt(e.newBrowser(), "admin", "admin-password"); p.status != http.StatusTooManyRequests {
			t.Fatalf("a new browser after five failures elsewhere: %d, want 429", p.status)
		}
		// A mark that was tampered with is no mark.
		base, _ := url.Parse(e.base)
		for _, c := range owner.http.Jar.Cookies(base) {
			if c.Name == "gatehouse_device" {
				forger := e.newBrowser()
				forger.http.Jar.SetCookies(base, []*http.Cookie{{Name: c.Name, Value: c.Value[:len(c.Value)-2] + "AA", Path: "/login"}})
				if p := attempt(forger, "admin", "admin-password"); p.status != http.StatusTooManyRequests {
					t.Fatalf("a tampered device mark: %d, want 429", p.status)
				}
			}
		}
		// … but not out of the owner's, which counts its own failures.
		if p := attempt(owner, "admin", "admin-password"); p.status != http.StatusSeeOther {
			t.Fatalf("the owner's browser after five failures elsewhere: %d %q, want signed in", p.status, alert(p.body))
		}
		owner.post("/logout", url.Values{"csrf_token": {owner.csrf()}})
		for range 5 {
			attempt(owner, "admin", "wrong-password")
		}
		if p := attempt(owner, "admin", "admin-password"); p.status != http.StatusTooManyRequests {
			t.Fatalf("the owner's browser after its own five failures: %d, want 429", p.status)
		}
		// The mark is the account's own: it does not open another account.
		e.createUser("bob", "bob-password", store.LevelUser)
		for range 5 {
			attempt(e.newBrowser(), "bob", "wrong-password")
		}
		if p := attempt(owner, "bob", "bob-password"); p.status != http.StatusTooManyRequests {
			t.Fatalf("another account from the owner's browser: %d, want 429", p.status)
		}
		// The mark lasts 90 days from the last sign-in.
		e.clock.Advance(91 * 24 * time.Hour)
		for range 5 {
			attempt(e.newBrowser(), "admin", "wrong-password")
		}
		if p := attempt(owner, "admin", "admin-password"); p.status != http.StatusTooManyRequests {
			t.Fatalf("the owner's browser 91 days on: %d, want 429", p.status)
		}
	})
	t.Run("re-entering the password is throttled and audited like a sign-in", func(t *testing.T) {
		e := newEnv(t)
		e.createUser("root", "root-password", store.LevelSystemAdmin)
		b := e.newBrowser()
		if p := b.signIn("root", "root-password"); p.status != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", p.status)
		}
		reauth := func(password string) page {
			return b.post("/admin/reauth", url.Values{"csrf_token": {b.csrf()}, "password": {password}, "next": {"/admin"}})
		}
		for i := range 5 {
			if p := reauth("wrong-password"); p.status != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d, want 401", i+1, p.status)
			}
		}
		p := reauth("root-password")
		if p.status != http.StatusTooManyRequests || alert(p.body) != textThrottled || p.header.Get("Retry-After") == "" {
			t.Fatalf("re-authentication of a locked account: %d %q, Retry-After %q; want 429 saying so",
				p.status, alert(p.body), p.header.Get("Retry-After"))
		}
		for kind, want := range map[string]int{audit.SignInFailure: 5, audit.SignInThrottled: 1} {
			list, err := e.node.Store.ListAudit(t.Context(), store.AuditFilter{Kind: kind})
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != want {
				t.Errorf("%d %s events, want %d", len(list), kind, want)
			}
		}
	})
	t.Run("a wrong user and a wrong password look the same", func(t *testing.T) {
		e := newEnv(t)
		e.createUser("alice", alicePassword, store.LevelUser)
		e.createUser("dora", "dora-password", store.LevelUser)
		e.node.Users.SetDisabled(t.Context(), "dora", true)
		wrongPassword := attempt(e.newBrowser(), "alice", "wrong-password")
		for name, p := range map[string]page{
			"unknown user":  attempt(e.newBrowser(), "nobody", "wrong-password"),
			"disabled user": attempt(e.newBrowser(), "dora", "dora-password"),
		} {
			if p.status != http.StatusUnauthorized || wrongPassword.status != http.StatusUnauthorized {
				t.Fatalf("%s: %d, wrong password: %d, want 401 both", name, p.status, wrongPassword.status)
			}
			if alert(p.body) != textLoginFailed || alert(wrongPassword.body) != alert(p.body) {
				t.Fatalf("%s: %q, wrong password: %q", name, alert(p.body), alert(wrongPassword.body))
			}
		}
	})
	t.Run("twenty failures from one address lock every account", func(t *testing.T) {
		e := newEnv(t)
		e.createUser("bob", "bob-password", store.LevelUser)
		for i := range 20 {
			// Four tries each on five accounts: no account reaches its own limit.
			name := []string{"u1", "u2", "u3", "u4", "u5"}[i%5]
			if p := attempt(e.newBrowser(), name, "wrong-password"); p.status != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d, want 401", i+1, p.status)
			}
		}
		p := attempt(e.newBrowser(), "bob", "bob-password")
		if p.status != http.StatusTooManyRequests || alert(p.body) != textThrottled {
			t.Fatalf("after 20 failures: %d %q, want 429", p.status, alert(p.body))
		}
	})
}

// The address limit applies to the address a trusted proxy reports.
func TestSignInThrottlingBehindProxy(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	e.createUser("bob", "bob-password", store.LevelUser)
	from := func(addr string) *browser {
		b := e.newBrowser()
		b.http.Transport = headerTransport{"X-Forwarded-For", addr}
		return b
	}
	for i := range 20 {
		if p := from("192.0.2.1").signIn([]string{"u1", "u2", "u3", "u4", "u5"}[i%5], "wrong-password"); p.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, p.status)
		}
	}
	if p := from("192.0.2.1").signIn("bob", "bob-password"); p.status != http.StatusTooManyRequests {
		t.Fatalf("from the throttled address: %d, want 429", p.status)
	}
	if p := from("192.0.2.2").signIn("bob", "bob-password"); p.status != http.StatusSeeOther {
		t.Fatalf("from another address: %d, want 303", p.status)
	}
}

// headerTransport adds one header to every request.
type headerTransport struct{ key, value string }

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h.key, h.value)
	return http.DefaultTransport.RoundTrip(r)
}

// After sign-in the browser goes back to the pending request, never off-site.
func TestSignInNextStaysOnSite(t *testing.T) {
	cases := []struct{ name, next, want string }{
		{"absolute URL", "https://evil.example/", "/"},
		{"scheme-relative URL", "//evil.example/", "/"},
		{"backslash", `/\evil.example/`, "/"},
		// Checking the raw value let path cleaning make these "/\evil.example/".
		{"backslash behind a dot segment", `/./\evil.example/`, "/"},
		{"backslash behind a parent segment", `/a/../\evil.example/`, "/"},
		{"encoded backslash", `/%5Cevil.example/`, "/"},
		{"slash after cleaning", `/.//evil.example/`, "/evil.example/"},
		{"tab", "/\tevil.example", "/"},
		{"fragment", "/#//evil.example", "/"},
		{"javascript URL", "javascript:alert(1)", "/"},
		{"header injection", "/\r\nSet-Cookie: x=y", "/"},
		{"empty", "", "/"},
		{"a path on the site (control)", "/plugins/servlet/oauth2/consent?client_id=x", "/plugins/servlet/oauth2/consent?client_id=x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.createUser("alice", alicePassword, store.LevelUser)
			b := e.newBrowser()
			fields := set(formFields(b.get("/login?"+url.Values{"next": {tc.next}}.Encode()).body), "username", "alice", "password", alicePassword)
			fields.Set("next", tc.next)
			p := b.post("/login", fields)
			if p.status != http.StatusSeeOther || p.header.Get("Location") != tc.want {
				t.Fatalf("got %d to %q, want 303 to %q", p.status, p.header.Get("Location"), tc.want)
			}
		})
	}
}

// Sign-in renews the session cookie, so a cookie planted before sign-in is worthless.
func TestSignInRenewsTheSession(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", alicePassword, store.LevelUser)
	b := e.newBrowser()
	sessionCookie := func(p page) *http.Cookie {
		t.Helper()
		for _, line := range p.header.Values("Set-Cookie") {
			c, err := http.ParseSetCookie(line)
			if err == nil && c.Name == "gatehouse_session" {
				if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
					t.Fatalf("session cookie %q lacks HttpOnly, SameSite=Lax or Path=/", line)
				}
				return c
			}
		}
		t.Fatalf("no session cookie in %v", p.header.Values("Set-Cookie"))
		return nil
	}
	// An attacker signs in with an account of their own and plants that
	// session's cookie in the victim's browser (session fixation).
	e.createUser("mallory", "mallory-password", store.LevelUser)
	planted := sessionCookie(e.newBrowser().signIn("mallory", "mallory-password"))
	base, _ := url.Parse(e.base)
	b.http.Jar.SetCookies(base, []*http.Cookie{{Name: "gatehouse_session", Value: planted.Value}})
	signedIn := sessionCookie(b.signIn("alice", alicePassword))
	if planted.Value == signedIn.Value {
		t.Fatal("sign-in kept the planted session token")
	}
	// The planted token does not carry the victim's sign-in.
	attacker := e.newBrowser()
	attacker.http.Jar.SetCookies(base, []*http.Cookie{{Name: "gatehouse_session", Value: planted.Value}})
	if home := attacker.get("/"); strings.Contains(home.body, "alice") {
		t.Fatal("the planted session is signed in as the victim")
	}
	if home := b.get("/"); strings.Contains(home.body, textSignedOut) {
		t.Fatal("the signed-in browser is signed out (control)")
	}
}
