package mail

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"strings"

	"github.com/gatehouse/gatehouse/internal/validation"
)

// Protocols.
const (
	IMAP = "imap"
	POP3 = "pop3"
)

// TLS modes.
const (
	TLSImplicit = "implicit" // TLS from the first byte (IMAPS 993, POP3S 995)
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (IMAP) or STLS (POP3)
	TLSNone     = "none"     // no TLS: development mode only
)

// SASL mechanisms for integration sign-in; "" takes what the server offers.
const (
	XOAUTH2     = "xoauth2"
	OAuthBearer = "oauthbearer"
)

// ErrInvalid is wrapped by every refusal of a mail server's settings, each a
// *validation.Error: its English text is fit to show, and its key words it in
// other languages.
var ErrInvalid = errors.New("invalid mail server")

func invalid(key, format string, args ...any) error {
	return validation.Errorf(ErrInvalid, key, format, args...)
}

// Settings are what an administrator fills in for a mail server.
type Settings struct {
	Name     string
	Protocol string // IMAP or POP3
	Host     string
	Port     int    // 0: the protocol's port for the TLS mode (993/143, 995/110)
	TLS      string // TLSImplicit, TLSStartTLS or TLSNone
	// CACert is a PEM certificate (or several) of the CA that issued a
	// private server's certificate; when set, the only roots trusted.
	CACert   string
	Username string
	// Password signs in with the password; on an update, "" keeps the
	// stored one if the server signed in with a password already.
	Password string
	// Integration, an integration's ID or name, signs in with its access
	// token instead of a password.
	Integration string
	SASL        string // XOAUTH2, OAuthBearer or "" (what the server offers)
}

// Limits of the fields (see internal/validation for the input policy).
var (
	nameRule     = validation.TextRule{Field: "name", Max: 200, Name: true}
	hostRule     = validation.TextRule{Field: "host", Max: 253}
	usernameRule = validation.TextRule{Field: "username", Max: 320}
	refRule      = validation.TextRule{Field: "integration", Max: 200}
)

// MaxPasswordBytes bounds a mail password; MaxCACertBytes a CA certificate.
const (
	MaxPasswordBytes = 1024
	MaxCACertBytes   = 64 << 10
)

// DefaultPort is the port of protocol in a TLS mode.
func DefaultPort(protocol, tlsMode string) int {
	implicit := tlsMode == TLSImplicit
	switch {
	case protocol == POP3 && implicit:
		return 995
	case protocol == POP3:
		return 110
	case implicit:
		return 993
	}
	return 143
}

// normalize checks everything but the credentials and the integration,
// which need the stored server and the store, and returns the settings in
// canonical form.
func normalize(s Settings, dev bool) (Settings, error) {
	s.Name = validation.CollapseSpaces(s.Name)
	if s.Name == "" {
		return s, invalid("mail.name_length", "name must be 1-%d characters", nameRule.Max)
	}
	if err := nameRule.Check(ErrInvalid, s.Name); err != nil {
		return s, err
	}
	s.Protocol = strings.ToLower(strings.TrimSpace(s.Protocol))
	if s.Protocol != IMAP && s.Protocol != POP3 {
		return s, invalid("mail.protocol_unknown", "protocol must be imap or pop3")
	}
	s.TLS = strings.ToLower(strings.TrimSpace(s.TLS))
	switch s.TLS {
	case TLSImplicit, TLSStartTLS:
	case TLSNone:
		if !dev {
			return s, noneRefusal()
		}
	default:
		return s, invalid("mail.tls_unknown", "tls must be implicit, starttls or none")
	}
	var err error
	if s.Host, err = checkHost(s.Host); err != nil {
		return s, err
	}
	if s.Port == 0 {
		s.Port = DefaultPort(s.Protocol, s.TLS)
	}
	if s.Port < 1 || s.Port > 65535 {
		return s, invalid("mail.port_range", "port must be 1-65535")
	}
	if s.CACert = strings.TrimSpace(s.CACert); s.CACert != "" {
		if _, err := caPool(s.CACert); err != nil {
			return s, err
		}
	}
	s.Username = strings.TrimSpace(s.Username)
	if s.Username == "" {
		return s, invalid("mail.username_required", "username is required: the mailbox to sign in to")
	}
	if err := usernameRule.Check(ErrInvalid, s.Username); err != nil {
		return s, err
	}
	if len(s.Password) > MaxPasswordBytes {
		return s, invalid("mail.password_too_long", "password must be at most %d bytes", MaxPasswordBytes)
	}
	if strings.ContainsAny(s.Password, "\r\n\x00") {
		return s, invalid("mail.password_line_break", "password must not hold a line break or NUL")
	}
	s.Integration = strings.TrimSpace(s.Integration)
	if err := refRule.Check(ErrInvalid, s.Integration); err != nil {
		return s, err
	}
	s.SASL = strings.ToLower(strings.TrimSpace(s.SASL))
	switch {
	case s.SASL != "" && s.SASL != XOAUTH2 && s.SASL != OAuthBearer:
		return s, invalid("mail.sasl_unknown", "sasl must be xoauth2 or oauthbearer (or empty for what the server offers)")
	case s.SASL != "" && s.Integration == "":
		return s, invalid("mail.sasl_without_integration", "sasl applies only to sign-in with an integration")
	case s.Password != "" && s.Integration != "":
		return s, invalid("mail.password_and_integration", "give a password or an integration, not both")
	}
	return s, nil
}

// checkHost accepts a DNS name or an IP address, without scheme or port.
func checkHost(host string) (string, error) {
	host = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
	if host == "" {
		return "", invalid("mail.host_required", "host is required")
	}
	if err := hostRule.Check(ErrInvalid, host); err != nil {
		return "", err
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		return ip.String(), nil
	}
	labels := strings.Split(host, ".")
	// An all-numeric last label is no top-level domain (RFC 3696 §2): such
	// a name is a mistyped IP address (999.1.1.1), which no lookup resolves.
	if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" {
		return "", invalid("mail.host_invalid", "host %q is not a host name or IP address (no scheme, port or path; an internationalised name in its xn-- form)", host)
	}
	for _, label := range labels {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' ||
			strings.IndexFunc(label, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
			}) >= 0 {
			return "", invalid("mail.host_invalid", "host %q is not a host name or IP address (no scheme, port or path; an internationalised name in its xn-- form)", host)
		}
	}
	return host, nil
}

// caPool parses a PEM bundle of CA certificates.
func caPool(bundle string) (*x509.CertPool, error) {
	if len(bundle) > MaxCACertBytes {
		return nil, invalid("mail.ca_too_large", "the CA certificate must be at most %d KiB", MaxCACertBytes>>10)
	}
	pool := x509.NewCertPool()
	rest, n := []byte(bundle), 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, invalid("mail.ca_not_certificate", "the CA certificate holds a %q block; give only CERTIFICATE blocks (never a private key)", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, invalid("mail.ca_invalid", "the CA certificate could not be read: %s", err.Error())
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 || strings.TrimSpace(string(rest)) != "" {
		return nil, invalid("mail.ca_not_pem", "the CA certificate must be PEM: -----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----")
	}
	return pool, nil
}
