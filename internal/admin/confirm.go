package admin

import (
	"context"
	"errors"
	"net/netip"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

// ConfirmPassword checks an administrator's own password again before what
// needs it (a credential view, a password reset, the console's secure
// session), under the sign-in throttle: a wrong or throttled one is audited
// as a failed sign-in, "re-authentication" being what was tried, whichever
// door it came through. It returns user.ErrInvalidCredentials or
// user.ErrThrottled for the caller to word.
func (s *Service) ConfirmPassword(ctx context.Context, a Actor, password string, addr netip.Addr) error {
	_, err := s.users.Authenticate(ctx, a.Username, password, addr)
	failed := store.AuditEvent{Actor: a.Username, Username: a.Username, Address: a.Address, Detail: "re-authentication"}
	switch {
	case errors.Is(err, user.ErrInvalidCredentials):
		failed.Kind = audit.SignInFailure
	case user.FirstThrottled(err):
		failed.Kind = audit.SignInThrottled
	default:
		return err // the window's later refusals are not audited again
	}
	s.audit.Record(ctx, failed)
	return err
}
