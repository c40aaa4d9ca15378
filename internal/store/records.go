package store

import "time"

// AsStored is t as every store keeps it, and so as views show it: UTC, to
// the millisecond. A record shown as just written then reads the same as it
// does once read back.
func AsStored(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// Level is a user's permission level; higher includes lower.
type Level int

// Permission levels.
const (
	LevelUser        Level = 0
	LevelAdmin       Level = 1
	LevelSystemAdmin Level = 2
)

// User is one account of the built-in directory.
type User struct {
	ID           string
	Username     string
	DisplayName  string
	Email        string
	PasswordHash string // argon2id PHC string
	Level        Level
	Groups       []string
	Disabled     bool
	// SessionsAfter invalidates every browser session that signed in before it
	// ("sign out everywhere", password reset, disabling).
	SessionsAfter time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Client is a registered application ("incoming link").
type Client struct {
	ID          string
	Name        string
	Description string
	// SecretHash is the keyed hash of the secret; SecretSealed is the secret
	// encrypted with a key kept outside the database. Both are nil for public clients.
	SecretHash   []byte
	SecretSealed []byte
	Public       bool
	RequirePKCE  bool
	RedirectURIs []string
	Scopes       []string
	Grants       []string
	Enabled      bool
	// SubscriberUsers (usernames) and SubscriberGroups limit who may authorize
	// the client; both empty means every user.
	SubscriberUsers  []string
	SubscriberGroups []string
	// AllowedIPs lists CIDRs allowed at the token endpoint and on token use;
	// empty means anywhere.
	AllowedIPs []string
	// IntrospectAny lets the client introspect every token (a resource server
	// such as a mail server); otherwise only the tokens issued to it.
	IntrospectAny bool
	// HasLogo is read-only here: SetClientLogo changes it.
	HasLogo   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Code is an authorization code, bound to everything the token request must repeat.
type Code struct {
	Hash            []byte
	ClientID        string
	UserID          string
	RedirectURI     string
	Scope           string
	Challenge       string
	ChallengeMethod string // "S256" or "plain"; "" when no challenge was sent
	GrantID         string // the grant the tokens issued from this code belong to
	CreatedAt       time.Time
	ExpiresAt       time.Time
	UsedAt          time.Time
}

// TokenKind tells access tokens from refresh tokens.
type TokenKind string

// Token kinds.
const (
	KindAccess  TokenKind = "access"
	KindRefresh TokenKind = "refresh"
)

// Token is an access or refresh token. Only its keyed hash is stored.
type Token struct {
	Hash     []byte
	Kind     TokenKind
	GrantID  string // every token of one authorization shares it
	ClientID string
	UserID   string // empty for client credentials
	Scope    string
	// GrantedAt is when the user consented (carried across rotations).
	GrantedAt time.Time
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
	RevokedAt time.Time
	RotatedAt time.Time // refresh tokens only
	// AccessHash links a refresh token to the access token issued with it.
	AccessHash []byte
}

// Active reports whether the token can be used at now.
func (t Token) Active(now time.Time) bool {
	if !t.RevokedAt.IsZero() {
		return false
	}
	if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
		return false
	}
	return t.Kind != KindRefresh || t.RotatedAt.IsZero()
}

// AuditEvent is one entry of the audit log.
type AuditEvent struct {
	ID       int64
	At       time.Time
	Kind     string // e.g. "client.create", "consent.allow", "signin.failure"
	Actor    string // username of who did it; "" for anonymous callers
	Address  string // caller address
	ClientID string // the application concerned, if any
	Username string // the user concerned, if any
	Detail   string // short human-readable detail; never a secret
}
