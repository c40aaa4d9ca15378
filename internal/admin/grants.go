package admin

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Grant is one authorization: the tokens issued from one consent (or one
// client-credentials request), shown as a unit and revoked as a unit.
type Grant struct {
	ID        string
	Client    store.Client
	User      *store.User // nil for client credentials
	Scope     string
	GrantedAt time.Time
	// LastUsed is when the grant last got a token (issued or refreshed).
	LastUsed time.Time
	Tokens   int
}

// ScopeList is the grant's scopes.
func (g Grant) ScopeList() []string { return strings.Fields(g.Scope) }

// Grants returns the active grants matching f, newest first.
func (s *Service) Grants(ctx context.Context, f store.TokenFilter) ([]Grant, error) {
	tokens, err := s.store.ListActiveTokens(ctx, f, s.now())
	if err != nil {
		return nil, err
	}
	byID := map[string]*Grant{}
	clients := map[string]store.Client{}
	users := map[string]*store.User{}
	var order []string
	for _, t := range tokens {
		g, ok := byID[t.GrantID]
		if !ok {
			c, ok := clients[t.ClientID]
			if !ok {
				if c, err = s.store.ClientByID(ctx, t.ClientID); err != nil {
					return nil, err
				}
				clients[t.ClientID] = c
			}
			g = &Grant{ID: t.GrantID, Client: c, Scope: t.Scope, GrantedAt: t.GrantedAt}
			if t.UserID != "" {
				u, ok := users[t.UserID]
				if !ok {
					got, err := s.store.UserByID(ctx, t.UserID)
					if err != nil && !errors.Is(err, store.ErrNotFound) {
						return nil, err
					}
					if err == nil {
						u = &got
					}
					users[t.UserID] = u
				}
				g.User = u
			}
			byID[t.GrantID] = g
			order = append(order, t.GrantID)
		}
		g.Tokens++
		if t.CreatedAt.After(g.LastUsed) {
			g.LastUsed = t.CreatedAt
		}
		if t.Kind == store.KindRefresh {
			// A refresh token keeps the grant's whole scope; an access token
			// may carry less (a narrower refresh, a lowered level).
			g.Scope = t.Scope
		}
	}
	out := make([]Grant, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].LastUsed.After(out[j].LastUsed) })
	return out, nil
}

// RecentGrants returns the limit (> 0) most recently used active grants
// matching f, newest first, and how many match in all. Only those grants'
// tokens are read: an application's page stays cheap whatever number of
// client-credentials grants it holds.
func (s *Service) RecentGrants(ctx context.Context, f store.TokenFilter, limit int) ([]Grant, int, error) {
	ids, total, err := s.GrantIDs(ctx, f, limit)
	if err != nil {
		return nil, 0, err
	}
	grants, err := s.GrantsByID(ctx, ids, f.Kind)
	return grants, total, err
}

// GrantIDs returns the IDs of the active grants matching f, the most
// recently used first, at most limit of them (0: every one), and how many
// match in all. Only the IDs leave the database; GrantsByID then reads a
// slice of them at a time, so no list holds every grant's tokens at once.
func (s *Service) GrantIDs(ctx context.Context, f store.TokenFilter, limit int) ([]string, int, error) {
	return s.store.ActiveGrants(ctx, f, s.now(), limit)
}

// GrantsByID returns those of the grants ids that are still active, in the
// order of ids, reading their tokens of the given kind (all when empty).
// A grant has one application and one user: its ID alone selects it, and
// so the planner reads tokens_grant, not all of an application's tokens.
func (s *Service) GrantsByID(ctx context.Context, ids []string, kind store.TokenKind) ([]Grant, error) {
	if len(ids) == 0 { // no IDs would filter nothing
		return nil, nil
	}
	grants, err := s.Grants(ctx, store.TokenFilter{GrantIDs: ids, Kind: kind})
	if err != nil {
		return nil, err
	}
	at := make(map[string]int, len(ids))
	for i, id := range ids {
		at[id] = i
	}
	slices.SortFunc(grants, func(a, b Grant) int { return cmp.Compare(at[a.ID], at[b.ID]) })
	return grants, nil
}

// RevokeGrant ends every token of a grant, reading only that grant's tokens
// (tokens_grant), not every active token of the server. An administrator
// may not revoke what they could not otherwise stop: below system
// administrator, a grant holding INTEGRATION_TOKEN (what the mail services
// fetch with), nor a grant of a user above their level, whose sessions they
// may not end either.
func (s *Service) RevokeGrant(ctx context.Context, a Actor, grantID string) error {
	if grantID == "" { // an empty filter field would match every grant
		return store.ErrNotFound
	}
	grants, err := s.Grants(ctx, store.TokenFilter{GrantIDs: []string{grantID}})
	if err != nil {
		return err
	}
	if len(grants) == 0 {
		return store.ErrNotFound
	}
	g := grants[0]
	if g.User == nil || g.User.ID != a.UserID {
		if err := s.guardAppScopes(ctx, a, "", g.ScopeList()); err != nil {
			return err
		}
	}
	if g.User != nil && g.User.ID != a.UserID && g.User.Level > a.Level {
		return aboveLevel("admin.revoke_above_own", "you cannot revoke the grants of a user above your own level")
	}
	// The user's codes for the application not yet redeemed would each
	// start a new grant, without a new consent: they go too.
	if g.User != nil {
		if _, err := s.store.DropCodes(ctx, g.User.ID, g.Client.ID); err != nil {
			return err
		}
	}
	return s.revokeGrant(ctx, a, g)
}

// RevokeAppForUser ends every grant the user gave one application: the
// user's own "Revoke" on their authorized-applications page, where several
// consents to one application show as one. ErrNotFound when there is none.
func (s *Service) RevokeAppForUser(ctx context.Context, a Actor, userID, clientID string) error {
	if clientID == "" || userID == "" { // an empty filter field would match every application or user
		return store.ErrNotFound
	}
	// The codes not yet redeemed go too, and first: one redeemed meanwhile
	// has started a grant that the list below then finds.
	if _, err := s.store.DropCodes(ctx, userID, clientID); err != nil {
		return err
	}
	grants, err := s.Grants(ctx, store.TokenFilter{UserID: userID, ClientID: clientID})
	if err != nil {
		return err
	}
	if len(grants) == 0 {
		return store.ErrNotFound
	}
	for _, g := range grants {
		// One revoked meanwhile by another request is as good as revoked here.
		if err := s.revokeGrant(ctx, a, g); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// revokeGrant revokes one grant with its audit event.
func (s *Service) revokeGrant(ctx context.Context, a Actor, g Grant) error {
	username := ""
	if g.User != nil {
		username = g.User.Username
	}
	ctx, event := s.pending(ctx, a, audit.GrantRevoke, g.Client.ID, username, g.Scope)
	n, err := s.store.RevokeGrant(ctx, g.ID, s.now())
	if err != nil {
		return err
	}
	if n == 0 { // revoked meanwhile, by a concurrent request: that one is audited
		return store.ErrNotFound
	}
	s.audit.Settle(ctx, event)
	return nil
}
