package admin

import (
	"context"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

// guardAppScopes refuses an administrator an application that has, or
// would get, a scope only a higher level may hold (SYSTEM_ADMIN,
// INTEGRATION_TOKEN). Whoever creates, edits, enables or sees the secret of
// such an application holds that power: with INTEGRATION_TOKEN its
// client-credentials token fetches the integrations' access tokens; with
// SYSTEM_ADMIN a redirect URI of their own and the secret turn a system
// administrator's next consent into a system administrator's token. And
// whoever deletes or disables it stops what depends on it. id names a
// stored application ("" when creating); scopes are the ones it would get
// (nil when unchanged).
func (s *Service) guardAppScopes(ctx context.Context, a Actor, id string, scopes []string) error {
	if a.Level >= store.LevelSystemAdmin {
		return nil
	}
	if id != "" {
		c, err := s.apps.Get(ctx, id)
		if err != nil {
			return err
		}
		scopes = append(scopes, c.Scopes...)
	}
	return s.refuseScopesAbove(a, scopes)
}

// mayManage is guardAppScopes for a stored application as a change reads
// it in its transaction (app.Allow), the only check of the stored scopes an
// edit, enabling, rotation or deletion needs: one made on an earlier read
// would let the change land on an application a system administrator gave
// such a scope in between.
func (s *Service) mayManage(a Actor) app.Allow {
	if a.Level >= store.LevelSystemAdmin {
		return nil
	}
	return func(c store.Client) error { return s.refuseScopesAbove(a, c.Scopes) }
}

func (s *Service) refuseScopesAbove(a Actor, scopes []string) error {
	if name := s.ScopeBeyond(a, scopes); name != "" {
		return aboveLevel("admin.app_scope_above_own", "only a system administrator may manage an application with the %s scope", name)
	}
	return nil
}

// ScopeBeyond returns the first of an application's scopes that puts it out
// of a's reach, "" when a may manage it: a page offers a only what the
// checks above would let through.
func (s *Service) ScopeBeyond(a Actor, scopes []string) string {
	return s.apps.ScopeAbove(scopes, a.Level)
}
