package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/integration"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdovecot"
)

const carolPassword = "carol-mail-password"

// mailTokens is the mail service's token seam (mail.Tokens) driven by real
// Gatehouse tokens: alice's access token from the real authorization-code
// flow, refreshed at the real token endpoint when the test asks for a
// refresh. A refused refresh is the integration's "needs re-authorization",
// as internal/integration reports an invalid_grant.
type mailTokens struct {
	w               *world
	mu              sync.Mutex
	access, refresh string
	asked, forced   int
	// offerRefresh hands out the refresh token where the access token
	// belongs, as a confused or hostile client would present it.
	offerRefresh bool
}

func (w *world) newMailTokens() *mailTokens {
	w.t.Helper()
	tok := &mailTokens{w: w}
	tok.reissue()
	return tok
}

// reissue runs the flow again for a fresh grant.
func (m *mailTokens) reissue() {
	m.w.t.Helper()
	r := m.w.issue(m.w.alice, m.w.client, m.w.secret, "READ")
	m.mu.Lock()
	m.access, m.refresh = r.str("access_token"), r.str("refresh_token")
	m.mu.Unlock()
}

func (m *mailTokens) AccessToken(_ context.Context, _ string, forceRefresh bool) (integration.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.asked++
	if forceRefresh {
		m.forced++
		r := m.w.refresh(m.w.client, m.w.secret, m.refresh)
		if r.status != http.StatusOK {
			return integration.Token{}, fmt.Errorf("%w: the provider answered %s", integration.ErrNeedsReauthorization, r.str("error"))
		}
		m.access, m.refresh = r.str("access_token"), r.str("refresh_token")
	}
	if m.offerRefresh {
		return integration.Token{AccessToken: m.refresh, TokenType: "Bearer"}, nil
	}
	return integration.Token{AccessToken: m.access, TokenType: "Bearer"}, nil
}

// counts returns how many tokens were asked for, and how many refreshes.
func (m *mailTokens) counts() (asked, forced int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.asked, m.forced
}

// mailFixture is a world with Dovecot (IMAP and POP3, TLS with a test CA,
// passdb oauth2 introspecting at the node, a password user), alice's INBOX
// holding 3 messages and carol's 5, and a mail service whose token seam is
// alice's real tokens.
type mailFixture struct {
	*world
	dovecot     *testdovecot.Dovecot
	tokens      *mailTokens
	mail        *mail.Service
	integration store.Integration
	n           int // servers created, for unique names
}

const aliceMessages, carolMessages = 3, 5

func newMailFixture(t *testing.T) *mailFixture {
	t.Helper()
	w := newWorld(t, app.Registration{Name: "Mail client"})
	f := &mailFixture{world: w}
	f.dovecot = testdovecot.StartWith(t, testdovecot.Options{
		IntrospectionURL: w.introspectionURL(), Passwords: map[string]string{"carol": carolPassword}, POP3: true, TLS: true,
	})
	f.dovecot.AddMessages(t, "alice", aliceMessages)
	f.dovecot.AddMessages(t, "carol", carolMessages)
	f.tokens = w.newMailTokens()
	f.mail = mail.NewService(w.node.Store, w.node.Keys, f.tokens, mail.Options{Dev: true, Now: w.clock.Now})
	// The integration the servers name; its tokens come from the seam.
	f.integration = store.Integration{ID: "int-gatehouse", Name: "Gatehouse provider", Provider: "custom", CreatedAt: w.clock.Now(), UpdatedAt: w.clock.Now()}
	if err := w.node.Store.CreateIntegration(context.Background(), f.integration); err != nil {
		t.Fatal(err)
	}
	return f
}

// introspectionURL is Dovecot's passdb oauth2 URL: the resource server
// application's credentials in it.
func (w *world) introspectionURL() string {
	u, _ := url.Parse(w.base + pathIntro)
	u.User = url.UserPassword(w.rs.ID, w.rsKey)
	return u.String()
}

// server creates a mail server at addr and returns its ID.
func (f *mailFixture) server(t *testing.T, svc *mail.Service, set mail.Settings, addr string) string {
	t.Helper()
	f.n++
	host, port, _ := net.SplitHostPort(addr)
	set.Name = fmt.Sprintf("server %d", f.n)
	set.Host = host
	set.Port, _ = strconv.Atoi(port)
	if set.CACert == "" {
		set.CACert = f.dovecot.CACert
	}
	m, err := svc.Create(context.Background(), audit.CommandLine(), set)
	if err != nil {
		t.Fatalf("create %+v: %v", set, err)
	}
	return m.ID
}

