package store

import (
	"context"
	"time"
)

// Integration is an outgoing OAuth 2.0 integration: the settings an
// administrator gives, and its vault (the provider's tokens, sealed) with the
// state of their refresh.
type Integration struct {
	ID          string
	Name        string // unique
	Description string
	Provider    string // "google", "microsoft" or "custom"
	ClientID    string
	// SecretSealed is the client secret encrypted with a key kept outside
	// the database; nil when none was given yet.
	SecretSealed []byte
	Scopes       []string
	AuthURL      string
	TokenURL     string
	UserinfoURL  string // optional; Test connection calls it
	Issuer       string // the provider's issuer, checked against iss (RFC 9207) when set
	Tenant       string // Microsoft only
	AuthParams   string // extra authorization parameters, URL-encoded (a=b&c=d)
	PKCE         bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Vault        IntegrationVault
	// LeaseHolder refreshes the tokens until LeaseUntil: one node of a
	// cluster at a time (see ClaimIntegrationRefresh).
	LeaseHolder string
	LeaseUntil  time.Time
}

// IntegrationVault is an integration's tokens and what is known about them.
type IntegrationVault struct {
	// TokensSealed holds the access and refresh tokens, encrypted; nil when
	// the integration was never authorized (or its grant was forgotten).
	TokensSealed []byte
	Account      string // the account the grant acts for, when the provider says
	Scope        string // the scopes granted
	ExpiresAt    time.Time
	AuthorizedAt time.Time
	RefreshedAt  time.Time
	// NextRefreshAt is when the refresher next looks at the tokens; zero
	// when there is nothing to refresh. While a lease is held it is the
	// lease's end, so a refresh whose node died is picked up again then.
	NextRefreshAt time.Time
	// NeedsReauth: the provider refused the grant (invalid_grant); only a
	// new authorization helps.
	NeedsReauth bool
	Failures    int    // consecutive failed refreshes
	ErrorKey    string // message key of the last failure ("" after a success)
	ErrorDetail string // the provider's own words about it, if any
	ErrorAt     time.Time
}

// IntegrationSummary is what a metrics scrape reads of every integration:
// its names and the vault's state, nothing sealed or descriptive.
type IntegrationSummary struct {
	ID, Name      string
	Authorized    bool // the vault holds tokens (TokensSealed != nil)
	NeedsReauth   bool
	Failures      int
	ExpiresAt     time.Time
	NextRefreshAt time.Time
}

// IntegrationAuth is an authorization in progress: the state sent to the
// provider, and what the callback needs to finish it.
type IntegrationAuth struct {
	StateHash     []byte // keyed hash of the state parameter
	IntegrationID string
	// Binding is a keyed hash of a secret of the browser session that
	// started it; nil for a URL made for any browser (the command line).
	Binding        []byte
	VerifierSealed []byte // the PKCE code verifier, encrypted; nil without PKCE
	RedirectURL    string // sent at the authorization request, repeated at the exchange
	Actor          string // who started it, for the audit log
	CreatedAt      time.Time
	ExpiresAt      time.Time
}

// Integrations holds the outgoing integrations, their vaults and the
// authorizations in progress.
type Integrations interface {
	// CreateIntegration inserts in; ErrConflict when the name is taken.
	CreateIntegration(ctx context.Context, in Integration) error
	IntegrationByID(ctx context.Context, id string) (Integration, error)
	IntegrationByName(ctx context.Context, name string) (Integration, error)
	// ListIntegrations returns every integration, by name.
	ListIntegrations(ctx context.Context) ([]Integration, error)
	// ListIntegrationSummaries returns every integration's summary, by name
	// as ListIntegrations.
	ListIntegrationSummaries(ctx context.Context) ([]IntegrationSummary, error)
	// UpdateIntegration reads the integration inside a write transaction
	// (locking its row), applies change and writes back every field but ID
	// and CreatedAt, vault and lease included, in that transaction.
	// ErrConflict when the new name is taken, ErrNotFound for an unknown
	// ID; an error from change is returned as it is and writes nothing.
	UpdateIntegration(ctx context.Context, id string, change func(*Integration) error) (Integration, error)
	// DeleteIntegration removes the integration and its authorizations in progress.
	DeleteIntegration(ctx context.Context, id string) error

	// StoreIntegrationTokens replaces the vault with v (a new authorization)
	// and drops any lease, so a refresh of the old grant still in flight
	// cannot overwrite the new tokens.
	StoreIntegrationTokens(ctx context.Context, id string, v IntegrationVault) error
	// ClaimIntegrationRefresh takes the integration's refresh lease for
	// holder until now+ttl when nobody holds it (or the holding lease ended)
	// and returns the integration as claimed; ok is false when another
	// holder has it. Of concurrent claimants exactly one succeeds.
	ClaimIntegrationRefresh(ctx context.Context, id, holder string, now time.Time, ttl time.Duration) (in Integration, ok bool, err error)
	// ClaimDueIntegrations claims, as ClaimIntegrationRefresh does, up to
	// limit integrations whose NextRefreshAt has come, earliest first,
	// reading only those (an index on next_refresh_at).
	ClaimDueIntegrations(ctx context.Context, holder string, now time.Time, ttl time.Duration, limit int) ([]Integration, error)
	// FinishIntegrationRefresh writes v and releases the lease if holder
	// still holds it; ErrNotFound when it does not (the lease ended, or a
	// new authorization or a change of endpoints dropped it): v is then
	// dropped.
	FinishIntegrationRefresh(ctx context.Context, id, holder string, v IntegrationVault) error
	// NextIntegrationRefresh returns the earliest NextRefreshAt of any
	// integration; zero when none is scheduled.
	NextIntegrationRefresh(ctx context.Context) (time.Time, error)

	// CreateIntegrationAuth stores a, deleting the authorizations in
	// progress that expired before now, and beyond the newest limit of a's
	// integration, in the same transaction.
	CreateIntegrationAuth(ctx context.Context, a IntegrationAuth, now time.Time, limit int) error
	// TakeIntegrationAuth deletes and returns the authorization in progress
	// with this state hash, if it is unbound or bound to binding: of
	// concurrent takers exactly one gets it. ErrNotFound when it is missing,
	// already taken, bound to another binding (it is then left for the
	// session that started it), or expired at now.
	TakeIntegrationAuth(ctx context.Context, stateHash, binding []byte, now time.Time) (IntegrationAuth, error)
}
