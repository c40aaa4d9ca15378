package mail

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/gatehouse/gatehouse/internal/validation"
)

// Steps of a connection test, in order; a failure names the one it stopped at.
const (
	StepConnect      = "connect"
	StepTLS          = "tls"
	StepGreeting     = "greeting"
	StepToken        = "token" // getting the integration's access token
	StepAuthenticate = "authenticate"
	StepInbox        = "inbox"
)

// failure is why a test stopped: the step, and the reason in words (English
// text and a message key, so pages can word it in their language).
type failure struct {
	step string
	why  *validation.Error
	// tokenRefused: the server refused the access token itself, so a
	// refreshed token may pass.
	tokenRefused bool
	serverSaid   string // the server's refusal, shown again after a retry
}

func failAt(step string, why *validation.Error) *failure { return &failure{step: step, why: why} }

// problem is a failure's words: English text and a message key.
func problem(key, format string, args ...any) *validation.Error {
	return validation.Errorf(nil, key, format, args...)
}

// serverText makes a server's words safe to show: no control characters,
// at most 300 characters.
func serverText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if r := []rune(s); len(r) > 300 {
		s = string(r[:300]) + "…"
	}
	if s == "" {
		return "(no text)"
	}
	return s
}

// dialFailure words a failed TCP connection.
func dialFailure(err error, host, addr string, expired bool, limit time.Duration) *failure {
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		return failAt(StepConnect, problem("mail.connect_dns", "cannot connect: the host name %q is not known (DNS found no address)", host))
	case errors.Is(err, syscall.ECONNREFUSED):
		return failAt(StepConnect, problem("mail.connect_refused", "cannot connect to %s: nothing listens on that port (connection refused); check the host and the port", addr))
	case expired || isTimeout(err):
		return failAt(StepConnect, problem("mail.connect_timeout", "cannot connect to %s: no answer within %d seconds (a firewall, or a wrong host or port)", addr, seconds(limit)))
	}
	return failAt(StepConnect, problem("mail.connect_failed", "cannot connect to %s: %s", addr, errText(err)))
}

// tlsFailure words a failed TLS handshake, naming the certificate's subject
// and issuer when the server's certificate is the reason.
func tlsFailure(err error, host, addr string, expired bool, limit time.Duration) *failure {
	var verify *tls.CertificateVerificationError
	var leaf *x509.Certificate
	if errors.As(err, &verify) && len(verify.UnverifiedCertificates) > 0 {
		leaf = verify.UnverifiedCertificates[0]
	}
	var unknown x509.UnknownAuthorityError
	var name x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	var record tls.RecordHeaderError
	switch {
	case errors.As(err, &unknown):
		if leaf == nil {
			leaf = unknown.Cert
		}
		return failAt(StepTLS, problem("mail.tls_untrusted", "the server's certificate is not trusted: subject %q, issued by %q, which is not a trusted certificate authority; if the server uses a private CA, add that CA's certificate to this mail server", subject(leaf), issuer(leaf)))
	case errors.As(err, &name):
		if leaf == nil {
			leaf = name.Certificate
		}
		return failAt(StepTLS, problem("mail.tls_hostname", "the server's certificate (subject %q, issued by %q) is not valid for %s; it names %s", subject(leaf), issuer(leaf), host, certNames(leaf)))
	case errors.As(err, &invalidCert) && invalidCert.Reason == x509.Expired:
		if leaf == nil {
			leaf = invalidCert.Cert
		}
		return failAt(StepTLS, problem("mail.tls_expired", "the server's certificate (subject %q, issued by %q) is outside its validity period (%s to %s)", subject(leaf), issuer(leaf),
			leaf.NotBefore.UTC().Format(time.DateOnly), leaf.NotAfter.UTC().Format(time.DateOnly)))
	case errors.As(err, &invalidCert):
		if leaf == nil {
			leaf = invalidCert.Cert
		}
		return failAt(StepTLS, problem("mail.tls_invalid", "the server's certificate (subject %q, issued by %q) is not valid: %s", subject(leaf), issuer(leaf), errText(err)))
	case errors.As(err, &record):
		return failAt(StepTLS, problem("mail.tls_not_tls", "TLS negotiation with %s failed: the server did not answer in TLS; the port may be for STARTTLS or plain connections (implicit TLS is usually 993 for IMAP, 995 for POP3)", addr))
	case expired || isTimeout(err):
		return failAt(StepTLS, problem("mail.tls_timeout", "TLS negotiation with %s did not finish within %d seconds", addr, seconds(limit)))
	}
	return failAt(StepTLS, problem("mail.tls_failed", "TLS negotiation with %s failed: %s", addr, errText(err)))
}

func subject(c *x509.Certificate) string {
	if c == nil {
		return "?"
	}
	return c.Subject.String()
}

func issuer(c *x509.Certificate) string {
	if c == nil {
		return "?"
	}
	return c.Issuer.String()
}

// certNames lists the names a certificate is valid for.
func certNames(c *x509.Certificate) string {
	if c == nil {
		return "no name"
	}
	names := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "no name (only the subject " + c.Subject.String() + ")"
	}
	return strings.Join(names, ", ")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func seconds(d time.Duration) int { return int(d.Round(time.Second) / time.Second) }

// errText is an error's text for a message; a network error's, without the
// Go operation prefixes.
func errText(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err
	}
	return serverText(err.Error())
}
