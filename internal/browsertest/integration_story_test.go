package browsertest

import (
	"bytes"
	"context"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/integration"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testnode"
	"github.com/gatehouse/gatehouse/internal/user"
)

// TestIntegrationStory is the outgoing integration from start to end, in a
// real browser against a real provider: a second Gatehouse node, with its
// own sign-in and consent pages and 4-second access tokens that rotate
// their refresh tokens and revoke the whole grant on any reuse.
//
// A system administrator adds a Custom integration whose endpoints are
// discovered from the provider's issuer URL, registers its redirect URL as
// a confidential application on the provider, enters the credentials,
// authorizes (signing in and consenting at the provider), sees the
// integration healthy and tests the connection. The background refresher
// keeps the token fresh across several lifetimes. Revoking the grant at the
// provider turns the integration to "needs re-authorization". No token,
// secret or password appears in either node's log.
func TestIntegrationStory(t *testing.T) {
	providerLog, gatehouseLog := &lockedBuffer{}, &lockedBuffer{}
	// The provider is reached as localhost, Gatehouse as 127.0.0.1: two
	// hosts, so the browser keeps a session cookie for each.
	provider := testnode.Start(t, testnode.Options{Log: debugLogger(providerLog)}, func(c *config.Config) {
		_, port, _ := net.SplitHostPort(c.Listen)
		c.BaseURL = "http://localhost:" + port
		c.Lifetimes.AccessToken = 4 * time.Second
	})
	gh := testnode.Start(t, testnode.Options{Log: debugLogger(gatehouseLog)})
	ctx := t.Context()
	const rootPassword, mailboxPassword = "root-password-1", "mailbox-password-1"
	if _, err := gh.Users.Create(ctx, user.NewUser{Username: "root", Password: rootPassword, Level: store.LevelSystemAdmin}); err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Users.Create(ctx, user.NewUser{Username: "mailbox", Password: mailboxPassword, Email: "ops@example.com"}); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	signIn(t, b, gh.BaseURL, "root", rootPassword)
	navigate(t, b, gh.BaseURL+"/admin/integrations")
	clickPage(t, b, `a[href="/admin/integrations/new"]`)
	clickPage(t, b, `a[href="/admin/integrations/new?provider=custom"]`)
	typeInto(t, b, "#name", "Support mailbox")
	typeInto(t, b, "#issuer", provider.BaseURL)
	clickPage(t, b, `button[name="discover"]`)
	if got := fieldValue(t, b, "#token_endpoint"); got != provider.BaseURL+"/rest/oauth2/latest/token" {
		t.Fatalf("discovery filled the token endpoint with %q", got)
	}
	typeInto(t, b, "#scopes", "READ")
	typeInto(t, b, "#userinfo_endpoint", provider.BaseURL+"/rest/api/latest/myself")
	// Enter in a field submits the form as Create does, not as the
	// "Fill in from the issuer URL" button that comes first in it.
	waitPage(t, b, "Enter in the user-info field", chromedp.SendKeys(chromedp.CSS("#userinfo_endpoint"), kb.Enter))
	if got := text(t, b, ".flash"); !strings.Contains(got, "Register its redirect URL") {
		t.Errorf("after creating, the page says %q", got)
	}
	if got := text(t, b, "h1 .status"); got != "Not authorized yet" {
		t.Errorf("a new integration's status reads %q", got)
	}
	redirectURL := fieldValue(t, b, "#redirect_url")
	if !strings.HasPrefix(redirectURL, gh.BaseURL+integration.CallbackPath) {
		t.Fatalf("redirect URL %q", redirectURL)
	}
	screenshot(t, b, "integration-created")

	// The provider's administrator registers Gatehouse as a confidential
	// application with that redirect URL.
	c, clientSecret, err := provider.Apps.Create(ctx, app.Registration{Name: "Gatehouse mail", RedirectURIs: []string{redirectURL}, Scopes: []string{"READ"}})
	if err != nil {
		t.Fatal(err)
	}
	clickPage(t, b, `a[href$="/edit"]`)
	typeInto(t, b, "#client_id", c.ID)
	typeInto(t, b, "#client_secret", clientSecret)
	clickPage(t, b, `form[action$="/edit"] button.primary`)
	if fieldValue(t, b, "#redirect_url") != redirectURL {
		t.Fatal("entering the credentials changed the redirect URL")
	}
	wantNoSecret(t, b, clientSecret)

	// Authorize: to the provider's sign-in and consent pages and back.
	clickPage(t, b, "#authorize")
	if !strings.HasPrefix(location(t, b), provider.BaseURL+"/login") {
		t.Fatalf("Authorize led to %s, want the provider's sign-in page", location(t, b))
	}
	submitSignIn(t, b, "mailbox", mailboxPassword)
	screenshot(t, b, "integration-provider-consent")
	clickPage(t, b, allowButton)
	if loc := location(t, b); !strings.HasPrefix(loc, gh.BaseURL+"/admin/integrations/int_") {
		t.Fatalf("after consenting the browser is at %s, want the integration's page", loc)
	}
	if got := text(t, b, ".flash"); !strings.Contains(got, "is authorized") {
		t.Errorf("after authorizing the page says %q", got)
	}
	if got := text(t, b, "h1 .status"); got != "Healthy" {
		t.Fatalf("status after authorizing: %q (%v)", got, texts(t, b, `[role="alert"]`))
	}
	clickPage(t, b, "#test")
	if got := text(t, b, ".flash"); !strings.HasPrefix(got, "Signed in as ops@example.com; token valid for") {
		t.Errorf("Test connection says %q", got)
	}
	screenshot(t, b, "integration-healthy")
	integrationPage := location(t, b)
	id := integrationPage[strings.LastIndex(integrationPage, "/")+1:]

	// Several lifetimes of the 4-second token: the refresher renews it
	// each time (the provider revokes the grant if it sees a refresh token
	// twice, so a healthy integration now proves none was).
	refreshes := waitIntegration(t, gh, id, 15*time.Second, func(in store.Integration) bool {
		return !in.Vault.RefreshedAt.IsZero() && in.Vault.RefreshedAt.Sub(in.Vault.AuthorizedAt) > 7*time.Second
	})
	if st := integration.StateOf(refreshes, time.Now()); st.Status != integration.StatusHealthy {
		t.Fatalf("after several refreshes the status is %s (%v)", st.Status, st.LastError)
	}
	tok, err := gh.Integrations.AccessToken(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	if me := (&node{t: t, base: provider.BaseURL}).myself(tok.AccessToken); me.status != http.StatusOK || me.str("name") != "mailbox" {
		t.Fatalf("the refreshed token at the provider: %d %s", me.status, me.raw)
	}

	// The mailbox's owner revokes Gatehouse's access at the provider.
	navigate(t, b, provider.BaseURL+"/plugins/servlet/oauth2/authorized-apps")
	clickPage(t, b, `form[action$="/revoke"] button`)
	waitIntegration(t, gh, id, 15*time.Second, func(in store.Integration) bool { return in.Vault.NeedsReauth })

	// A second browser (the first one's time is spent), in Japanese.
	b2 := newBrowserLang(t, "ja")
	signIn(t, b2, gh.BaseURL, "root", rootPassword)
	navigate(t, b2, gh.BaseURL+"/admin/integrations")
	if got := text(t, b2, "tbody .status"); got != "再認可が必要" {
		t.Errorf("the list shows %q after the grant was revoked", got)
	}
	navigate(t, b2, integrationPage)
	if got := text(t, b2, "h1 .status"); got != "再認可が必要" {
		t.Errorf("the page shows %q after the grant was revoked", got)
	}
	if got := text(t, b2, "#authorize"); got != "再認可" {
		t.Errorf("the authorize button reads %q", got)
	}
	if got := text(t, b2, ".facts .off"); !strings.Contains(got, "invalid_grant") || !strings.Contains(got, "再認可してください") {
		t.Errorf("the last error reads %q", got)
	}
	screenshot(t, b2, "integration-needs-reauthorization-ja")

	vault, _ := gh.Store.IntegrationByID(ctx, id)
	secrets := map[string]string{"access token": tok.AccessToken, "client secret": clientSecret, "admin password": rootPassword, "mailbox password": mailboxPassword}
	for name, logs := range map[string]string{"provider": providerLog.String(), "gatehouse": gatehouseLog.String()} {
		if len(logs) == 0 {
			t.Fatalf("the %s node logged nothing: is the log captured?", name)
		}
		for what, v := range secrets {
			if strings.Contains(logs, v) {
				t.Errorf("the %s node's log holds the %s", name, what)
			}
		}
		if bytes.Contains([]byte(logs), vault.Vault.TokensSealed) {
			t.Errorf("the %s node's log holds the sealed vault", name)
		}
	}
}

// waitIntegration polls the store until ok holds for the integration, and
// returns it; it fails the test after limit.
func waitIntegration(t *testing.T, n *testnode.Node, id string, limit time.Duration, ok func(store.Integration) bool) store.Integration {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		in, err := n.Store.IntegrationByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ok(in) {
			return in
		}
		if time.Now().After(deadline) {
			t.Fatalf("integration %s: condition not met within %v (state %+v)", id, limit, integration.StateOf(in, time.Now()))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func debugLogger(w *lockedBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
