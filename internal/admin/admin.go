package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// ErrInvalid is wrapped by every refusal, each a *validation.Error: its
// English text is fit to show, and its key words it in other languages.
var ErrInvalid = errors.New("invalid request")

// ErrForbidden is returned when the actor's level does not allow the action.
var ErrForbidden = errors.New("not allowed")

// ErrAboveLevel is wrapped by a refusal to act on or grant a level above the
// actor's own. It is an ErrInvalid too (same text): an administrator's
// request asked for something it may not; the admin API tells a token whose
// scopes, not its user, set that level (insufficient_scope).
var ErrAboveLevel = fmt.Errorf("%w", ErrInvalid)

// Actor is who performs an operation, for the audit log and permission checks.
type Actor = audit.Actor

// Service is the administrator's operations.
type Service struct {
	store store.Store
	apps  *app.Service
	users *user.Service
	audit *audit.Log
	now   func() time.Time
}

// New returns a Service.
func New(s store.Store, apps *app.Service, users *user.Service, log *audit.Log, now func() time.Time) *Service {
	return &Service{store: s, apps: apps, users: users, audit: log, now: now}
}

// pending returns ctx carrying the audit event of the change about to be
// made, which commits with it (audit.Log.Pending); settle it once the
// change is made.
func (s *Service) pending(ctx context.Context, a Actor, kind, clientID, username, detail string) (context.Context, *store.PendingEvent) {
	return s.audit.Pending(ctx, store.AuditEvent{Kind: kind, Actor: a.Username, Address: a.Address, ClientID: clientID, Username: username, Detail: detail})
}

// invalid returns a refusal with a message key (see internal/validation).
func invalid(key, format string, args ...any) error {
	return validation.Errorf(ErrInvalid, key, format, args...)
}

// aboveLevel returns a refusal of an action above the actor's level.
func aboveLevel(key, format string, args ...any) error {
	return validation.Errorf(ErrAboveLevel, key, format, args...)
}

// Audit lists audit events.
func (s *Service) Audit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	for _, field := range []struct{ name, value string }{{"kind", f.Kind}, {"user", f.Username}, {"client", f.ClientID}} {
		if err := (validation.TextRule{Field: field.name, Max: 200}).Check(ErrInvalid, field.value); err != nil {
			return nil, err
		}
	}
	return s.store.ListAudit(ctx, f)
}
