package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
	"github.com/gatehouse/gatehouse/internal/web"
)

// userReads counts the reads of a user by ID: on PostgreSQL each is a round
// trip to the database.
type userReads struct {
	store.Store
	n atomic.Int64
}

func (u *userReads) UserByID(ctx context.Context, id string) (store.User, error) {
	u.n.Add(1)
	return u.Store.UserByID(ctx, id)
}

// TestPagesReadTheSignedInUserOnce serves a node's pages over a store that
// counts user reads: the consent page (every authorization shows it) and the
// home page read the signed-in user once, not once in the handler and again
// to render the page.
func TestPagesReadTheSignedInUserOnce(t *testing.T) {
	s := newSite(t)
	if _, err := s.gh.Users.Create(context.Background(), user.NewUser{Username: "alice", Password: "alice-password", Level: store.LevelUser}); err != nil {
		t.Fatal(err)
	}
	c := s.createClient(app.Registration{Name: "Wiki"})
	reads := &userReads{Store: s.gh.Store}
	pages, err := web.New(s.gh.OAuth, s.gh.Users, s.gh.Admin, reads, s.gh.Scopes, s.gh.Keys, s.gh.Log, web.Options{Sessions: session.Options{Absolute: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(pages.Handler())
	defer srv.Close()
	b := (&site{t: t, gh: s.gh, base: srv.URL, addr: srv.Listener.Addr().String(), msgs: s.msgs}).browser("en")
	login := b.get("/login")
	if a := b.do("POST", "/login", url.Values{"csrf_token": {hidden(login.body, "csrf_token")}, "username": {"alice"}, "password": {"alice-password"}}); a.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", a.status)
	}

	for _, path := range []string{oauth.PathAuthorize + "?" + authorizeQuery(c).Encode(), "/"} {
		before := reads.n.Load()
		page := b.get(path)
		if page.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, page.status)
		}
		if got := reads.n.Load() - before; got != 1 {
			t.Errorf("GET %s read the signed-in user %d times, want once", path, got)
		}
		if path != "/" && hidden(page.body, "consent_id") == "" {
			t.Errorf("GET %s: no consent form", path)
		}
	}
}