func (f *mailFixture) test(t *testing.T, svc *mail.Service, id string) mail.Result {
	t.Helper()
	res, err := svc.Test(context.Background(), audit.CommandLine(), id)
	if err != nil {
		t.Fatalf("Test: %v", err)
	}
	return res
}

func byToken(username, sasl string) mail.Settings {
	return mail.Settings{Username: username, Integration: "int-gatehouse", SASL: sasl}
}

func byPassword(username, password string) mail.Settings {
	return mail.Settings{Username: username, Password: password}
}

// wantFailure checks a failed test: its step, its message key, and words
// that must be in its English message.
func wantFailure(t *testing.T, res mail.Result, step, key string, words ...string) {
	t.Helper()
	if res.OK || res.Problem == nil {
		t.Fatalf("test passed (%s), want a failure at %s", res.Message(), step)
	}
	if res.Step != step || res.Problem.Key != key {
		t.Fatalf("failed at %s with %s (%s), want %s with %s", res.Step, res.Problem.Key, res.Message(), step, key)
	}
	for _, w := range words {
		if !strings.Contains(res.Message(), w) {
			t.Errorf("message %q lacks %q", res.Message(), w)
		}
	}
}

// TestMailServersAtDovecot: the connection test signs in to a real Dovecot
// over IMAP and POP3, each with implicit TLS and with STARTTLS / STLS, each
// with XOAUTH2, OAUTHBEARER and a password, and counts what the test wrote
// into the maildir.
func TestMailServersAtDovecot(t *testing.T) {
	f := newMailFixture(t)
	d := f.dovecot
	listeners := []struct {
		protocol, tls, addr string
	}{
		{mail.IMAP, mail.TLSImplicit, d.IMAPSAddr},
		{mail.IMAP, mail.TLSStartTLS, d.IMAPAddr},
		{mail.POP3, mail.TLSImplicit, d.POP3SAddr},
		{mail.POP3, mail.TLSStartTLS, d.POP3Addr},
	}
	signIns := []struct {
		name      string
		set       mail.Settings
		messages  int
		mechanism map[string]string // by protocol
	}{
		{"XOAUTH2", byToken("alice", mail.XOAUTH2), aliceMessages, map[string]string{mail.IMAP: "XOAUTH2", mail.POP3: "XOAUTH2"}},
		{"OAUTHBEARER", byToken("alice", mail.OAuthBearer), aliceMessages, map[string]string{mail.IMAP: "OAUTHBEARER", mail.POP3: "OAUTHBEARER"}},
		{"what the server offers", byToken("alice", ""), aliceMessages, map[string]string{mail.IMAP: "XOAUTH2", mail.POP3: "XOAUTH2"}},
		{"password", byPassword("carol", carolPassword), carolMessages, map[string]string{mail.IMAP: "LOGIN", mail.POP3: "USER"}},
	}
	for _, l := range listeners {
		for _, s := range signIns {
			t.Run(l.protocol+" "+l.tls+" "+s.name, func(t *testing.T) {
				set := s.set
				set.Protocol, set.TLS = l.protocol, l.tls
				res := f.test(t, f.mail, f.server(t, f.mail, set, l.addr))
				if !res.OK {
					t.Fatalf("failed at %s: %s", res.Step, res.Message())
				}
				if res.Messages != s.messages || res.Mechanism != s.mechanism[l.protocol] || res.Refreshed {
					t.Fatalf("got %d messages with %s (refreshed %v), want %d with %s", res.Messages, res.Mechanism, res.Refreshed, s.messages, s.mechanism[l.protocol])
				}
			})
		}
	}
	if _, forced := f.tokens.counts(); forced != 0 {
		t.Fatalf("%d refreshes for tokens the server took", forced)
	}

	t.Run("wrong password", func(t *testing.T) {
		for _, l := range listeners {
			set := byPassword("carol", "not-the-password")
			set.Protocol, set.TLS = l.protocol, l.tls
			res := f.test(t, f.mail, f.server(t, f.mail, set, l.addr))
			// Dovecot's own words come through.
			wantFailure(t, res, mail.StepAuthenticate, "mail.password_refused", "carol", "Authentication failed")
		}
	})

	t.Run("untrusted certificate", func(t *testing.T) {
		for _, l := range listeners {
			set := byPassword("carol", carolPassword)
			set.Protocol, set.TLS = l.protocol, l.tls
			// A CA that did not issue the server's certificate.
			set.CACert = testdovecot.UnrelatedCA(t)
			res := f.test(t, f.mail, f.server(t, f.mail, set, l.addr))
			wantFailure(t, res, mail.StepTLS, "mail.tls_untrusted", testdovecot.ServerSubject, testdovecot.CASubject)
		}
		// The system's roots do not know the test CA either.
		m, err := f.mail.Create(context.Background(), audit.CommandLine(), mail.Settings{Name: "system roots", Protocol: mail.IMAP,
			Host: "127.0.0.1", Port: port(d.IMAPSAddr), TLS: mail.TLSImplicit, Username: "carol", Password: carolPassword})
		if err != nil {
			t.Fatal(err)
		}
		wantFailure(t, f.test(t, f.mail, m.ID), mail.StepTLS, "mail.tls_untrusted", testdovecot.ServerSubject, testdovecot.CASubject)
	})

	t.Run("implicit TLS to a plain port", func(t *testing.T) {
		for _, addr := range []string{d.IMAPAddr, d.POP3Addr} {
			protocol := mail.IMAP
			if addr == d.POP3Addr {
				protocol = mail.POP3
			}
			set := byPassword("carol", carolPassword)
			set.Protocol, set.TLS = protocol, mail.TLSImplicit
			wantFailure(t, f.test(t, f.mail, f.server(t, f.mail, set, addr)), mail.StepTLS, "mail.tls_not_tls", addr)
		}
	})

	t.Run("a plain start at an implicit TLS port", func(t *testing.T) {
		quick := mail.NewService(f.node.Store, f.node.Keys, f.tokens, mail.Options{Dev: true, Timeout: 3 * time.Second})
		for _, c := range []struct{ protocol, tls, addr string }{
			{mail.IMAP, mail.TLSStartTLS, d.IMAPSAddr},
			{mail.POP3, mail.TLSStartTLS, d.POP3SAddr},
			{mail.POP3, mail.TLSNone, d.POP3SAddr},
		} {
			set := byPassword("carol", carolPassword)
			set.Protocol, set.TLS = c.protocol, c.tls
			res := f.test(t, quick, f.server(t, quick, set, c.addr))
			if res.OK || (res.Step != mail.StepGreeting && res.Step != mail.StepTLS) {
				t.Errorf("%s %s at the TLS port: ok=%v at %s: %s", c.protocol, c.tls, res.OK, res.Step, res.Message())
			}
		}
	})

	t.Run("TLS none: development mode only", func(t *testing.T) {
		set := byPassword("carol", carolPassword)
		set.Protocol, set.TLS = mail.IMAP, mail.TLSNone
		id := f.server(t, f.mail, set, d.IMAPAddr)
		if res := f.test(t, f.mail, id); !res.OK || res.Messages != carolMessages {
			t.Fatalf("in development mode: %s", res.Message())
		}
		production := mail.NewService(f.node.Store, f.node.Keys, f.tokens, mail.Options{})
		set.Name = "plain in production"
		if _, err := production.Create(context.Background(), audit.CommandLine(), set); err == nil || !strings.Contains(err.Error(), "only in development mode") {
			t.Fatalf("created in production: %v", err)
		}
		// Saved in development mode, tested by a production node: refused
		// before any connection.
		wantFailure(t, f.test(t, production, id), mail.StepConnect, "mail.tls_none_production", "development mode")
	})

	t.Run("a token for another mailbox is refused, also after a refresh", func(t *testing.T) {
		_, before := f.tokens.counts()
		set := byToken("bob", mail.XOAUTH2)
		set.Protocol, set.TLS = mail.IMAP, mail.TLSImplicit
		res := f.test(t, f.mail, f.server(t, f.mail, set, d.IMAPSAddr))
		wantFailure(t, res, mail.StepAuthenticate, "mail.token_refused", "re-authorize", "Gatehouse provider", "bob")
		if _, after := f.tokens.counts(); after != before+1 || !res.Refreshed {
			t.Fatalf("refreshes %d → %d (refreshed %v); want exactly one", before, after, res.Refreshed)
		}
	})

	// Dovecot checks only "active" and the user name: a refresh token, which
	// never expires by default, must not open a mailbox.
	t.Run("a refresh token is no mail credential", func(t *testing.T) {
		f.tokens.reissue()
		f.tokens.mu.Lock()
		f.tokens.offerRefresh = true
		f.tokens.mu.Unlock()
		defer func() {
			f.tokens.mu.Lock()
			f.tokens.offerRefresh = false
			f.tokens.mu.Unlock()
		}()
		for _, mechanism := range []string{mail.XOAUTH2, mail.OAuthBearer} {
			set := byToken("alice", mechanism)
			set.Protocol, set.TLS = mail.IMAP, mail.TLSImplicit
			res := f.test(t, f.mail, f.server(t, f.mail, set, d.IMAPSAddr))
			wantFailure(t, res, mail.StepAuthenticate, "mail.token_refused", "re-authorize", "Gatehouse provider", "alice")
		}
	})

	t.Run("a revoked grant needs re-authorization", func(t *testing.T) {
		f.tokens.reissue()
		// Revoking the refresh token ends the whole grant, access token included.
		if r := f.postForm(pathRevoke, form("token", f.tokens.refresh), f.client.ID, f.secret); r.status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.status, r.raw)
		}
		for _, l := range listeners {
			set := byToken("alice", "")
			set.Protocol, set.TLS = l.protocol, l.tls
			res := f.test(t, f.mail, f.server(t, f.mail, set, l.addr))
			wantFailure(t, res, mail.StepToken, "mail.integration_reauth", "re-authorize", "Gatehouse provider")
		}
	})

	// Last: it moves the node's clock past the access token's lifetime.
	t.Run("an expired token is refreshed and the retry signs in", func(t *testing.T) {
		f.tokens.reissue()
		f.clock.Advance(2*time.Hour + time.Minute)
		for _, l := range listeners {
			_, before := f.tokens.counts()
			set := byToken("alice", mail.OAuthBearer)
			set.Protocol, set.TLS = l.protocol, l.tls
			res := f.test(t, f.mail, f.server(t, f.mail, set, l.addr))
			if !res.OK || res.Messages != aliceMessages || !res.Refreshed {
				t.Fatalf("%s %s: ok=%v refreshed=%v messages=%d: %s", l.protocol, l.tls, res.OK, res.Refreshed, res.Messages, res.Message())
			}
			if _, after := f.tokens.counts(); after != before+1 {
				t.Fatalf("%d refreshes, want 1", after-before)
			}
			f.clock.Advance(2*time.Hour + time.Minute) // expire the refreshed one for the next listener
		}
	})
}

