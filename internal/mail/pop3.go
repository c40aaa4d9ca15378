package mail

import (
	"errors"
	"net"
	"strings"

	"github.com/gatehouse/gatehouse/internal/mail/pop3"
)

// pop3 runs the POP3 conversation: the greeting, CAPA, STLS when asked for
// (and CAPA again, RFC 2595 §4), AUTH (RFC 5034) or USER/PASS with a
// password, STAT and QUIT.
func (s session) pop3(conn net.Conn) probed {
	c, err := pop3.NewClient(conn)
	if err != nil {
		return probed{fail: s.greetingFailure(err)}
	}
	defer c.Close()
	caps, f := s.pop3Capabilities(c)
	if f != nil {
		return probed{fail: f}
	}
	if s.t.tls == TLSStartTLS {
		if _, ok := caps["STLS"]; !ok {
			return probed{fail: failAt(StepTLS, problem("mail.starttls_refused", "the server does not offer %s on this port: %s", "STLS", "it is not among its capabilities (CAPA)"))}
		}
		if err := c.StartTLS(s.t.tlsConfig()); err != nil {
			var refusal *pop3.Error
			if errors.As(err, &refusal) {
				return probed{fail: failAt(StepTLS, problem("mail.starttls_refused", "the server does not offer %s on this port: %s", "STLS", serverText(refusal.Text)))}
			}
			return probed{fail: tlsFailure(err, s.t.host, s.t.addr(), s.expired(), s.limit)}
		}
		if caps, f = s.pop3Capabilities(c); f != nil {
			return probed{fail: f}
		}
	}
	mech, f := s.pop3SignIn(c, caps)
	if f != nil {
		return probed{fail: f}
	}
	n, _, err := c.Stat()
	if err != nil {
		var refusal *pop3.Error
		if errors.As(err, &refusal) {
			return probed{fail: failAt(StepInbox, problem("mail.inbox_refused", "signed in, but the server would not open INBOX: %s", serverText(refusal.Text)))}
		}
		return probed{fail: s.broken(StepInbox, err, problem("mail.inbox_failed", "signed in, but opening INBOX failed: %s", errText(err)))}
	}
	c.Quit() //nolint:errcheck // the answer is in; a failed goodbye changes nothing
	return probed{messages: n, mechanism: mech}
}

// pop3Capabilities asks for CAPA; a server without it (RFC 1939 only)
// lists nothing.
func (s session) pop3Capabilities(c *pop3.Client) (map[string][]string, *failure) {
	caps, err := c.Capabilities()
	var refusal *pop3.Error
	switch {
	case errors.As(err, &refusal):
		return map[string][]string{}, nil
	case err != nil:
		return nil, s.broken(StepAuthenticate, err, problem("mail.auth_failed", "signing in failed: %s", errText(err)))
	}
	return caps, nil
}

// pop3SignIn signs in and returns the mechanism used.
func (s session) pop3SignIn(c *pop3.Client, caps map[string][]string) (string, *failure) {
	var err error
	mech := "USER"
	if s.cred.token == "" {
		err = c.Login(s.cred.username, s.cred.password)
	} else {
		var f *failure
		if mech, f = s.chooseMechanism(caps["SASL"]); f != nil {
			return "", f
		}
		err = c.Auth(s.saslClient(mech))
		mech = strings.ToUpper(mech)
	}
	if err == nil {
		return mech, nil
	}
	if text, ok := tokenRefusal(err); ok {
		return "", s.refused(text)
	}
	var refusal *pop3.Error
	switch {
	case errors.As(err, &refusal) && (refusal.Code == "SYS/TEMP" || refusal.Code == "IN-USE"):
		return "", unavailable(refusal.Text)
	case errors.As(err, &refusal):
		return "", s.refused(refusal.Text)
	}
	return "", s.broken(StepAuthenticate, err, problem("mail.auth_failed", "signing in failed: %s", errText(err)))
}
