package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
)

var langLink = regexp.MustCompile(`<a href="([^"]+)" hreflang="(en|ja)"`)

// TestLanguageSwitchKeepsTheRequest: switching language on the sign-in page
// keeps where the sign-in goes next, and on the consent page keeps the
// authorization request (it used to replace the query with ?lang=ja).
func TestLanguageSwitchKeepsTheRequest(t *testing.T) {
	w := newWorld(t, app.Registration{})
	switchOf := func(p page) string {
		t.Helper()
		m := langLink.FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("no language link on %s", p.url)
		}
		return unescapeHTML(m[1])
	}
	// Sign-in page reached from an authorization request.
	anon := w.newBrowser()
	login := anon.follow(anon.get("/rest/oauth2/latest/authorize?" + authParams(w.client, "READ").Encode()))
	link, _ := url.Parse(switchOf(login))
	if link.Query().Get("lang") != "ja" || !strings.Contains(link.Query().Get("next"), w.client.ID) {
		t.Fatalf("the sign-in page's language link %q loses next", link)
	}
	ja := anon.get(link.String())
	if ja.status != http.StatusOK || !strings.Contains(ja.body, `lang="ja"`) || formFields(ja.body).Get("next") == "" {
		t.Fatalf("the Japanese sign-in page: %d, next %q", ja.status, formFields(ja.body).Get("next"))
	}
	// After a failed sign-in (a post), the link still keeps next.
	f := formFields(ja.body)
	f.Set("username", "alice")
	f.Set("password", "wrong-password")
	failed := anon.post("/login", f)
	if link, _ := url.Parse(switchOf(failed)); !strings.Contains(link.Query().Get("next"), w.client.ID) {
		t.Fatalf("after a failed sign-in the language link %q loses next", link)
	}
	// The consent page in the other language is the same consent page.
	consent := w.alice.authorize(authParams(w.client, "READ"))
	other := w.alice.get(switchOf(consent))
	if other.status != http.StatusOK || !strings.Contains(other.body, `name="consent_id"`) || !strings.Contains(other.body, `lang="ja"`) {
		t.Fatalf("the consent page's language link: %d\n%.400s", other.status, other.body)
	}
	if p := w.alice.post(pathConsent, set(formFields(other.body), "decision", "allow")); p.status != http.StatusSeeOther || p.location().Query().Get("code") == "" {
		t.Fatalf("allow on the switched page: %d %q", p.status, p.header.Get("Location"))
	}
}
