package e2e

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The consent form posts a signed, single-use ID: nothing in the
// authorization request's query string, and no change to the ID, can reach
// the decision.
func TestConsentDecisionComesOnlyFromTheForm(t *testing.T) {
	t.Run("decision=allow in the authorize query does not make Deny issue a code", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		consent := w.alice.authorize(authParams(w.client, "READ", "decision", "allow"))
		p := w.alice.post(pathConsent, set(formFields(consent.body), "decision", "deny"))
		q := wantRedirectError(t, w.env, p, http.StatusSeeOther, "access_denied")
		if q.Get("code") != "" {
			t.Fatalf("Deny issued a code: %s", p.header.Get("Location"))
		}
	})
	t.Run("the form carries only the signed consent ID and the form token", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		fields := formFields(w.alice.authorize(authParams(w.client, "READ")).body)
		if len(fields) != 2 || fields.Get("consent_id") == "" || fields.Get("csrf_token") == "" {
			t.Fatalf("hidden fields %v; want only consent_id and csrf_token", fields)
		}
	})
	t.Run("a repeated or unknown field is refused and spends nothing", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		fields := formFields(w.alice.authorize(authParams(w.client, "READ")).body)
		for _, body := range []string{
			set(url.Values{}, "csrf_token", fields.Get("csrf_token"), "consent_id", fields.Get("consent_id")).Encode() + "&decision=deny&decision=allow",
			set(url.Values{}, "csrf_token", fields.Get("csrf_token"), "consent_id", fields.Get("consent_id"), "decision", "allow", "scope", "READ WRITE").Encode(),
			set(url.Values{}, "csrf_token", fields.Get("csrf_token"), "consent_id", fields.Get("consent_id"), "decision", "yes").Encode(),
		} {
			req, _ := http.NewRequest("POST", w.base+pathConsent, strings.NewReader(body))
			req.Header.Set("Content-Type", formType)
			if p := w.alice.do(req); p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
				t.Fatalf("%s: got %d to %q, want 400", body, p.status, p.header.Get("Location"))
			}
		}
		// A query string on the post reaches nothing either.
		req, _ := http.NewRequest("POST", w.base+pathConsent+"?decision=allow", strings.NewReader(set(fields, "decision", "deny").Encode()))
		req.Header.Set("Content-Type", formType)
		if p := w.alice.do(req); p.status != http.StatusBadRequest {
			t.Fatalf("post with a query string: got %d, want 400", p.status)
		}
		// The refusals spent nothing: the form still works once.
		if p := w.alice.post(pathConsent, set(fields, "decision", "allow")); p.status != http.StatusSeeOther || p.location().Query().Get("code") == "" {
			t.Fatalf("the form after refusals: %d %q", p.status, p.header.Get("Location"))
		}
	})
	t.Run("a form posted twice gets one code", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		fields := set(formFields(w.alice.authorize(authParams(w.client, "READ")).body), "decision", "allow")
		if p := w.alice.post(pathConsent, fields); p.status != http.StatusSeeOther || p.location().Query().Get("code") == "" {
			t.Fatalf("first post: %d %q", p.status, p.header.Get("Location"))
		}
		p := w.alice.post(pathConsent, fields)
		if p.status != http.StatusBadRequest || p.header.Get("Location") != "" || !strings.Contains(p.body, "already been answered") {
			t.Fatalf("second post: got %d to %q, want 400 saying it was answered", p.status, p.header.Get("Location"))
		}
	})
	t.Run("a form posted many times at once gets one code", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		fields := set(formFields(w.alice.authorize(authParams(w.client, "READ")).body), "decision", "allow")
		const n = 8
		var wg sync.WaitGroup
		codes := make(chan string, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("POST", w.base+pathConsent, strings.NewReader(fields.Encode()))
				req.Header.Set("Content-Type", formType)
				resp, err := w.alice.http.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if loc, _ := url.Parse(resp.Header.Get("Location")); loc != nil {
					codes <- loc.Query().Get("code")
				}
			}()
		}
		wg.Wait()
		close(codes)
		issued := 0
		for c := range codes {
			if c != "" {
				issued++
			}
		}
		if issued != 1 {
			t.Fatalf("%d codes from %d posts of one form; want 1", issued, n)
		}
	})
	t.Run("a changed consent ID is refused and spends nothing", func(t *testing.T) {
		w := newWorld(t, app.Registration{Scopes: []string{"READ", "WRITE"}})
		fields := formFields(w.alice.authorize(authParams(w.client, "READ")).body)
		id := fields.Get("consent_id")
		payload, mac, ok := strings.Cut(id, ".")
		if !ok {
			t.Fatalf("consent ID %q is not payload.mac", id)
		}
		// The request asked for READ; an ID that asks for WRITE too, with
		// the old MAC, or any flipped character, is worthless.
		raw, _ := base64.RawURLEncoding.DecodeString(payload)
		wider := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), "scope=READ", "scope=READ+WRITE", 1)))
		flip := func(s string, i int) string {
			b := []byte(s)
			b[i] ^= 1
			return string(b)
		}
		for name, changed := range map[string]string{
			"wider scope":     wider + "." + mac,
			"payload flipped": flip(payload, len(payload)/2) + "." + mac,
			"mac flipped":     payload + "." + flip(mac, 3),
			"no mac":          payload,
			"not base64":      "!!!." + mac,
		} {
			p := w.alice.post(pathConsent, set(fields, "consent_id", changed, "decision", "allow"))
			if p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
				t.Fatalf("%s: got %d to %q, want 400", name, p.status, p.header.Get("Location"))
			}
		}
		p := w.alice.post(pathConsent, set(fields, "consent_id", id, "decision", "allow"))
		if p.status != http.StatusSeeOther || p.location().Query().Get("code") == "" {
			t.Fatalf("the genuine form after the changed ones: %d %q", p.status, p.header.Get("Location"))
		}
		tok := w.redeem(w.client, w.secret, p.location().Query().Get("code"))
		if tok.status != http.StatusOK || tok.str("scope") != "READ" {
			t.Fatalf("the code's token: %d scope %q, want READ", tok.status, tok.str("scope"))
		}
	})
	t.Run("a consent page expires", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		fields := formFields(w.alice.authorize(authParams(w.client, "READ")).body)
		w.clock.Advance(16 * time.Minute) // the session (idle 30 m) is still there; the page is not
		if p := w.alice.post(pathConsent, set(fields, "decision", "allow")); p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
			t.Fatalf("a 16-minute-old consent page: got %d to %q, want 400", p.status, p.header.Get("Location"))
		}
	})
	t.Run("showing consent pages writes nothing", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		db := openSQLiteFile(t, w.node.Config.SQLitePath())
		count := func() (n int) {
			t.Helper()
			if err := db.QueryRow(`SELECT (SELECT count(*) FROM decided_consents) + (SELECT count(*) FROM pending_consents) + (SELECT count(*) FROM codes)`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := count()
		for range 20 {
			if page := w.alice.authorize(authParams(w.client, "READ")); formFields(page.body).Get("consent_id") == "" {
				t.Fatalf("no consent page: %d", page.status)
			}
		}
		if n := count(); n != before {
			t.Fatalf("20 consent pages wrote %d rows", n-before)
		}
	})
	t.Run("another user's consent ID is refused", func(t *testing.T) {
		w := newWorld(t, app.Registration{})
		alices := formFields(w.alice.authorize(authParams(w.client, "READ")).body)
		w.createUser("bob", "bob-password", store.LevelUser)
		bob := w.newBrowser()
		bob.signIn("bob", "bob-password")
		bobs := formFields(bob.authorize(authParams(w.client, "READ")).body)
		p := bob.post(pathConsent, set(bobs, "consent_id", alices.Get("consent_id"), "decision", "allow"))
		if p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
			t.Fatalf("bob posting alice's consent ID: got %d to %q, want 400", p.status, p.header.Get("Location"))
		}
	})
}

