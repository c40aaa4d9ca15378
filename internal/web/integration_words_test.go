package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

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
