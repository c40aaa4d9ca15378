// Package mail holds the incoming mail servers (IMAP and POP3) and their
// connection test: connect, negotiate TLS (implicit, or STARTTLS / STLS),
// sign in with a password or with an integration's access token over SASL
// XOAUTH2 or OAUTHBEARER (RFC 7628), open INBOX (IMAP EXAMINE, POP3 STAT)
// and report its message count, or the step that failed in plain words.
//
// IMAP goes through go-imap v2; POP3 through the small client in
// internal/mail/pop3; XOAUTH2 is internal/mail/xoauth2.
//
// Invariants:
//   - Only system administrators manage and test mail servers (the command
//     line acts as one); every change and every test is audited, never
//     with the password or a token.
//   - A password is stored only sealed with the secret key (AES-256-GCM,
//     bound to the server's ID); it is never shown again, logged or
//     audited. A server that signs in with an integration keeps no password.
//   - TLS none is refused outside development mode, when saved and when
//     tested. With a CA certificate, that CA is the only root trusted for
//     the server; without, the system's roots. Certificates are always
//     verified, for the configured host name.
//   - A whole test, a token refresh and retry included, ends by a deadline
//     (Options.Timeout); each connection reads at most a bounded number of
//     bytes. A server refusing the access token gets one refreshed token
//     and one more try; after that, the refusal says to re-authorize.
//   - A failure is a *validation.Error with a message key, so pages word it
//     in their language; a server's own refusal text is passed on with its
//     control characters removed, cut at 300 characters.
package mail
