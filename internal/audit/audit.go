// Package audit records who did what, when and from where: every
// administrative change, credential view, consent, revocation, failed sign-in
// and throttling event. Events are appended to the store and never purged.
// A change commits with its event (Pending); an event recorded after its
// action (Record) must not fail that action, which already happened, so a
// store error is logged loudly instead of returned; an action that must not
// happen unaudited records its event first (Require).
package audit

import (
	"context"
	"fmt"
	"log/slog"
	osuser "os/user"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Event kinds.
const (
	ClientCreate      = "client.create"
	ClientUpdate      = "client.update"
	ClientEnable      = "client.enable"
	ClientDisable     = "client.disable"
	ClientDelete      = "client.delete"
	ClientLogo        = "client.logo"
	ClientSecretReset = "client.secret.rotate"
	ClientSecretView  = "client.secret.view"
	UserCreate        = "user.create"
	UserUpdate        = "user.update"
	UserPassword      = "user.password"        // an administrator's reset
	UserPasswordOwn   = "user.password_change" // the user's own change
	UserSignOutAll    = "user.signout_all"
	ConsentAllow      = "consent.allow"
	ConsentDeny       = "consent.deny"
	TokenRevoke       = "token.revoke"
	GrantRevoke       = "grant.revoke"
	SignInSuccess     = "signin.success"
	SignInFailure     = "signin.failure"
	SignInThrottled   = "signin.throttled"
	AdminReauth       = "admin.reauth"

	IntegrationCreate      = "integration.create"
	IntegrationUpdate      = "integration.update"
	IntegrationDelete      = "integration.delete"
	IntegrationSecretView  = "integration.secret.view"
	IntegrationAuthorize   = "integration.authorize"         // tokens stored
	IntegrationAuthFailure = "integration.authorize.failure" // the provider refused, or the exchange failed
	IntegrationTest        = "integration.test"
	IntegrationToken       = "integration.token" // an access token handed out by the token API or the command line

	MailServerCreate = "mailserver.create"
	MailServerUpdate = "mailserver.update"
	MailServerDelete = "mailserver.delete"
	MailServerTest   = "mailserver.test"
)

// Kinds lists every kind, for filters.
var Kinds = []string{
	ClientCreate, ClientUpdate, ClientEnable, ClientDisable, ClientDelete, ClientLogo, ClientSecretReset, ClientSecretView,
	UserCreate, UserUpdate, UserPassword, UserPasswordOwn, UserSignOutAll, ConsentAllow, ConsentDeny, TokenRevoke, GrantRevoke,
	SignInSuccess, SignInFailure, SignInThrottled, AdminReauth,
	IntegrationCreate, IntegrationUpdate, IntegrationDelete, IntegrationSecretView, IntegrationAuthorize, IntegrationAuthFailure,
	IntegrationTest, IntegrationToken,
	MailServerCreate, MailServerUpdate, MailServerDelete, MailServerTest,
}

// Log appends events.
type Log struct {
	store store.Audit
	now   func() time.Time
	log   *slog.Logger
}

// New returns a Log.
func New(s store.Audit, now func() time.Time, log *slog.Logger) *Log {
	return &Log{store: s, now: now, log: log}
}

// Record appends e, stamping its time.
func (l *Log) Record(ctx context.Context, e store.AuditEvent) {
	e.At = l.now()
	// The action is done even if the caller has gone away: record it anyway.
	if err := l.store.RecordAudit(context.WithoutCancel(ctx), e); err != nil {
		l.log.Error("audit event not recorded", "kind", e.Kind, "actor", e.Actor, "error", err)
	}
}

// Pending returns the event of a change about to be made, stamped now, and
// ctx carrying it to the store write that makes the change (see
// store.WithEvent): the change and its event commit together or not at all.
// Once the change is made, Settle it.
func (l *Log) Pending(ctx context.Context, e store.AuditEvent) (context.Context, *store.PendingEvent) {
	e.At = l.now()
	p := &store.PendingEvent{Event: e}
	return store.WithEvent(ctx, p), p
}

// Settle records p's event by itself if no write committed it (a change
// that wrote nothing).
func (l *Log) Settle(ctx context.Context, p *store.PendingEvent) {
	if !p.Stored() {
		l.Record(ctx, p.Event)
	}
}

// Require records e before an action that must not happen unaudited (a
// secret shown) and returns the store's error, which refuses the action.
func (l *Log) Require(ctx context.Context, e store.AuditEvent) error {
	e.At = l.now()
	if err := l.store.RecordAudit(ctx, e); err != nil {
		return fmt.Errorf("audit: %s not recorded: %w", e.Kind, err)
	}
	return nil
}

// Actor is who does something, for permission checks and the audit log:
// the one type the admin, integration and mail services take, whatever the
// door (console, admin API, command line).
type Actor struct {
	UserID   string // "" for the command line or an application
	Username string // what the audit log names: a username, cli:<OS user> or client:<ID>
	Level    store.Level
	Address  string
	ClientID string // the application acting with its own client-credentials token
}

// UserActor is a signed-in user (or a user's token) acting from address.
func UserActor(u store.User, address string) Actor {
	return Actor{UserID: u.ID, Username: u.Username, Level: u.Level, Address: address}
}

// CommandLine is the actor of a management command: the operating-system
// user, as a system administrator — whoever can open the data directory can
// do anything there anyway.
func CommandLine() Actor {
	name := "unknown"
	if u, err := osuser.Current(); err == nil {
		name = u.Username
	}
	return Actor{Username: "cli:" + name, Level: store.LevelSystemAdmin, Address: "local"}
}
