package e2e

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestConsentAfterTheUserIsDisabled: an Allow posted from a consent page
// shown before its user was disabled gets no code, and enabling the user
// again makes nothing of it work.
func TestConsentAfterTheUserIsDisabled(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", alicePassword, store.LevelUser)
	c, secretValue := e.createClient(app.Registration{Name: "Consent after disabling"})
	alice := e.newBrowser()
	alice.signIn("alice", alicePassword)
	consent := alice.authorize(authParams(c, "READ"))
	e.clock.Advance(time.Second) // the disabling ends sessions signed in before it
	if err := e.node.Users.SetDisabled(t.Context(), "alice", true); err != nil {
		t.Fatal(err)
	}
	fields := formFields(consent.body)
	fields.Set("decision", "allow")
	p := alice.post("/plugins/servlet/oauth2/consent", fields)
	if loc := p.location(); p.status != http.StatusSeeOther || loc.Path != "/login" || loc.Query().Get("code") != "" {
		t.Fatalf("Allow by a disabled user: %d %s; want a redirect to the sign-in page", p.status, p.header.Get("Location"))
	}
	if err := e.node.Users.SetDisabled(t.Context(), "alice", false); err != nil {
		t.Fatal(err)
	}
	// The page's session ended with the disabling: posting it again, or
	// after signing in again, decides nothing.
	if p := alice.post("/plugins/servlet/oauth2/consent", fields); strings.Contains(p.header.Get("Location"), "code=") {
		t.Fatalf("the page decided after re-enabling: %s", p.header.Get("Location"))
	}
	alice.signIn("alice", alicePassword)
	if p := alice.post("/plugins/servlet/oauth2/consent", fields); strings.Contains(p.header.Get("Location"), "code=") {
		t.Fatalf("the page decided in a new session: %s", p.header.Get("Location"))
	}
	// A new consent works as ever.
	got := e.token(form("grant_type", "authorization_code", "code", alice.code(authParams(c, "READ")), "redirect_uri", callback), c.ID, secretValue)
	if got.status != http.StatusOK {
		t.Fatalf("a new consent after re-enabling: %d %s", got.status, got.raw)
	}
}

// TestConsentRacingTheDisablingOfItsUser: an Allow posted while its user is
// being disabled either lands first, and the disabling drops its code, or
// is refused; once the disabling has returned, enabling the user again
// revives no code of the race. The page checks the user before the
// decision's transaction, so without the check inside it the code was
// stored after the disabling had committed.
func TestConsentRacingTheDisablingOfItsUser(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", alicePassword, store.LevelUser)
	c, secretValue := e.createClient(app.Registration{Name: "Consent racing a disabling"})
	const rounds = 30
	for round := range rounds {
		alice := e.newBrowser()
		alice.signIn("alice", alicePassword)
		fields := formFields(alice.authorize(authParams(c, "READ")).body)
		fields.Set("decision", "allow")
		e.clock.Advance(time.Second) // the disabling ends sessions signed in before it
		req, _ := http.NewRequest("POST", e.base+"/plugins/servlet/oauth2/consent", strings.NewReader(fields.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		var (
			resp            *http.Response
			postErr, disErr error
			wg              sync.WaitGroup
		)
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			if resp, postErr = alice.http.Do(req); postErr == nil {
				resp.Body.Close()
			}
		})
		wg.Go(func() {
			<-start
			disErr = e.node.Users.SetDisabled(t.Context(), "alice", true)
		})
		close(start)
		wg.Wait()
		if postErr != nil || disErr != nil {
			t.Fatalf("round %d: post %v, disable %v", round, postErr, disErr)
		}
		if err := e.node.Users.SetDisabled(t.Context(), "alice", false); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("round %d: Allow answered %d; want a redirect", round, resp.StatusCode)
		}
		loc, _ := resp.Location()
		code := loc.Query().Get("code")
		if code == "" {
			if loc.Path != "/login" {
				t.Errorf("round %d: Allow refused with a redirect to %s; want the sign-in page", round, loc)
			}
			continue
		}
		got := e.token(form("grant_type", "authorization_code", "code", code, "redirect_uri", callback), c.ID, secretValue)
		if got.status == http.StatusOK {
			t.Errorf("round %d: a code decided while its user was being disabled works after re-enabling", round)
		}
	}
}
