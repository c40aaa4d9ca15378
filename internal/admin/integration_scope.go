package admin

import (
	"context"
	"strings"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/store"
)

// guardIntegrationScope refuses an administrator below system
// administrator an application that has, or would get, the
// INTEGRATION_TOKEN scope: its client-credentials token fetches the
// integrations' access tokens, which only system administrators may, and
// whoever creates, edits, enables or sees the secret of such an
// application holds that power (and whoever deletes it stops the services
// that fetch with it). id names a stored application ("" when
// creating); scopes are the ones it would get (nil when unchanged).
func (s *Service) guardIntegrationScope(ctx context.Context, a Actor, id string, scopes []string) error {
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
	return refuseIntegrationScope(scopes)
}

// mayManage is guardIntegrationScope for a stored application as a change
// reads it in its transaction (app.Allow), the only check of the stored
// scopes an edit, enabling, rotation or deletion needs: one made on an
// earlier read would let the change land on an application a system
// administrator gave INTEGRATION_TOKEN in between.
func (s *Service) mayManage(a Actor) app.Allow {
	if a.Level >= store.LevelSystemAdmin {
		return nil
	}
	return func(c store.Client) error { return refuseIntegrationScope(c.Scopes) }
}

func refuseIntegrationScope(scopes []string) error {
	for _, name := range scopes {
		if strings.EqualFold(strings.TrimSpace(name), scope.IntegrationToken) {
			return aboveLevel("admin.integration_scope", "only a system administrator may manage an application with the %s scope", scope.IntegrationToken)
		}
	}
	return nil
}
