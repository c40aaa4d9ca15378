package e2e

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/integration"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdovecot"
	"github.com/gatehouse/gatehouse/internal/testnode"
)

// TestMailServerThroughIntegration is the whole chain with nothing in
// between replaced: a Custom integration whose provider is this Gatehouse
// node is authorized by alice through the real consent page; the node's
// mail service signs in to Dovecot (which introspects at the same node)
// with the integration's access token. A token the mail server refuses is
// refreshed by the integration and the retry passes; a grant revoked at the
// provider needs re-authorization. No token or client secret reaches a log
// line.
func TestMailServerThroughIntegration(t *testing.T) {
	clk := &clock{t: time.Now()}
	logs := &syncBuffer{}
	n := testnode.Start(t, testnode.Options{Server: server.Options{Now: clk.Now}, Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	e := &env{t: t, node: n.Gatehouse, base: n.BaseURL, clock: clk}
	ctx := context.Background()
	e.createUser("alice", alicePassword, store.LevelUser)
	rs, rsKey := e.createClient(app.Registration{Name: "Dovecot", Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}, IntrospectAny: true})
	w := &world{env: e, t: t, rs: rs, rsKey: rsKey}
	d := testdovecot.StartWith(t, testdovecot.Options{IntrospectionURL: w.introspectionURL(), POP3: true, TLS: true})
	d.AddMessages(t, "alice", aliceMessages)

	// The provider side: an application for the integration. Its redirect
	// URI is the integration's, known once the integration exists.
	provider, providerSecret := e.createClient(app.Registration{Name: "Gatehouse mail integration", Scopes: []string{"READ"}})
	in, err := n.Integrations.Create(ctx, audit.CommandLine(), integration.Settings{
		Provider: integration.Custom, Name: "Own provider", ClientID: provider.ID, ClientSecret: providerSecret, Scopes: []string{"READ"},
		AuthURL: e.base + "/rest/oauth2/latest/authorize", TokenURL: e.base + pathToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	provider = e.updateClient(provider, func(r *app.Registration) { r.RedirectURIs = []string{n.Integrations.RedirectURL(in)} })

	// Authorize: alice signs in and allows; the browser comes back to the
	// integration's callback on the node, which stores the tokens.
	authURL, _, err := n.Integrations.StartAuthorization(ctx, audit.CommandLine(), in.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	alice := e.newBrowser()
	alice.signIn("alice", alicePassword)
	back := alice.decide(alice.follow(alice.get(authURL)), "allow")
	if done := alice.get(back.String()); done.status != http.StatusOK {
		t.Fatalf("callback %s: %d %s", back, done.status, done.body)
	}

	create := func(name, protocol, tlsMode, addr, sasl string) string {
		m, err := n.Mail.Create(ctx, audit.CommandLine(), mail.Settings{Name: name, Protocol: protocol, Host: "127.0.0.1", Port: port(addr),
			TLS: tlsMode, CACert: d.CACert, Username: "alice", Integration: "own provider", SASL: sasl})
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	imap := create("IMAP", mail.IMAP, mail.TLSImplicit, d.IMAPSAddr, "")
	pop3 := create("POP3", mail.POP3, mail.TLSStartTLS, d.POP3Addr, mail.OAuthBearer)
	names, err := n.Mail.IntegrationNames(ctx, audit.CommandLine())
	if err != nil {
		t.Fatal(err)
	}
	if m, err := n.Mail.Get(ctx, audit.CommandLine(), imap); err != nil || mail.NewView(m, names).Integration != "Own provider" {
		t.Fatalf("the mail server's integration shows as %q (%v), want its name", mail.NewView(m, names).Integration, err)
	}
	test := func(id string) mail.Result {
		t.Helper()
		res, err := n.Mail.Test(ctx, audit.CommandLine(), id)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	var seen []string // every access token the integration handed out
	current := func() {
		tok, err := n.Integrations.AccessToken(ctx, in.ID, false)
		if err == nil {
			seen = append(seen, tok.AccessToken)
		}
	}
	current()
	for _, c := range []struct{ id, mechanism string }{{imap, "XOAUTH2"}, {pop3, "OAUTHBEARER"}} {
		if res := test(c.id); !res.OK || res.Messages != aliceMessages || res.Mechanism != c.mechanism || res.Refreshed {
			t.Fatalf("%s: %+v %s", c.mechanism, res, res.Message())
		}
	}

	t.Run("a refused token is refreshed once, and the retry signs in", func(t *testing.T) {
		// The provider revokes the access token alone: the integration still
		// thinks it good until Dovecot's introspection says otherwise.
		if r := e.postForm(pathRevoke, form("token", seen[len(seen)-1]), provider.ID, providerSecret); r.status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.status, r.raw)
		}
		res := test(imap)
		if !res.OK || !res.Refreshed || res.Messages != aliceMessages {
			t.Fatalf("%+v %s", res, res.Message())
		}
		current()
		if seen[len(seen)-1] == seen[len(seen)-2] {
			t.Fatal("the integration still hands out the refused token")
		}
	})

	t.Run("an expired token is renewed", func(t *testing.T) {
		clk.Advance(2*time.Hour + time.Minute)
		if res := test(pop3); !res.OK || res.Messages != aliceMessages {
			t.Fatalf("%+v %s", res, res.Message())
		}
		current()
	})

	t.Run("a grant revoked at the provider needs re-authorization", func(t *testing.T) {
		grants, err := n.Admin.Grants(ctx, store.TokenFilter{ClientID: provider.ID})
		if err != nil || len(grants) != 1 {
			t.Fatalf("grants: %v, %v", grants, err)
		}
		if _, err := n.Store.RevokeGrant(ctx, grants[0].ID, clk.Now()); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{imap, pop3} {
			res := test(id)
			if res.OK || res.Step != mail.StepToken || res.Problem.Key != "mail.integration_reauth" || !strings.Contains(res.Message(), "re-authorize") {
				t.Fatalf("%+v %s", res, res.Message())
			}
		}
	})

	t.Run("no token or secret in the logs", func(t *testing.T) {
		if len(seen) < 3 {
			t.Fatalf("only %d tokens seen", len(seen))
		}
		out := logs.String()
		if !strings.Contains(out, "mail server tested") {
			t.Fatalf("the tests were not logged at all:\n%s", out)
		}
		for _, secret := range append(seen, providerSecret) {
			if secret != "" && strings.Contains(out, secret) {
				t.Fatalf("a log line holds a secret (%.8s…)", secret)
			}
		}
	})
}
