package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
)

// TestIntrospectionExpIsTheExpiry: an access token stops being active at
// exactly the exp introspection gives (RFC 7662 §2.2, whole seconds), not
// up to a second later, which answered active:true with an exp in the past.
func TestIntrospectionExpIsTheExpiry(t *testing.T) {
	w := newWorld(t, app.Registration{Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}})
	w.env.clock.Advance(123456789 * time.Nanosecond) // not on a whole second
	tok := w.env.token(form("grant_type", "client_credentials", "scope", "READ"), w.client.ID, w.secret)
	if tok.status != http.StatusOK {
		t.Fatalf("token: %d %s", tok.status, tok.raw)
	}
	first := w.introspect(tok.str("access_token"))
	exp, ok := first.body["exp"].(float64)
	if first.body["active"] != true || !ok {
		t.Fatalf("introspection: %s", first.raw)
	}
	expiry := time.Unix(int64(exp), 0)
	w.env.clock.Advance(expiry.Add(-time.Millisecond).Sub(w.env.clock.Now()))
	if !w.isActive(tok.str("access_token")) {
		t.Fatal("inactive a millisecond before its exp")
	}
	w.env.clock.Advance(time.Millisecond)
	if got := w.introspect(tok.str("access_token")); got.body["active"] != false {
		t.Fatalf("at its exp: %s; want inactive", got.raw)
	}
}