// TestMailServerMechanisms: a Dovecot that does not offer XOAUTH2. Asked
// for XOAUTH2, the test says the server does not offer it, naming what it
// does offer; left to choose, it takes the server's OAUTHBEARER.
func TestMailServerMechanisms(t *testing.T) {
	w := newWorld(t, app.Registration{Name: "Mail client"})
	d := testdovecot.StartWith(t, testdovecot.Options{IntrospectionURL: w.introspectionURL(), TLS: true, Mechanisms: "plain login oauthbearer"})
	d.AddMessages(t, "alice", 2)
	tokens := w.newMailTokens()
	svc := mail.NewService(w.node.Store, w.node.Keys, tokens, mail.Options{Dev: true})
	if err := w.node.Store.CreateIntegration(context.Background(), store.Integration{ID: "int-gatehouse", Name: "Gatehouse provider", Provider: "custom"}); err != nil {
		t.Fatal(err)
	}
	create := func(name, sasl string) string {
		m, err := svc.Create(context.Background(), audit.CommandLine(), mail.Settings{Name: name, Protocol: mail.IMAP, Host: "127.0.0.1",
			Port: port(d.IMAPSAddr), TLS: mail.TLSImplicit, CACert: d.CACert, Username: "alice", Integration: "Gatehouse provider", SASL: sasl})
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	res, err := svc.Test(context.Background(), audit.CommandLine(), create("asks for XOAUTH2", mail.XOAUTH2))
	if err != nil {
		t.Fatal(err)
	}
	wantFailure(t, res, mail.StepAuthenticate, "mail.mechanism_missing", "does not offer XOAUTH2", "OAUTHBEARER")
	if asked, _ := tokens.counts(); asked != 1 {
		t.Errorf("tokens asked for: %d", asked)
	}
	res, err = svc.Test(context.Background(), audit.CommandLine(), create("takes what is offered", ""))
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Mechanism != "OAUTHBEARER" || res.Messages != 2 {
		t.Fatalf("ok=%v with %s, %d messages: %s", res.OK, res.Mechanism, res.Messages, res.Message())
	}
}

func port(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}
