package admin

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

// ClientView is the one JSON representation of an application, shared by
// the admin API and the command line's --json.
type ClientView struct {
	ClientID         string     `json:"client_id"`
	ClientSecret     string     `json:"client_secret,omitempty"` // only when just created, rotated or asked for
	Name             string     `json:"name"`
	Description      string     `json:"description"`
	Type             string     `json:"type"` // "confidential" or "public"
	RedirectURIs     []string   `json:"redirect_uris"`
	Scopes           []string   `json:"scopes"`
	Grants           []string   `json:"grants"`
	RequirePKCE      bool       `json:"require_pkce"`
	Enabled          bool       `json:"enabled"`
	SubscriberUsers  []string   `json:"subscriber_users"`
	SubscriberGroups []string   `json:"subscriber_groups"`
	AllowedIPs       []string   `json:"allowed_ips"`
	IntrospectAny    bool       `json:"introspect_any"`
	HasLogo          bool       `json:"has_logo"`
	ActiveTokens     int        `json:"active_tokens"`
	LastUsed         *time.Time `json:"last_used"` // when a token was last issued; null: never
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// NewClientView shows an application with its usage and, when given, its secret.
func NewClientView(s AppSummary, secretValue string) ClientView {
	c := s.Client
	kind := "confidential"
	if c.Public {
		kind = "public"
	}
	out := ClientView{
		ClientID: c.ID, ClientSecret: secretValue, Name: c.Name, Description: c.Description, Type: kind,
		RedirectURIs: nonNil(c.RedirectURIs), Scopes: nonNil(c.Scopes), Grants: nonNil(c.Grants),
		RequirePKCE: c.RequirePKCE, Enabled: c.Enabled, SubscriberUsers: nonNil(c.SubscriberUsers),
		SubscriberGroups: nonNil(c.SubscriberGroups), AllowedIPs: nonNil(c.AllowedIPs), IntrospectAny: c.IntrospectAny, HasLogo: c.HasLogo,
		ActiveTokens: s.Usage.ActiveTokens, CreatedAt: store.AsStored(c.CreatedAt), UpdatedAt: store.AsStored(c.UpdatedAt),
	}
	if !s.Usage.LastIssued.IsZero() {
		t := store.AsStored(s.Usage.LastIssued)
		out.LastUsed = &t
	}
	return out
}

// UserView is the one JSON representation of a user.
type UserView struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	Email       string    `json:"email"`
	Level       string    `json:"level"` // user, admin or system-admin
	Groups      []string  `json:"groups"`
	Disabled    bool      `json:"disabled"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// NewUserView shows a user, never the password hash.
func NewUserView(u store.User) UserView {
	return UserView{
		ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Email: u.Email, Level: user.LevelName(u.Level),
		Groups: nonNil(u.Groups), Disabled: u.Disabled, CreatedAt: store.AsStored(u.CreatedAt), UpdatedAt: store.AsStored(u.UpdatedAt),
	}
}

// GrantView is one authorization: the tokens of one consent (or one
// client-credentials request), revoked as a unit.
type GrantView struct {
	ID           string    `json:"id"`
	ClientID     string    `json:"client_id"`
	ClientName   string    `json:"client_name"`
	Username     *string   `json:"username"` // null for client credentials
	Scopes       []string  `json:"scopes"`
	GrantedAt    time.Time `json:"granted_at"`
	LastUsed     time.Time `json:"last_used"` // when the grant last got a token
	ActiveTokens int       `json:"active_tokens"`
}

// NewGrantView shows a grant.
func NewGrantView(g Grant) GrantView {
	out := GrantView{
		ID: g.ID, ClientID: g.Client.ID, ClientName: g.Client.Name, Scopes: nonNil(g.ScopeList()),
		GrantedAt: store.AsStored(g.GrantedAt), LastUsed: store.AsStored(g.LastUsed), ActiveTokens: g.Tokens,
	}
	if g.User != nil {
		name := g.User.Username
		out.Username = &name
	}
	return out
}

// AuditView is one audit event as the API lists it and both exports write it.
type AuditView struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	Kind     string    `json:"kind"`
	Actor    string    `json:"actor,omitempty"`
	Address  string    `json:"address,omitempty"`
	ClientID string    `json:"client_id,omitempty"`
	Username string    `json:"username,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// NewAuditView shows an audit event.
func NewAuditView(e store.AuditEvent) AuditView {
	return AuditView{e.ID, e.At.UTC(), e.Kind, e.Actor, e.Address, e.ClientID, e.Username, e.Detail}
}

// Summary returns one application with its token usage.
func (s *Service) Summary(ctx context.Context, c store.Client) (AppSummary, error) {
	usage, err := s.store.ClientUsage(ctx, s.now())
	if err != nil {
		return AppSummary{}, err
	}
	return AppSummary{Client: c, Usage: usage[c.ID]}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
