package testdovecot

import (
	"fmt"
	"net"
	"strings"
)

// oauth2Config is the passdb oauth2 file, the one docs/protocol.md shows.
// Dovecot 2.3 posts token=…&client_id=&client_secret= with the URL's
// credentials as HTTP Basic.
// scope, when set, is the scope a token must hold (the "scope" line).
func oauth2Config(introspectionURL, scope string) string {
	conf := `introspection_mode = post
introspection_url = ` + introspectionURL + `
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 10000
`
	if scope != "" {
		conf += "scope = " + scope + "\n"
	}
	return conf
}

// passwdFile is a passwd-file passdb: user:{PLAIN}password (test passwords
// only; a real one would use {SHA512-CRYPT} or {ARGON2ID}).
func passwdFile(passwords map[string]string) string {
	var b strings.Builder
	for user, password := range passwords {
		fmt.Fprintf(&b, "%s:{PLAIN}%s::::::\n", user, password)
	}
	return b.String()
}

// layout is what mainConfig writes: every file and socket inside dir,
// listeners on 127.0.0.1 ("" ports are off).
type layout struct {
	dir           string
	imap, imaps   string // ports
	pop3, pop3s   string
	tls           bool // cert.pem and key.pem in dir
	introspection bool // oauth2.conf.ext in dir
	passwords     bool // passwd in dir
	mechanisms    string
	acc           accounts
}

func port(addr string) string {
	if addr == "" {
		return "0"
	}
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// mainConfig is dovecot.conf. Plaintext authentication is allowed without
// TLS (on loopback, for a test); auth_failure_delay is off so that each
// refusal does not wait 2 seconds, and loopback is a trusted network so that
// anvil's growing penalty for repeated failures from one address is too.
func mainConfig(l layout) string {
	protocols := "imap"
	if l.pop3 != "" {
		protocols += " pop3"
	}
	conf := fmt.Sprintf(`protocols = %[2]s
listen = 127.0.0.1
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
disable_plaintext_auth = no
auth_mechanisms = %[3]s
auth_failure_delay = 0
auth_verbose = yes
default_internal_user = %[4]s
default_internal_group = %[5]s
default_login_user = %[6]s
first_valid_uid = %[7]d
mail_location = maildir:~/Maildir
userdb {
  driver = static
  args = uid=%[7]d gid=%[8]d home=%[1]s/home/%%u
}
`, l.dir, protocols, l.mechanisms, l.acc.internalUser, l.acc.internalGroup, l.acc.loginUser, l.acc.mailUID, l.acc.mailGID)
	if l.tls {
		conf += fmt.Sprintf("ssl = yes\nssl_cert = <%[1]s/cert.pem\nssl_key = <%[1]s/key.pem\nssl_min_protocol = TLSv1.2\n", l.dir)
	} else {
		conf += "ssl = no\n"
	}
	if l.introspection {
		conf += fmt.Sprintf("passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = %s/oauth2.conf.ext\n}\n", l.dir)
	}
	if l.passwords {
		conf += fmt.Sprintf("passdb {\n  driver = passwd-file\n  mechanisms = plain login\n  args = %s/passwd\n}\n", l.dir)
	}
	conf += fmt.Sprintf("service imap-login {\n  inet_listener imap {\n    port = %s\n  }\n  inet_listener imaps {\n    port = %s\n    ssl = yes\n  }\n}\n", port(l.imap), port(l.imaps))
	if l.pop3 != "" {
		conf += fmt.Sprintf("service pop3-login {\n  inet_listener pop3 {\n    port = %s\n  }\n  inet_listener pop3s {\n    port = %s\n    ssl = yes\n  }\n}\n", port(l.pop3), port(l.pop3s))
	}
	// No growing penalty for repeated failures from one address; chrooting needs root.
	anvil := "  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n"
	if l.acc.rootless {
		anvil += "  chroot =\n"
	}
	conf += "service anvil {\n" + anvil + "}\n"
	if l.acc.rootless {
		conf += "service imap-login {\n  chroot =\n}\n"
		if l.pop3 != "" {
			conf += "service pop3-login {\n  chroot =\n}\n"
		}
	}
	return conf
}
