package store

import (
	"context"
	"errors"
	"time"
)

// Errors returned by every backend. Callers match them with errors.Is.
var (
	ErrNotFound    = errors.New("store: not found")
	ErrConflict    = errors.New("store: already exists")
	ErrLimit       = errors.New("store: limit reached")
	ErrCodeReused  = errors.New("store: authorization code already redeemed")
	ErrTokenReused = errors.New("store: refresh token already rotated")
	// ErrLastSystemAdmin refuses a change that would leave no enabled system administrator.
	ErrLastSystemAdmin = errors.New("store: no enabled system administrator would be left")
)

// Store is the whole persistence seam of Gatehouse.
type Store interface {
	Users
	Clients
	Codes
	Tokens
	Sessions
	Consents
	Throttle
	Audit
	KeyCheck
	Integrations
	MailServers
	// Purge deletes what can no longer be used: expired codes, expired or
	// long-revoked tokens, rotated refresh tokens past retention, expired
	// sessions, decided consent pages past their expiry (and the pending
	// consents of earlier releases) and stale throttle counters. It
	// deletes at most limit (> 0) rows, in one transaction, so that it never
	// holds the database long; it returns how many went, and fewer than
	// limit means nothing due was left. Callers repeat it until then.
	Purge(ctx context.Context, now time.Time, p PurgePolicy, limit int) (int64, error)
	// TryLock takes a named, cluster-wide lease until expiry if nobody else
	// holds it (or theirs expired). Background jobs use it to run on one node.
	TryLock(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	// ReleaseLock ends the named lease if holder holds it, so that another
	// node may take it at once rather than when it expires.
	ReleaseLock(ctx context.Context, name, holder string) error
	// Ready reports whether the store can serve reads and writes now;
	// ErrUnavailable says why not (the database unreachable, its disk full
	// or read-only, its file deleted or replaced).
	Ready(ctx context.Context) error
	Close() error
}

// PurgePolicy says how long used-up rows are kept for forensics and reuse detection.
type PurgePolicy struct {
	// RevokedRetention keeps revoked or expired tokens this long after the fact.
	RevokedRetention time.Duration
	// RotatedRetention keeps rotated refresh tokens this long after rotation, so a
	// replay inside that window is still detected and revokes the chain.
	RotatedRetention time.Duration
	// AuditRetention, when > 0, keeps audit events this long; 0 keeps them
	// forever.
	AuditRetention time.Duration
}

// Users is the built-in user directory.
type Users interface {
	// CreateUser inserts u; ErrConflict when the username is taken.
	CreateUser(ctx context.Context, u User) error
	UserByID(ctx context.Context, id string) (User, error)
	UserByUsername(ctx context.Context, username string) (User, error)
	// GroupNames returns every group name some user has, once each, sorted;
	// without reading whole users, for lists that offer the groups.
	GroupNames(ctx context.Context) ([]string, error)
	// SearchUsers returns one page of the users that match q, sorted by
	// username (see UserSearch).
	SearchUsers(ctx context.Context, q UserSearch) ([]User, error)
	CountUsers(ctx context.Context) (int, error)
	// UpdateUser reads the user with this ID, applies change and writes the
	// mutable fields (display name, email, password hash, level, groups,
	// disabled, SessionsAfter, UpdatedAt) back, in one transaction: a
	// concurrent update waits and then sees this one's result. An error from
	// change is returned as it is and writes nothing. The store keeps two
	// rules inside the transaction: a change that would leave no enabled
	// system administrator fails with ErrLastSystemAdmin, and disabling a user
	// revokes every token of theirs (re-enabling revives none).
	UpdateUser(ctx context.Context, id string, change func(*User) error) (User, error)
}

// UserSearch narrows and pages SearchUsers.
type UserSearch struct {
	// Text keeps the users whose username, display name or email contains
	// it: as typed, or with ASCII letters in any case (PostgreSQL may fold
	// other letters too); "" keeps everyone. It must be clean text
	// (validation.Clean): a value no field can hold matches nothing anyway.
	Text string
	// After, when set, keeps the users whose username sorts after it: the
	// next page after a page that ended with After, read without counting
	// through the pages before it as Offset does.
	After string
	// Offset skips that many matching users; then at most Limit (> 0) come.
	Offset, Limit int
}

// Clients holds the registered applications.
type Clients interface {
	// CreateClient inserts c unless limit > 0 and limit clients already exist
	// (ErrLimit) or another client has its name up to case (ErrConflict);
	// the checks and the insert are one transaction.
	CreateClient(ctx context.Context, c Client, limit int) error
	ClientByID(ctx context.Context, id string) (Client, error)
	ListClients(ctx context.Context) ([]Client, error)
	// UpdateClient reads the client inside a write transaction (locking its
	// row), applies change to it and writes back every field but ID,
	// CreatedAt and HasLogo, in that same transaction, and returns the client
	// as stored. Concurrent changes so apply one after the other, each to the
	// other's result: none is lost to a stale copy. An error from change
	// writes nothing and is returned. change must not call the store.
	// ErrConflict when change renames it to another client's name up to case.
	// ErrNotFound for an unknown client.
	UpdateClient(ctx context.Context, id string, change func(*Client) error) (Client, error)
	// DeleteClient removes the client with its codes, tokens and logo.
	// allow, when set, vets the client as the deletion's transaction reads
	// it (locked): its error refuses the deletion, which writes nothing, and
	// is returned. allow must not call the store.
	DeleteClient(ctx context.Context, id string, allow func(Client) error) error
	// DeletingClients returns the IDs of the clients whose deletion began
	// and has not finished: under way, or cut short (DeleteClient again
	// finishes it).
	DeletingClients(ctx context.Context) ([]string, error)
	// SetClientLogo stores the client's logo (already validated, at most a few
	// hundred KiB); nil data removes it. ErrNotFound for an unknown client.
	SetClientLogo(ctx context.Context, id string, data []byte, contentType string) error
	// ClientLogo returns the logo; ErrNotFound when the client has none.
	ClientLogo(ctx context.Context, id string) (data []byte, contentType string, err error)
}

// Codes holds authorization codes.
type Codes interface {
	CreateCode(ctx context.Context, c Code) error
	// CodeByHash returns the code, used or not (see Code.UsedAt).
	CodeByHash(ctx context.Context, hash []byte) (Code, error)
	// RedeemCode marks the code used and stores the tokens in one transaction.
	// If the code was already used it revokes every token of the code's grant
	// and returns ErrCodeReused; if it is missing or expired, ErrNotFound.
	RedeemCode(ctx context.Context, hash []byte, now time.Time, issue Issue) error
	// DropCodes deletes the codes not yet redeemed that the user was issued
	// for the client, and returns how many: a revocation of the user's grants
	// to the client then reaches the grants those codes would start. Redeemed
	// codes stay, so that a replay still revokes its grant.
	DropCodes(ctx context.Context, userID, clientID string) (int64, error)
}

// Tokens holds access and refresh tokens.
type Tokens interface {
	// IssueTokens stores a new access token and optional refresh token.
	IssueTokens(ctx context.Context, issue Issue) error
	// TokenByHash returns the token of either kind, whatever its state.
	TokenByHash(ctx context.Context, hash []byte) (Token, error)
	// TokenWithUser is TokenByHash that also returns, in the same read, the
	// token's user: nil for a token without one or whose user is gone.
	TokenWithUser(ctx context.Context, hash []byte) (Token, *User, error)
	// CachedTokenWithUser is TokenWithUser answered from memory alone, for a
	// caller that would rather not spend a database read on a credential it
	// has not yet checked: ok is false unless the store holds the token (and
	// its user) as it is now, so that it never hides a change made by this
	// node or any other. A store without such a copy always says false.
	CachedTokenWithUser(hash []byte) (t Token, u *User, ok bool)
	// RotateRefreshToken marks the refresh token oldHash rotated, revokes the
	// access token issued with it, and stores issue, in one transaction.
	// A rotated token may rotate again only within grace (a retry whose answer
	// was lost, or a client refreshing from two threads at once), and then
	// only grace.Max times; any other reuse revokes the whole grant and
	// returns ErrTokenReused. issue must belong to the old token's grant.
	// Missing, revoked or expired: ErrNotFound.
	RotateRefreshToken(ctx context.Context, oldHash []byte, now time.Time, grace ReuseGrace, issue Issue) error
	// RevokeToken revokes one token; ErrNotFound if there is none.
	RevokeToken(ctx context.Context, hash []byte, now time.Time) error
	// RevokeGrant revokes every token of the grant; returns how many.
	RevokeGrant(ctx context.Context, grantID string, now time.Time) (int64, error)
	// ListActiveTokens returns unexpired, unrevoked, unrotated tokens, newest first.
	ListActiveTokens(ctx context.Context, filter TokenFilter, now time.Time) ([]Token, error)
	// ActiveGrants returns the IDs of the grants with an active token
	// matching filter, the most recently used (newest active token) first,
	// at most limit of them (0: all), and how many match in all; only the
	// IDs leave the database, not the tokens.
	ActiveGrants(ctx context.Context, filter TokenFilter, now time.Time, limit int) (ids []string, total int, err error)
	// ClientUsage returns, per client ID with any token, how many tokens are
	// active and when the newest token was issued; one query for all clients.
	// Its cost follows the number of clients and of unexpired tokens, not
	// of the expired, revoked and rotated ones retained. Access tokens
	// always expire (lifetimes.access_token is at least a second, and has
	// always been positive), so of the tokens without an expiry it counts
	// only refresh tokens.
	ClientUsage(ctx context.Context, now time.Time) (map[string]Usage, error)
}

// ReuseGrace is how a rotated refresh token may still be used: within Window
// after its rotation, at most Max times. The zero value is strict: any reuse
// revokes the grant.
type ReuseGrace struct {
	Window time.Duration
	Max    int
}

// Usage summarises a client's tokens.
type Usage struct {
	ActiveTokens int
	LastIssued   time.Time
}

// Audit is the append-only audit log.
type Audit interface {
	// RecordAudit appends e; the store assigns e.ID.
	RecordAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns matching events, newest first (by ID).
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}

// AuditFilter narrows ListAudit; zero fields match everything.
type AuditFilter struct {
	Kind     string // exact kind, or a prefix ending in "." ("client.")
	Username string // matches the actor or the subject user
	ClientID string
	Since    time.Time // inclusive
	Until    time.Time // exclusive
	BeforeID int64     // page backwards: only events with ID < BeforeID
	Limit    int       // at most this many (0: 100, capped at 1000)
}

// TokenFilter narrows ListActiveTokens; empty fields match everything.
type TokenFilter struct {
	ClientID string
	UserID   string
	// GrantIDs, when not empty, matches the tokens of these grants only.
	GrantIDs []string
	Kind     TokenKind
}

// Issue is a token pair to store. Refresh may be nil (client credentials).
type Issue struct {
	Access  Token
	Refresh *Token
	// RefreshCap, when > 0, is the number of active refresh tokens one user may
	// hold for one client; storing the new one revokes the oldest beyond it
	// (with their grants' access tokens issued alongside).
	RefreshCap int
}

// Sessions persists browser sessions so every node can serve them.
type Sessions interface {
	// FindSession returns the data of an unexpired session; found is false otherwise.
	FindSession(ctx context.Context, token string, now time.Time) (data []byte, found bool, err error)
	// CommitSession stores a session, new or not.
	CommitSession(ctx context.Context, token string, data []byte, expiry time.Time) error
	// UpdateSession stores a session only if its row is still there; found
	// is false when it was deleted (a sign-out) since it was read.
	UpdateSession(ctx context.Context, token string, data []byte, expiry time.Time) (found bool, err error)
	DeleteSession(ctx context.Context, token string) error
	// CountSessions counts the sessions unexpired at now, across every node.
	CountSessions(ctx context.Context, now time.Time) (int, error)
}

// Consents makes each consent page's decision single-use. The page's form
// carries its authorization request signed with the secret key, so nothing
// is stored until the user decides.
type Consents interface {
	// DecideConsent records that the consent page with this ID hash, valid
	// until expiresAt, is decided, and in the same transaction stores code
	// (unless nil) and event (unless nil; its ID is ignored): of any number
	// of concurrent or repeated deciders exactly one gets nil; the others
	// get ErrNotFound and store nothing. So a decision and what it produces
	// are one commit, and one decision there is. A code for a user disabled
	// since the caller checked is refused the same way (ErrNotFound): it is
	// checked under the lock token writes take, so a disabling either drops
	// the code or is seen. It returns once that commit
	// is visible to every reader, possibly before it is flushed to disk: a
	// power cut just after may lose the decision and its code (whose
	// exchange then fails), never a token issued from that code, whose own
	// durable commit flushes the decision first.
	DecideConsent(ctx context.Context, idHash []byte, expiresAt time.Time, code *Code, event *AuditEvent) error
}

// Throttle counts sign-in attempts in fixed windows, cluster-wide. Callers
// reserve an attempt with AddFailure before checking the password, so
// concurrent guesses each see their own count.
type Throttle interface {
	// AddFailure counts one failure for key in its current window (opening a
	// new one at now if the last began at or before now-window) and returns
	// the count in that window and when it began.
	AddFailure(ctx context.Context, key string, now time.Time, window time.Duration) (int, time.Time, error)
	// Failures returns the count in the current window for key.
	Failures(ctx context.Context, key string, now time.Time, window time.Duration) (int, error)
	// ReleaseFailure takes one count back (not below zero) from key's window
	// that began at windowStart, as AddFailure returned it, if that is still
	// key's window: an attempt reserved with AddFailure that turned out to
	// make no guess. Naming the window, not the attempt's time, matters
	// when concurrent attempts race to open it: one whose clock read came
	// first may be counted in a window another opened a moment later.
	ReleaseFailure(ctx context.Context, key string, windowStart time.Time) error
	ResetFailures(ctx context.Context, key string) error
}
