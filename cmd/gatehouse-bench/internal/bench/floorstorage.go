package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// Floor storages: what ceiling-server --floor-dir stores for a flow.
const (
	// FloorMinimal stores what a flow cannot do without and nothing else
	// (sqlstore.FlowFloor): the flow's floor.
	FloorMinimal = "minimal"
	// FloorRequired also stores what the spec requires of every flow
	// (sqlstore.OpenRequiredFlowFloor): the page decided once, the consent's
	// audit row, tokens bound to user, client and scope, the refresh cap
	// through its one index; no other index, read cache or grant.
	FloorRequired = "required"
	// FloorGatehouse stores what a Gatehouse node stores, through its own
	// store: the decided consent, the code and the consent's audit row at
	// Allow, the code redeemed with a token pair under the refresh cap at the
	// exchange, in Gatehouse's schema with its indexes and read cache.
	// Against FloorMinimal it measures what Gatehouse's storage adds to a
	// flow; against the authcode scenario, what its pages and handlers add.
	FloorGatehouse = "gatehouse"
)

// flowStorage keeps what a flow's Allow and code exchange store.
type flowStorage interface {
	// Decide stores c, answered once committed (before its flush) as a
	// node answers a consent's decision; consentHash is the decided page's
	// ID, hashed.
	Decide(ctx context.Context, consentHash []byte, c sqlstore.FloorCode) error
	// Exchange redeems the code whose hash is code once, storing the
	// token pair by its hashes, and returns once that is flushed; an
	// unknown, used or expired code: store.ErrNotFound.
	Exchange(ctx context.Context, code, access, refresh []byte, now time.Time) error
	// Rotate rotates the refresh token whose hash is old, storing the new
	// pair by its hashes, and returns once that is flushed; a token it
	// cannot rotate (unknown, rotated, revoked): store.ErrNotFound.
	Rotate(ctx context.Context, old, access, refresh []byte, now time.Time) error
	// Issue stores a client_credentials access token of clientID for
	// scope by its hash, and returns once that is flushed.
	Issue(ctx context.Context, clientID, scope string, access []byte, now time.Time) error
	Close() error
}

func openFlowStorage(ctx context.Context, dir, kind string) (flowStorage, error) {
	path := filepath.Join(dir, "floor.db")
	switch kind {
	case FloorMinimal, "":
		return sqlstore.OpenFlowFloor(ctx, path)
	case FloorRequired:
		return sqlstore.OpenRequiredFlowFloor(ctx, path)
	case FloorGatehouse:
		return openGatehouseStorage(ctx, path)
	}
	return nil, fmt.Errorf("floor storage %q: want %s, %s or %s", kind, FloorMinimal, FloorRequired, FloorGatehouse)
}

// The gatehouse storage's one application, its user's refresh cap and the
// lifetimes, as a node's defaults (config.Default).
const (
	floorClientID    = "00000000000000000000000000f100e0"
	floorUserID      = "bench"
	floorRefreshCap  = 10
	floorAccessLife  = 2 * time.Hour
	floorConsentLife = 10 * time.Minute
)

type gatehouseStorage struct{ s *sqlstore.Store }

func openGatehouseStorage(ctx context.Context, path string) (*gatehouseStorage, error) {
	s, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		return nil, err
	}
	err = s.CreateClient(ctx, store.Client{ID: floorClientID, Name: "bench floor", Grants: []string{"authorization_code", "refresh_token"},
		Scopes: []string{"READ", "WRITE"}, CreatedAt: time.Now()}, 0)
	if err == nil || errors.Is(err, store.ErrConflict) { // a directory used before has it
		// The flows' user, whom a node's token reads find with the token
		// (and its read cache keeps with it).
		err = s.CreateUser(ctx, store.User{ID: floorUserID, Username: floorUserID, Level: store.LevelUser, CreatedAt: time.Now()})
	}
	if err != nil && !errors.Is(err, store.ErrConflict) {
		s.Close()
		return nil, fmt.Errorf("floor storage: %w", err)
	}
	return &gatehouseStorage{s: s}, nil
}