// Sign-in attempts are counted before the password is hashed, so a burst of
// concurrent guesses cannot all be evaluated.
func TestSignInThrottleHoldsUnderConcurrency(t *testing.T) {
	w := newWorld(t, app.Registration{})
	w.createUser("carol", "carol-password", store.LevelUser)
	const n = 30
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := w.newBrowser()
			f := formFields(b.get("/login").body)
			f.Set("username", "carol")
			f.Set("password", "wrong-guess-"+strings.Repeat("x", i))
			if i == n-1 {
				f.Set("password", "carol-password")
			}
			statuses <- b.post("/login", f).status
		}()
	}
	wg.Wait()
	close(statuses)
	tally := map[int]int{}
	for s := range statuses {
		tally[s]++
	}
	// The right password may come back among the first few and take its own
	// count back, letting one more through; wrong guesses stay within 5.
	if wrong := tally[http.StatusUnauthorized]; wrong > 5 || tally[http.StatusTooManyRequests] < n-6 {
		t.Fatalf("statuses %v: %d wrong passwords were checked against a limit of 5 per account", tally, wrong)
	}
}

// After a correct sign-in the address keeps its count of earlier guesses.
func TestSignInSuccessKeepsTheAddressCount(t *testing.T) {
	w := newWorld(t, app.Registration{})
	w.createUser("carol", "carol-password", store.LevelUser)
	// 19 failures from this address, spread over accounts (per-account limit 5).
	for i := range 19 {
		b := w.newBrowser()
		if p := b.signIn("nobody"+string(rune('a'+i%4)), "wrong-password"); p.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, p.status)
		}
	}
	b := w.newBrowser()
	if p := b.signIn("carol", "carol-password"); p.status != http.StatusSeeOther {
		t.Fatalf("carol: %d", p.status)
	}
	if p := w.newBrowser().signIn("nobodyz", "wrong-password"); p.status != http.StatusUnauthorized {
		t.Fatalf("the 20th failure: %d", p.status)
	}
	if p := w.newBrowser().signIn("carol", "carol-password"); p.status != http.StatusTooManyRequests {
		t.Fatalf("after 20 failures from the address: %d, want 429", p.status)
	}
}

// With the default strict reuse detection, of several simultaneous refreshes
// of one token at most one wins.
func TestConcurrentRefreshIsStrictByDefault(t *testing.T) {
	w := newWorld(t, app.Registration{})
	first := w.issue(w.alice, w.client, w.secret, "READ")
	const n = 6
	results := make(chan tokenResult, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- w.refresh(w.client, w.secret, first.str("refresh_token"))
		}()
	}
	wg.Wait()
	close(results)
	ok := 0
	for r := range results {
		if r.status == http.StatusOK {
			ok++
			// The race was a reuse: whatever won is revoked with the grant.
			w.wantActive(false, "a pair minted in the race", r.str("access_token"), r.str("refresh_token"))
		}
	}
	if ok > 1 {
		t.Fatalf("%d of %d simultaneous refreshes of one token succeeded; want at most 1", ok, n)
	}
}
