package browsertest

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestSignInNextStaysOnSiteInChromium follows crafted next values through a
// real sign-in in Chromium: wherever the value points, the browser ends on
// this site. "/./\evil.com" used to leave as "Location: /\evil.com", which
// Chromium resolves to https://evil.com/.
func TestSignInNextStaysOnSiteInChromium(t *testing.T) {
	n := startNode(t)
	n.createUser("alice", "alice-password", store.LevelUser)
	for _, next := range []string{
		`/./\evil.example/`, `/a/../\evil.example/`, `/%5Cevil.example/`, `//evil.example/`,
		`/\/evil.example/`, "https://evil.example/", "/\tevil.example", `/.//evil.example/x`,
	} {
		t.Run(next, func(t *testing.T) {
			ctx := newBrowser(t)
			navigate(t, ctx, n.base+"/login?"+url.Values{"next": {next}}.Encode())
			submitSignIn(t, ctx, "alice", "alice-password")
			if got := location(t, ctx); !strings.HasPrefix(got, n.base+"/") {
				t.Fatalf("next=%q: the browser ended at %s, not on %s", next, got, n.base)
			}
		})
	}
}
