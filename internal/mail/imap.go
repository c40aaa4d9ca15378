package mail

import (
	"crypto/tls"
	"errors"
	"net"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// imap runs the IMAP conversation (RFC 9051, RFC 3501): the greeting,
// STARTTLS when asked for, CAPABILITY, AUTHENTICATE (or LOGIN with a
// password), EXAMINE INBOX (read-only, so nothing in the mailbox changes)
// and LOGOUT.
func (s session) imap(conn net.Conn) probed {
	opts := &imapclient.Options{TLSConfig: s.t.tlsConfig()}
	var c *imapclient.Client
	if s.t.tls == TLSStartTLS {
		var err error
		if c, err = imapclient.NewStartTLS(conn, opts); err != nil {
			return probed{fail: s.imapStartTLSFailure(err)}
		}
	} else {
		c = imapclient.New(conn, opts)
		if err := c.WaitGreeting(); err != nil {
			c.Close()
			return probed{fail: s.greetingFailure(err)}
		}
	}
	defer c.Close()
	caps := c.Caps()
	if caps == nil && s.expired() {
		return probed{fail: s.timeout(StepAuthenticate)}
	}
	mech, f := s.imapSignIn(c, caps)
	if f != nil {
		return probed{fail: f}
	}
	inbox, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		var refusal *imap.Error
		if errors.As(err, &refusal) {
			return probed{fail: failAt(StepInbox, problem("mail.inbox_refused", "signed in, but the server would not open INBOX: %s", serverText(refusal.Text)))}
		}
		return probed{fail: s.broken(StepInbox, err, problem("mail.inbox_failed", "signed in, but opening INBOX failed: %s", errText(err)))}
	}
	c.Logout().Wait() //nolint:errcheck // the answer is in; a failed goodbye changes nothing
	return probed{messages: int(inbox.NumMessages), mechanism: mech}
}

// imapSignIn signs in and returns the mechanism used.
func (s session) imapSignIn(c *imapclient.Client, caps imap.CapSet) (string, *failure) {
	if s.cred.token == "" {
		if caps.Has(imap.CapLoginDisabled) {
			return "", failAt(StepAuthenticate, problem("mail.password_disabled", "the server does not take a password on this connection (LOGINDISABLED); use TLS"))
		}
		if err := c.Login(s.cred.username, s.cred.password).Wait(); err != nil {
			return "", s.imapRefusal(err)
		}
		return "LOGIN", nil
	}
	mech, f := s.chooseMechanism(caps.AuthMechanisms())
	if f != nil {
		return "", f
	}
	if err := c.Authenticate(s.saslClient(mech)); err != nil {
		return "", s.imapRefusal(err)
	}
	return strings.ToUpper(mech), nil
}

// imapRefusal words a failed AUTHENTICATE or LOGIN.
func (s session) imapRefusal(err error) *failure {
	if text, ok := tokenRefusal(err); ok {
		return s.refused(text)
	}
	var refusal *imap.Error
	switch {
	case errors.As(err, &refusal) && refusal.Code == imap.ResponseCodeUnavailable:
		return unavailable(refusal.Text)
	case errors.As(err, &refusal):
		return s.refused(refusal.Text)
	}
	return s.broken(StepAuthenticate, err, problem("mail.auth_failed", "signing in failed: %s", errText(err)))
}

// greetingFailure words a server that did not greet as an IMAP server.
// go-imap keeps only the text of what went wrong, so a deadline is
// recognised by the clock.
func (s session) greetingFailure(err error) *failure {
	if s.expired() || isTimeout(err) {
		return failAt(StepGreeting, problem("mail.greeting_timeout", "the server at %s sent no greeting within %d seconds; if that port expects TLS from the first byte, choose implicit TLS", s.t.addr(), seconds(s.limit)))
	}
	return failAt(StepGreeting, problem("mail.greeting_wrong", "the server at %s did not greet in the %s protocol (%s); check the protocol, the port and the TLS mode", s.t.addr(), strings.ToUpper(s.t.protocol), errText(err)))
}

// imapStartTLSFailure words a failed greeting, STARTTLS or handshake.
func (s session) imapStartTLSFailure(err error) *failure {
	var refusal *imap.Error
	switch {
	case errors.As(err, &refusal):
		return failAt(StepTLS, problem("mail.starttls_refused", "the server does not offer %s on this port: %s", "STARTTLS", serverText(refusal.Text)))
	case isTLSError(err):
		return tlsFailure(err, s.t.host, s.t.addr(), s.expired(), s.limit)
	}
	return s.greetingFailure(err)
}

// isTLSError reports a failure of the TLS handshake itself.
func isTLSError(err error) bool {
	var verify *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	var alert tls.AlertError
	return errors.As(err, &verify) || errors.As(err, &record) || errors.As(err, &alert) || strings.HasPrefix(err.Error(), "tls: ")
}
