package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
)

const garoonScopes = `scopes:
  - name: g:schedule:read
    description: {en: "Read your schedule", ja: "予定を読む"}
  - name: g:schedule:write
    implies: [g:schedule:read]
    description: {en: "Change your schedule", ja: "予定を変更する"}
  - name: g:system:admin
    level: system-admin
    description: {en: "Administer the whole system", ja: "システム全体を管理する"}
`

// TestCustomCatalogueInJapanese runs a flow with a custom scope file and a
// Japanese browser: the consent page speaks Japanese, drops the scope above
// the user's level, and the token carries only what was kept.
func TestCustomCatalogueInJapanese(t *testing.T) {
	file := filepath.Join(t.TempDir(), "scopes.yaml")
	os.WriteFile(file, []byte(garoonScopes), 0o600)
	e := newEnv(t, func(c *config.Config) { c.Scopes.Catalogue = file })
	e.createUser("taro", "taro-password", store.LevelUser)
	c, secretValue := e.createClient(app.Registration{Scopes: []string{"g:schedule:write", "g:system:admin"}})

	md := e.send(mustRequest(t, "GET", e.base+"/.well-known/oauth-authorization-server"))
	if !strings.Contains(md.raw, "g:schedule:write") || strings.Contains(md.raw, `"READ"`) {
		t.Fatalf("metadata does not list the custom catalogue: %s", md.raw)
	}

	b := e.newBrowser()
	b.lang = "ja,en;q=0.5"
	b.signIn("taro", "taro-password")
	consent := b.authorize(authParams(c, "g:schedule:write g:system:admin"))
	for _, want := range []string{`lang="ja"`, "アクセスを許可しますか", "予定を変更する", "システム全体を管理する", "除外されます", "許可する"} {
		if !strings.Contains(consent.body, want) {
			t.Fatalf("Japanese consent page lacks %q:\n%s", want, consent.body)
		}
	}
	code := b.decide(consent, "allow").Query().Get("code")
	tok := e.token(form("grant_type", "authorization_code", "code", code, "redirect_uri", callback), c.ID, secretValue)
	if tok.status != http.StatusOK || tok.str("scope") != "g:schedule:write" {
		t.Fatalf("token %d %s, want scope g:schedule:write only", tok.status, tok.raw)
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