func (g *gatehouseStorage) Decide(ctx context.Context, consentHash []byte, c sqlstore.FloorCode) error {
	now := time.Now()
	code := store.Code{Hash: c.Hash, ClientID: floorClientID, UserID: c.UserID, RedirectURI: c.RedirectURI, Scope: c.Scope,
		Challenge: c.Challenge, ChallengeMethod: "S256", GrantID: oauth.NewGrantID(now), CreatedAt: now, ExpiresAt: c.ExpiresAt}
	event := store.AuditEvent{At: now, Kind: audit.ConsentAllow, Actor: c.UserID, Username: c.UserID, Address: "127.0.0.1",
		ClientID: floorClientID, Detail: c.Scope}
	return g.s.DecideConsent(ctx, consentHash, now.Add(floorConsentLife), &code, &event)
}

// Exchange reads the code, as the token endpoint does, then redeems it.
func (g *gatehouseStorage) Exchange(ctx context.Context, codeHash, access, refresh []byte, now time.Time) error {
	code, err := g.s.CodeByHash(ctx, codeHash)
	if err != nil {
		return err
	}
	if !code.UsedAt.IsZero() || !now.Before(code.ExpiresAt) {
		return store.ErrNotFound
	}
	issue := floorIssue(store.Token{GrantID: code.GrantID, ClientID: code.ClientID, UserID: code.UserID, Scope: code.Scope,
		GrantedAt: code.CreatedAt}, access, refresh, now)
	issue.RefreshCap = floorRefreshCap
	err = g.s.RedeemCode(ctx, codeHash, now, issue)
	if errors.Is(err, store.ErrCodeReused) {
		return store.ErrNotFound
	}
	return err
}

// Rotate reads the token, as the token endpoint does, then rotates it with
// a node's defaults (no grace window: a reuse revokes the grant).
func (g *gatehouseStorage) Rotate(ctx context.Context, old, access, refresh []byte, now time.Time) error {
	t, _, err := g.s.TokenWithUser(ctx, old)
	if err != nil {
		return err
	}
	if t.Kind != store.KindRefresh {
		return store.ErrNotFound
	}
	err = g.s.RotateRefreshToken(ctx, old, now, store.ReuseGrace{}, floorIssue(t, access, refresh, now))
	if errors.Is(err, store.ErrTokenReused) {
		return store.ErrNotFound
	}
	return err
}

// Issue issues the token as a node's client_credentials grant does: a grant
// of its own, for the storage's one application (whose rows the tokens'
// foreign key asks for), whatever client asked.
func (g *gatehouseStorage) Issue(ctx context.Context, _, scope string, access []byte, now time.Time) error {
	return g.s.IssueTokens(ctx, store.Issue{Access: store.Token{Hash: access, Kind: store.KindAccess, GrantID: oauth.NewGrantID(now),
		ClientID: floorClientID, Scope: scope, GrantedAt: now, CreatedAt: now, ExpiresAt: now.Add(floorAccessLife)}})
}

func (g *gatehouseStorage) Close() error { return g.s.Close() }

// floorIssue is a new token pair of grant's grant, client, user and scope,
// stored by the hashes access and refresh, as a node issues one.
func floorIssue(grant store.Token, access, refresh []byte, now time.Time) store.Issue {
	at := store.Token{Hash: access, Kind: store.KindAccess, GrantID: grant.GrantID, ClientID: grant.ClientID, UserID: grant.UserID,
		Scope: grant.Scope, GrantedAt: grant.GrantedAt, CreatedAt: now, ExpiresAt: now.Add(floorAccessLife)}
	rt := at
	rt.Hash, rt.Kind, rt.ExpiresAt, rt.AccessHash = refresh, store.KindRefresh, time.Time{}, access
	return store.Issue{Access: at, Refresh: &rt}
}
