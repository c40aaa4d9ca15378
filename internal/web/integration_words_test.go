package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

// An integration endpoint refused on the form is named by its label in the
// page's language, not by its field key (authorization_endpoint).
func TestIntegrationRefusalsNameTheFieldByItsLabel(t *testing.T) {
	s := newSite(t)
	if _, err := s.gh.Users.Create(context.Background(), user.NewUser{Username: "root", Password: "root-password", Level: store.LevelSystemAdmin}); err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"en", "ja"} {
		b := s.browser(lang)
		b.signIn("root", "root-password")
		a := b.post("/admin/integrations/new", url.Values{"provider": {"custom"}, "name": {"Mail " + lang}, "scopes": {"mail"},
			"authorization_endpoint": {"notaurl"}, "token_endpoint": {"https://idp.example.com/token"}})
		alert, _ := element(a.body, `role="alert"`)
		label := s.msgs.T(lang, "integration.authorization_endpoint")
		if a.status != http.StatusBadRequest || !strings.Contains(alert, label) || strings.Contains(alert, "authorization_endpoint") {
			t.Errorf("%s: %d %q; want the refusal to name %q", lang, a.status, alert, label)
		}
	}
}

// A confirmation page names the application in its title and heading, in
// the page's language: a tab or a history entry that says only "Delete"
// does not say what is about to go.
func TestConfirmationPagesNameTheApplication(t *testing.T) {
	s := newSite(t)
	if _, err := s.gh.Users.Create(context.Background(), user.NewUser{Username: "root", Password: "root-password", Level: store.LevelSystemAdmin}); err != nil {
		t.Fatal(err)
	}
	c := s.createClient(app.Registration{Name: "Build Radiator"})
	for _, lang := range []string{"en", "ja"} {
		b := s.browser(lang)
		b.signIn("root", "root-password")
		b.confirmPassword("root-password")
		for path, key := range map[string]string{"/admin/apps/" + c.ID + "/delete": "admin.delete_title", "/admin/apps/" + c.ID + "/rotate": "admin.rotate_title"} {
			a := b.get(path)
			want := s.msgs.T(lang, key, "Build Radiator")
			if a.status != http.StatusOK || !strings.Contains(a.body, "<title>"+html.EscapeString(want)) || !strings.Contains(a.body, ">"+html.EscapeString(want)+"</h1>") {
				t.Errorf("%s %s: %d, the title or heading is not %q", lang, path, a.status, want)
			}
		}
	}
}
