package store

import (
	"context"
	"time"
)

// MailServer is an incoming mail server (IMAP or POP3) whose INBOX Gatehouse
// signs in to, with a password or an integration's access token.
type MailServer struct {
	ID       string
	Name     string // unique, compared case-insensitively
	Protocol string // "imap" or "pop3"
	Host     string
	Port     int
	TLS      string // "implicit", "starttls" or "none"
	// CACert is PEM: when set, the only roots trusted for this server.
	CACert   string
	Username string
	// PasswordSealed is the password encrypted with a key kept outside the
	// database; nil when the server signs in with an integration.
	PasswordSealed []byte
	// IntegrationID names the integration whose access token signs in; ""
	// for password sign-in.
	IntegrationID string
	// SASL is "xoauth2", "oauthbearer", or "" for what the server offers.
	SASL      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MailServers holds the incoming mail servers.
type MailServers interface {
	// CreateMailServer inserts m; ErrConflict when its name (folded to lower
	// case) or ID is taken.
	CreateMailServer(ctx context.Context, m MailServer) error
	MailServerByID(ctx context.Context, id string) (MailServer, error)
	// MailServerByName finds a server by name, case-insensitively.
	MailServerByName(ctx context.Context, name string) (MailServer, error)
	// ListMailServers returns every server, by name.
	ListMailServers(ctx context.Context) ([]MailServer, error)
	// UpdateMailServer reads the server inside a write transaction (locking
	// its row), applies change and writes back every field but ID and
	// CreatedAt in that transaction: concurrent changes apply one after the
	// other. An error from change writes nothing and is returned as it is.
	// ErrNotFound for an unknown ID, ErrConflict for a name taken by another.
	UpdateMailServer(ctx context.Context, id string, change func(*MailServer) error) (MailServer, error)
	// DeleteMailServer removes it; ErrNotFound when there is none.
	DeleteMailServer(ctx context.Context, id string) error
}
