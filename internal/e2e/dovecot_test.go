package e2e

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/mail/xoauth2"
	"github.com/gatehouse/gatehouse/internal/testdovecot"
)

// TestDovecotSignIn signs in to a real Dovecot IMAP server with Gatehouse
// access tokens from the real flow. Dovecot's passdb oauth2 checks each one
// by introspection as a resource server application (introspect_any), with
// HTTP Basic and an empty client_id and client_secret in the body, the
// request that RFC 6749 §3.1 makes valid.
func TestDovecotSignIn(t *testing.T) {
	w := newWorld(t, app.Registration{Name: "Mail client"})
	introspection, _ := url.Parse(w.base + pathIntro)
	introspection.User = url.UserPassword(w.rs.ID, w.rsKey)
	dovecot := testdovecot.Start(t, introspection.String())
	host, portText, _ := net.SplitHostPort(dovecot.IMAPAddr)
	port, _ := strconv.Atoi(portText)

	access := w.issue(w.alice, w.client, w.secret, "READ").str("access_token")
	mechanisms := []struct {
		name   string
		client func(username, token string) sasl.Client
	}{
		{"XOAUTH2", xoauth2.NewClient},
		{"OAUTHBEARER", func(username, token string) sasl.Client {
			return sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: username, Token: token, Host: host, Port: port})
		}},
	}
	for _, m := range mechanisms {
		t.Run(m.name+" signs in and selects INBOX", func(t *testing.T) {
			c := dialIMAP(t, dovecot.IMAPAddr)
			if err := c.Authenticate(m.client("alice", access)); err != nil {
				t.Fatalf("AUTHENTICATE %s: %v", m.name, err)
			}
			inbox, err := c.Select("INBOX", nil).Wait()
			if err != nil {
				t.Fatalf("SELECT INBOX: %v", err)
			}
			if inbox.NumMessages != 0 {
				t.Fatalf("INBOX of a new maildir has %d messages", inbox.NumMessages)
			}
			if err := c.Logout().Wait(); err != nil {
				t.Fatalf("LOGOUT: %v", err)
			}
		})
		t.Run(m.name+" refuses the token for another user", func(t *testing.T) {
			// Dovecot checks the name against the introspection's username.
			wantRefused(t, dialIMAP(t, dovecot.IMAPAddr).Authenticate(m.client("bob", access)))
		})
	}

	if r := w.postForm(pathRevoke, form("token", access), w.client.ID, w.secret); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	for _, m := range mechanisms {
		t.Run(m.name+" refuses a revoked token", func(t *testing.T) {
			wantRefused(t, dialIMAP(t, dovecot.IMAPAddr).Authenticate(m.client("alice", access)))
		})
	}
}

// TestDovecotRequiresTheMailScope: with introspect_any, every active token
// of a user — one they gave an unrelated application too — would open their
// mailbox; Dovecot's "scope" setting confines it to tokens that hold the
// scope meant for mail, which it reads from the introspection's scope.
func TestDovecotRequiresTheMailScope(t *testing.T) {
	w := newWorld(t, app.Registration{Name: "Mail client"})
	introspection, _ := url.Parse(w.base + pathIntro)
	introspection.User = url.UserPassword(w.rs.ID, w.rsKey)
	dovecot := testdovecot.StartWith(t, testdovecot.Options{IntrospectionURL: introspection.String(), Scope: "WRITE"})
	other := w.issue(w.alice, w.client, w.secret, "READ").str("access_token")
	wantRefused(t, dialIMAP(t, dovecot.IMAPAddr).Authenticate(xoauth2.NewClient("alice", other)))
	mail := w.issue(w.alice, w.client, w.secret, "WRITE").str("access_token")
	c := dialIMAP(t, dovecot.IMAPAddr)
	if err := c.Authenticate(xoauth2.NewClient("alice", mail)); err != nil {
		t.Fatalf("AUTHENTICATE with a token holding the mail scope: %v", err)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatalf("LOGOUT: %v", err)
	}
}

// dialIMAP connects to Dovecot, with every later wait bounded by a deadline.
func dialIMAP(t *testing.T, addr string) *imapclient.Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := imapclient.New(conn, nil)
	t.Cleanup(func() { c.Close() })
	if err := c.WaitGreeting(); err != nil {
		t.Fatalf("IMAP greeting: %v", err)
	}
	return c
}

// wantRefused checks that Dovecot refused the token as such, with the error
// challenge of the mechanism: status 401 for XOAUTH2, invalid_token for
// OAUTHBEARER. A failed introspection request (a wrong secret, a 400) would
// be a temporary failure instead: NO [UNAVAILABLE].
func wantRefused(t *testing.T, err error) {
	t.Helper()
	var xoauth2Err *xoauth2.Error
	var bearerErr *sasl.OAuthBearerError
	switch {
	case err == nil:
		t.Fatal("AUTHENTICATE succeeded, want it refused")
	case errors.As(err, &xoauth2Err) && xoauth2Err.Status == "401":
	case errors.As(err, &bearerErr) && bearerErr.Status == "invalid_token":
	default:
		t.Fatalf("AUTHENTICATE: %v, want the token refused", err)
	}
}
