package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"

	"github.com/gatehouse/gatehouse/internal/mail/xoauth2"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// target is where a test connects, and how.
type target struct {
	protocol string
	host     string
	port     int
	tls      string
	roots    *x509.CertPool // nil: the system's roots
}

func (t target) addr() string { return net.JoinHostPort(t.host, strconv.Itoa(t.port)) }

// tlsConfig is the client TLS configuration for the server: its name
// checked against the certificate, TLS 1.2 or later.
func (t target) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: t.host, RootCAs: t.roots, MinVersion: tls.VersionTLS12, NextProtos: []string{t.protocol}}
}

// credential signs in: a password, or an access token with SASL.
type credential struct {
	username string
	password string
	token    string
	sasl     string // XOAUTH2, OAuthBearer or "" (what the server offers)
}

// probed is what a connection found out.
type probed struct {
	messages  int
	mechanism string // how it signed in: XOAUTH2, OAUTHBEARER, LOGIN (IMAP) or USER (POP3)
	fail      *failure
}

// maxRead caps what one IMAP connection reads: a test exchanges a few
// lines, so a server sending more is not one to wait for.
const maxRead = 1 << 20

// probe connects, negotiates TLS, signs in and opens INBOX, all before
// deadline, and always closes the connection.
func probe(ctx context.Context, t target, cred credential, deadline time.Time) probed {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	limit := time.Until(deadline)
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", t.addr())
	if err != nil {
		return probed{fail: dialFailure(err, t.host, t.addr(), ctx.Err() != nil, limit)}
	}
	defer raw.Close()
	raw.SetDeadline(deadline)
	// Cancelling the test (the caller went away) ends the connection at once.
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	conn := &guarded{Conn: raw}
	conn.left.Store(maxRead)
	s := session{t: t, cred: cred, deadline: deadline, limit: limit, read: conn}
	var c net.Conn = conn
	if t.tls == TLSImplicit {
		tc := tls.Client(conn, t.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return probed{fail: tlsFailure(err, t.host, t.addr(), s.expired(), limit)}
		}
		c = tc
	}
	if t.protocol == POP3 {
		return s.pop3(c)
	}
	return s.imap(c)
}

// guarded is a connection whose deadline the protocol libraries cannot
// move (go-imap sets its own generous ones) and whose reads stop after a
// budget. go-imap reads in a goroutine of its own, hence the atomic.
type guarded struct {
	net.Conn
	left atomic.Int64
}

var errTooMuch = errors.New("the server sent far more than a connection test needs")

func (g *guarded) Read(p []byte) (int, error) {
	left := g.left.Load()
	if left <= 0 {
		return 0, errTooMuch
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := g.Conn.Read(p)
	g.left.Add(-int64(n))
	return n, err
}

func (g *guarded) SetDeadline(time.Time) error      { return nil }
func (g *guarded) SetReadDeadline(time.Time) error  { return nil }
func (g *guarded) SetWriteDeadline(time.Time) error { return nil }

// session is one connection's conversation, after TCP (and implicit TLS).
type session struct {
	t        target
	cred     credential
	deadline time.Time
	limit    time.Duration
	read     *guarded // what was read, for a server that would not stop
}

func (s session) expired() bool { return !time.Now().Before(s.deadline) }

// timeout words a deadline that passed during step.
func (s session) timeout(step string) *failure {
	return failAt(step, problem("mail.timeout", "the server at %s stopped answering: no reply within %d seconds", s.t.addr(), seconds(s.limit)))
}

// saslClient is the mechanism's client for the token.
func (s session) saslClient(mech string) sasl.Client {
	if mech == XOAUTH2 {
		return xoauth2.NewClient(s.cred.username, s.cred.token)
	}
	return sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: s.cred.username, Token: s.cred.token, Host: s.t.host, Port: s.t.port})
}

// chooseMechanism picks the SASL mechanism among those the server offers
// (upper case): the one configured, else XOAUTH2, else OAUTHBEARER.
func (s session) chooseMechanism(offered []string) (string, *failure) {
	has := func(m string) bool {
		for _, o := range offered {
			if strings.EqualFold(o, m) {
				return true
			}
		}
		return false
	}
	list := strings.Join(offered, " ")
	if list == "" {
		list = "none"
	}
	if s.cred.sasl != "" {
		if !has(s.cred.sasl) {
			return "", failAt(StepAuthenticate, problem("mail.mechanism_missing", "the server does not offer %s (it offers: %s)", strings.ToUpper(s.cred.sasl), list))
		}
		return s.cred.sasl, nil
	}
	for _, m := range []string{XOAUTH2, OAuthBearer} {
		if has(m) {
			return m, nil
		}
	}
	return "", failAt(StepAuthenticate, problem("mail.no_oauth_mechanism", "the server offers neither XOAUTH2 nor OAUTHBEARER (it offers: %s), so it cannot take an access token", list))
}

// tokenRefusal reads a SASL mechanism's refusal challenge, if err is one.
func tokenRefusal(err error) (string, bool) {
	var x *xoauth2.Error
	var b *sasl.OAuthBearerError
	switch {
	case errors.As(err, &x):
		return "status " + x.Status, true
	case errors.As(err, &b):
		return "status " + b.Status, true
	}
	return "", false
}

// refused words the server's refusal of the sign-in. A refused token is
// only marked: the caller refreshes it and tries again, and words the
// outcome.
func (s session) refused(text string) *failure {
	if s.cred.token != "" {
		return &failure{step: StepAuthenticate, tokenRefused: true, serverSaid: serverText(text)}
	}
	return failAt(StepAuthenticate, problem("mail.password_refused", "the server refused the sign-in of %s (check the username and the password): %s", s.cred.username, serverText(text)))
}

// unavailable words a server that could not check the sign-in just now.
func unavailable(text string) *failure {
	return failAt(StepAuthenticate, problem("mail.auth_unavailable", "the server could not check the sign-in just now (a temporary failure on its side): %s", serverText(text)))
}

// broken is why the conversation failed at step, unless the deadline passed
// (then the server stopped answering).
func (s session) broken(step string, err error, why *validation.Error) *failure {
	if s.expired() || isTimeout(err) {
		return s.timeout(step)
	}
	if s.read.left.Load() <= 0 {
		return failAt(step, problem("mail.too_much", "the server at %s sent far more than a connection test needs (over %d KiB); check that it is a mail server", s.t.addr(), maxRead>>10))
	}
	return failAt(step, why)
}
