package testdovecot

import "fmt"

// oauth2Config is the passdb oauth2 file, the one docs/protocol.md shows.
// Dovecot 2.3 posts token=…&client_id=&client_secret= with the URL's
// credentials as HTTP Basic.
func oauth2Config(introspectionURL string) string {
	return `introspection_mode = post
introspection_url = ` + introspectionURL + `
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 10000
`
}

// mainConfig is dovecot.conf: IMAP on 127.0.0.1:port, every file and socket
// inside dir. Without TLS, plaintext authentication must be allowed (on
// loopback, for a test); auth_failure_delay is off so that each refusal does
// not wait 2 seconds.
func mainConfig(dir, port string, acc accounts) string {
	conf := fmt.Sprintf(`protocols = imap
listen = 127.0.0.1
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = xoauth2 oauthbearer
auth_failure_delay = 0
auth_verbose = yes
default_internal_user = %[3]s
default_internal_group = %[4]s
default_login_user = %[5]s
first_valid_uid = %[6]d
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    port = %[2]s
  }
  inet_listener imaps {
    port = 0
  }
}
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = %[1]s/oauth2.conf.ext
}
userdb {
  driver = static
  args = uid=%[6]d gid=%[7]d home=%[1]s/home/%%u
}
`, dir, port, acc.internalUser, acc.internalGroup, acc.loginUser, acc.mailUID, acc.mailGID)
	if acc.rootless {
		// Chrooting needs root.
		conf += "service anvil {\n  chroot =\n}\nservice imap-login {\n  chroot =\n}\n"
	}
	return conf
}
