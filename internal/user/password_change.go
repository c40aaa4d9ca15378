package user

import (
	"context"
	"net/netip"

	"github.com/gatehouse/gatehouse/internal/store"
)

// ChangePassword is a user's own change of password. The new password is
// checked first, so a refusal costs no guess; the current one goes through
// Authenticate, throttled like a sign-in, so a stolen session cannot guess
// it faster than the sign-in page allows. The change ends every session
// signed in before it; the changed user is returned for its SessionsAfter.
func (s *Service) ChangePassword(ctx context.Context, username, current, next string, addr netip.Addr) (store.User, error) {
	if err := checkPassword(next); err != nil {
		return store.User{}, err
	}
	// The check's throttle counts are no part of the change: an audit event
	// pending in ctx commits with the new password.
	u, err := s.Authenticate(store.WithoutEvent(ctx), username, current, addr)
	if err != nil {
		return store.User{}, err
	}
	if err := s.SetPassword(ctx, u.Username, next, nil); err != nil {
		return store.User{}, err
	}
	return s.ByUsername(ctx, u.Username)
}
