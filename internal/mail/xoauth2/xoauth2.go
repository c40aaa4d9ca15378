// Package xoauth2 is the client side of XOAUTH2, the SASL mechanism with
// which Gmail, Outlook and Dovecot's passdb oauth2 take an OAuth 2.0 access
// token. go-sasl has OAUTHBEARER (RFC 7628), its standard successor, but not
// this one. The format is Google's:
// https://developers.google.com/gmail/imap/xoauth2-protocol
package xoauth2

import (
	"encoding/json"
	"fmt"

	"github.com/emersion/go-sasl"
)

// Mechanism is the SASL mechanism name.
const Mechanism = "XOAUTH2"

// Error is a server's refusal: the JSON challenge an XOAUTH2 server sends
// before it fails the exchange, such as Gmail's and Dovecot's
// {"status":"401","schemes":"bearer","scope":"…"}.
type Error struct {
	Status  string `json:"status"`
	Schemes string `json:"schemes"`
	Scope   string `json:"scope"`
}

func (e *Error) Error() string {
	return "xoauth2: the server refused the token (status " + e.Status + ")"
}

// NewClient returns a SASL client that signs username in with an access token.
func NewClient(username, accessToken string) sasl.Client {
	return &client{username: username, token: accessToken}
}

type client struct{ username, token string }

// Start sends everything in the initial response:
// "user=" username ^A "auth=Bearer " token ^A ^A.
func (c *client) Start() (string, []byte, error) {
	return Mechanism, []byte("user=" + c.username + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

// Next gets only a refusal, which it returns as an *Error, as go-sasl's
// OAUTHBEARER client does. The mechanism would then have the client send an
// empty response, but go-imap writes that as "=", which Dovecot 2.3 rejects
// as bad base64; so the exchange is left unfinished and the caller closes
// the connection, as after any failed sign-in.
func (c *client) Next(challenge []byte) ([]byte, error) {
	e := &Error{}
	if err := json.Unmarshal(challenge, e); err != nil || e.Status == "" {
		return nil, fmt.Errorf("xoauth2: unexpected server challenge %.200q", challenge)
	}
	return nil, e
}
