package mail

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/validation"
)

func TestNormalize(t *testing.T) {
	base := Settings{Name: " Inbox ", Protocol: "IMAP", Host: "Mail.Example.COM.", TLS: "Implicit", Username: " ops ", Password: "pw"}
	got, err := normalize(base, false)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Inbox" || got.Protocol != IMAP || got.Host != "mail.example.com" || got.TLS != TLSImplicit || got.Port != 993 || got.Username != "ops" {
		t.Fatalf("normalize = %+v", got)
	}
	ports := []struct {
		protocol, tls string
		want          int
	}{{IMAP, TLSImplicit, 993}, {IMAP, TLSStartTLS, 143}, {POP3, TLSImplicit, 995}, {POP3, TLSStartTLS, 110}, {POP3, TLSNone, 110}}
	for _, p := range ports {
		s := base
		s.Protocol, s.TLS = p.protocol, p.tls
		if got, err := normalize(s, true); err != nil || got.Port != p.want {
			t.Errorf("%s %s: port %d, %v; want %d", p.protocol, p.tls, got.Port, err, p.want)
		}
	}
	if got, _ := normalize(Settings{Name: "v6", Protocol: POP3, Host: "[::1]", TLS: TLSImplicit, Username: "u", Password: "p"}, false); got.Host != "::1" {
		t.Errorf("an IPv6 literal in brackets became %q", got.Host)
	}

	ca := testCA(t)
	cases := []struct {
		name  string
		edit  func(*Settings)
		dev   bool
		key   string // "" when accepted
		words string
	}{
		{"none in production", func(s *Settings) { s.TLS = "none" }, false, "mail.tls_none_production", "development mode"},
		{"none in development", func(s *Settings) { s.TLS = "none" }, true, "", ""},
		{"empty name", func(s *Settings) { s.Name = "  " }, false, "mail.name_length", ""},
		{"bidi in name", func(s *Settings) { s.Name = "a\u202eb" }, false, "input.bidi", "name"},
		{"smtp", func(s *Settings) { s.Protocol = "smtp" }, false, "mail.protocol_unknown", "imap or pop3"},
		{"tls ssl", func(s *Settings) { s.TLS = "ssl" }, false, "mail.tls_unknown", ""},
		{"no host", func(s *Settings) { s.Host = "" }, false, "mail.host_required", ""},
		{"URL as host", func(s *Settings) { s.Host = "imaps://mail.example.com" }, false, "mail.host_invalid", "imaps://"},
		{"host with port", func(s *Settings) { s.Host = "mail.example.com:993" }, false, "mail.host_invalid", ""},
		{"host with space", func(s *Settings) { s.Host = "mail example" }, false, "mail.host_invalid", ""},
		{"an IP address out of range", func(s *Settings) { s.Host = "999.1.1.1" }, false, "mail.host_invalid", ""},
		{"an all-numeric top-level label", func(s *Settings) { s.Host = "mail.123" }, false, "mail.host_invalid", ""},
		{"control in host", func(s *Settings) { s.Host = "a\x00b" }, false, "input.control", "host"},
		{"port 0 is the default", func(s *Settings) { s.Port = 0 }, false, "", ""},
		{"port 65536", func(s *Settings) { s.Port = 65536 }, false, "mail.port_range", ""},
		{"port -1", func(s *Settings) { s.Port = -1 }, false, "mail.port_range", ""},
		{"no username", func(s *Settings) { s.Username = " " }, false, "mail.username_required", ""},
		{"long password", func(s *Settings) { s.Password = strings.Repeat("x", MaxPasswordBytes+1) }, false, "mail.password_too_long", ""},
		{"password with a line break", func(s *Settings) { s.Password = "a\r\nQUIT" }, false, "mail.password_line_break", ""},
		{"password and integration", func(s *Settings) { s.Integration = "Gmail" }, false, "mail.password_and_integration", "not both"},
		{"sasl without integration", func(s *Settings) { s.SASL = XOAUTH2 }, false, "mail.sasl_without_integration", ""},
		{"sasl plain", func(s *Settings) { s.Password, s.Integration, s.SASL = "", "Gmail", "plain" }, false, "mail.sasl_unknown", ""},
		{"sasl in capitals", func(s *Settings) { s.Password, s.Integration, s.SASL = "", "Gmail", "OAUTHBEARER" }, false, "", ""},
		{"a CA", func(s *Settings) { s.CACert = ca }, false, "", ""},
		{"a CA and a key", func(s *Settings) { s.CACert = ca + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" }, false, "mail.ca_not_certificate", "PRIVATE KEY"},
		{"not PEM", func(s *Settings) { s.CACert = "hello" }, false, "mail.ca_not_pem", ""},
		{"PEM and trailing garbage", func(s *Settings) { s.CACert = ca + "junk" }, false, "mail.ca_not_pem", ""},
		{"a damaged certificate", func(s *Settings) { s.CACert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" }, false, "mail.ca_invalid", ""},
		{"a huge CA", func(s *Settings) { s.CACert = strings.Repeat(ca, MaxCACertBytes/len(ca)+1) }, false, "mail.ca_too_large", ""},
	}
	for _, c := range cases {
		s := base
		c.edit(&s)
		_, err := normalize(s, c.dev)
		var v *validation.Error
		switch {
		case c.key == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.key == "":
		case !errors.As(err, &v) || v.Key != c.key || !errors.Is(err, ErrInvalid):
			t.Errorf("%s: %v; want key %s", c.name, err, c.key)
		case !strings.Contains(err.Error(), c.words):
			t.Errorf("%s: %q lacks %q", c.name, err, c.words)
		}
	}
}
