package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// Grant types an application may be allowed.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// DefaultGrants are given to an application that names none.
var DefaultGrants = []string{GrantAuthorizationCode, GrantRefreshToken}

// ErrInvalid is wrapped by every validation failure. Each is a
// *validation.Error: its English text is fit to show, and its key words it in
// other languages.
var ErrInvalid = errors.New("invalid application")

// ErrLimit is wrapped by the error returned when the configured number of
// applications exists (a *validation.Error, key "app.limit").
var ErrLimit = errors.New("the maximum number of applications is registered")

// invalid returns a validation failure with a message key (see internal/validation).
func invalid(key, format string, args ...any) error {
	return validation.Errorf(ErrInvalid, key, format, args...)
}

// Registration is what an administrator fills in.
type Registration struct {
	Name             string
	Description      string
	RedirectURIs     []string
	Scopes           []string
	Grants           []string
	Public           bool
	RequirePKCE      bool
	Disabled         bool
	SubscriberUsers  []string
	SubscriberGroups []string
	AllowedIPs       []string
	// IntrospectAny lets a resource server (a mail server, an API gateway)
	// introspect every token, not only those issued to it.
	IntrospectAny bool
	// KeepEnabled ignores Disabled on Update and keeps the stored state, read
	// in the same transaction as the write (an edit that does not say).
	KeepEnabled bool
}

// Service registers applications and checks their secrets.
type Service struct {
	store  store.Store
	keys   *secret.Keys
	minter *token.Minter
	scopes *scope.Catalogue
	dev    bool
	limit  int
	now    func() time.Time
	log    *slog.Logger
	// keyMismatch logs a secret key that cannot open the sealed secrets
	// once: every later view fails the same way until the node restarts.
	keyMismatch sync.Once
}

// Options configures a Service.
type Options struct {
	Dev   bool // allow http redirect URIs
	Limit int  // maximum number of applications; 0 is unlimited
	Now   func() time.Time
	Log   *slog.Logger // nil: discard
}

// NewService returns a Service.
func NewService(s store.Store, keys *secret.Keys, m *token.Minter, c *scope.Catalogue, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: s, keys: keys, minter: m, scopes: c, dev: o.Dev, limit: o.Limit, now: o.Now, log: o.Log}
}

// Rules of a registration's fields (see internal/validation for the input
// policy): every list has a documented maximum, and going over a limit is
// refused, never cut.
var (
	nameRule        = validation.TextRule{Field: "name", Max: 200, Name: true}
	descriptionRule = validation.TextRule{Field: "description", Max: 2000, Multiline: true}
	redirectURIs    = validation.ListRule{Item: validation.TextRule{Field: "redirect_uris"}, Max: 20} // ValidateRedirectURI bounds the length
	scopesRule      = validation.ListRule{Item: validation.TextRule{Field: "scopes", Max: 200}, Max: 100}
	subscriberUsers = validation.ListRule{Item: validation.TextRule{Field: "subscriber_users", Max: 64}, Max: 1000, Fold: true}
	subscriberGroup = validation.ListRule{Item: validation.TextRule{Field: "subscriber_groups", Max: 100, Name: true}, Max: 1000}
	allowedIPsRule  = validation.ListRule{Item: validation.TextRule{Field: "allowed_ips", Max: 64}, Max: 100}
	grantsRule      = validation.ListRule{Item: validation.TextRule{Field: "grants", Max: 64}, Max: 3}
)

// normalize validates r and returns it in canonical form.
func (s *Service) normalize(r Registration) (Registration, error) {
	r.Name = validation.CollapseSpaces(r.Name)
	if r.Name == "" {
		return r, invalid("app.name_length", "name must be 1-%d characters", nameRule.Max)
	}
	if err := nameRule.Check(ErrInvalid, r.Name); err != nil {
		return r, err
	}
	if err := descriptionRule.Check(ErrInvalid, r.Description); err != nil {
		return r, err
	}
	var err error
	lists := []struct {
		rule validation.ListRule
		list *[]string
	}{
		{grantsRule, &r.Grants}, {redirectURIs, &r.RedirectURIs}, {scopesRule, &r.Scopes},
		{subscriberUsers, &r.SubscriberUsers}, {subscriberGroup, &r.SubscriberGroups}, {allowedIPsRule, &r.AllowedIPs},
	}
	for _, l := range lists {
		if *l.list, err = l.rule.Clean(ErrInvalid, *l.list); err != nil {
			return r, err
		}
	}
	if len(r.Grants) == 0 {
		r.Grants = DefaultGrants
	}
	for _, g := range r.Grants {
		if g != GrantAuthorizationCode && g != GrantRefreshToken && g != GrantClientCredentials {
			return r, invalid("app.grant_unknown", "grant %q is not one of authorization_code, refresh_token, client_credentials", g)
		}
	}
	if r.Public {
		if slices.Contains(r.Grants, GrantClientCredentials) {
			return r, invalid("app.public_client_credentials", "a public application cannot use client_credentials: it has no secret")
		}
		if r.IntrospectAny {
			return r, invalid("app.public_introspect", "a public application cannot introspect tokens: it has no secret")
		}
		r.RequirePKCE = true
	}
	needsRedirect := slices.Contains(r.Grants, GrantAuthorizationCode)
	if needsRedirect && len(r.RedirectURIs) == 0 {
		return r, invalid("app.redirect_uri_required", "at least one redirect URI is required for the authorization_code grant")
	}
	for _, u := range r.RedirectURIs {
		if err := ValidateRedirectURI(u, s.dev); err != nil {
			return r, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	if len(r.Scopes) == 0 {
		return r, invalid("app.scope_required", "at least one scope is required")
	}
	canon := make([]string, 0, len(r.Scopes))
	for _, name := range r.Scopes {
		c, ok := s.scopes.Canonical(name)
		if !ok {
			return r, invalid("app.scope_unknown", "scope %q is not in the scope catalogue", name)
		}
		canon = append(canon, c)
	}
	r.Scopes = uniq(canon)
	r.SubscriberUsers = lower(r.SubscriberUsers)
	cidrs := make([]string, 0, len(r.AllowedIPs))
	for _, c := range r.AllowedIPs {
		p, err := ParseCIDR(strings.TrimSpace(c))
		if err != nil {
			return r, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		cidrs = append(cidrs, p)
	}
	r.AllowedIPs = uniq(cidrs)
	return r, nil
}

// Create registers an application and returns it with its secret (empty for
// public clients). The secret is shown once here; Reveal shows it again.
func (s *Service) Create(ctx context.Context, r Registration) (store.Client, string, error) {
	r, err := s.normalize(r)
	if err != nil {
		return store.Client{}, "", err
	}
	now := s.now()
	c := store.Client{ID: newClientID(), CreatedAt: now}
	apply(&c, r, now)
	var secretValue string
	if !c.Public {
		if secretValue, c.SecretHash, c.SecretSealed, err = s.newSecret(c.ID); err != nil {
			return store.Client{}, "", err
		}
	}
	nameInEvent(ctx, c)
	if err := s.store.CreateClient(ctx, c, s.limit); err != nil {
		if errors.Is(err, store.ErrLimit) {
			return store.Client{}, "", validation.Wrap(fmt.Errorf("%w (%d)", ErrLimit, s.limit), "app.limit", s.limit)
		}
		return store.Client{}, "", err
	}
	return c, secretValue, nil
}

// Update replaces an application's settings, leaving its secret alone.
// Turning a confidential client public drops its secret; turning a public one
// confidential gives it a new one, returned (else ""), to be shown once as a
// created application's is. Like every change of an application it is one
// store transaction on the row as stored, never on a cached copy, so it
// cannot undo a concurrent change made on another node (a rotated secret).
func (s *Service) Update(ctx context.Context, id string, r Registration, allow Allow) (store.Client, string, error) {
	r, err := s.normalize(r)
	if err != nil {
		return store.Client{}, "", err
	}
	now := s.now()
	var secretValue string
	c, err := s.store.UpdateClient(ctx, id, func(c *store.Client) error {
		if err := allow.Check(*c); err != nil {
			return err
		}
		enabled := c.Enabled
		apply(c, r, now)
		if r.KeepEnabled {
			c.Enabled = enabled
		}
		secretValue = ""
		switch {
		case c.Public:
			c.SecretHash, c.SecretSealed = nil, nil
		case len(c.SecretHash) == 0:
			var err error
			if secretValue, c.SecretHash, c.SecretSealed, err = s.newSecret(c.ID); err != nil {
				return err
			}
		}
		nameInEvent(ctx, *c)
		return nil
	})
	if err != nil {
		return c, "", err
	}
	return c, secretValue, nil
}

// Allow vets an application as the change reads it, in the change's own
// transaction: a permission that depends on the application's settings
// (its scopes) is then checked on the row the change replaces, which no
// concurrent change can alter in between, rather than on an earlier read.
// Its error refuses the change, which writes nothing. Nil allows any.
type Allow func(store.Client) error

// Check is a(c), or nil for a nil Allow.
func (a Allow) Check(c store.Client) error {
	if a == nil {
		return nil
	}
	return a(c)
}

// nameInEvent names the application in the audit event pending in ctx
// (store.WithEvent), if any: its ID, which Create makes, and its name as
// written.
func nameInEvent(ctx context.Context, c store.Client) {
	if event := store.PendingFor(ctx); event != nil {
		event.Event.ClientID, event.Event.Detail = c.ID, c.Name
	}
}

// SetEnabled enables or disables an application and changes nothing else.
func (s *Service) SetEnabled(ctx context.Context, id string, enabled bool, allow Allow) (store.Client, error) {
	now := s.now()
	return s.store.UpdateClient(ctx, id, func(c *store.Client) error {
		if err := allow.Check(*c); err != nil {
			return err
		}
		c.Enabled, c.UpdatedAt = enabled, now
		nameInEvent(ctx, *c)
		return nil
	})
}

func apply(c *store.Client, r Registration, now time.Time) {
	c.Name, c.Description = r.Name, r.Description
	c.RedirectURIs, c.Scopes, c.Grants = r.RedirectURIs, r.Scopes, r.Grants
	c.Public, c.RequirePKCE, c.Enabled = r.Public, r.RequirePKCE, !r.Disabled
	c.SubscriberUsers, c.SubscriberGroups, c.AllowedIPs = r.SubscriberUsers, r.SubscriberGroups, r.AllowedIPs
	c.IntrospectAny = r.IntrospectAny
	c.UpdatedAt = now
}

// newSecret mints a client secret for the client id: the value to show, its
// keyed hash to check, and the sealed copy to show again.
func (s *Service) newSecret(id string) (value string, hash, sealed []byte, err error) {
	value, hash, err = s.minter.New(token.ClientSecret)
	if err != nil {
		return "", nil, nil, err
	}
	return value, hash, s.keys.Seal([]byte(value), secretContext(id)), nil
}

// RotateSecret gives a confidential application a new secret; the old one
// stops working at once. Only the secret (and the update time) changes, in
// one store transaction, so a concurrent edit elsewhere cannot bring the old
// secret back, nor this rotation undo the edit.
func (s *Service) RotateSecret(ctx context.Context, id string, allow Allow) (string, error) {
	value, hash, sealed, err := s.newSecret(id)
	if err != nil {
		return "", err
	}
	now := s.now()
	_, err = s.store.UpdateClient(ctx, id, func(c *store.Client) error {
		if err := allow.Check(*c); err != nil {
			return err
		}
		if c.Public {
			return invalid("app.public_no_secret", "a public application has no secret")
		}
		c.SecretHash, c.SecretSealed, c.UpdatedAt = hash, sealed, now
		return nil
	})
	if err != nil {
		return "", err
	}
	return value, nil
}

// Reveal returns the current secret of a confidential application. A copy
// sealed under another secret key fails with secret.ErrKeyMismatch.
func (s *Service) Reveal(c store.Client) (string, error) {
	if c.Public || len(c.SecretSealed) == 0 {
		return "", invalid("app.public_no_secret", "a public application has no secret")
	}
	plain, err := s.keys.Open(c.SecretSealed, secretContext(c.ID))
	if errors.Is(err, secret.ErrKeyMismatch) {
		s.keyMismatch.Do(func() {
			s.log.Error("cannot open a sealed client secret: "+err.Error(), "client_id", c.ID)
		})
	}
	return string(plain), err
}

// CheckSecret compares a presented secret with the stored hash in constant time.
func (s *Service) CheckSecret(c store.Client, presented string) bool {
	if c.Public || len(c.SecretHash) == 0 {
		return false
	}
	return s.minter.Matches(token.ClientSecret, presented, c.SecretHash)
}

// Reread returns the application as the database holds it now, past the
// application cache (store.ClientCache) when there is one: a secret that
// does not match the cached copy may have been regenerated on another node
// or by the command line within the cache's second.
func (s *Service) Reread(ctx context.Context, id string) (store.Client, error) {
	if cache, ok := s.store.(*store.ClientCache); ok {
		return cache.Reread(ctx, id)
	}
	return s.store.ClientByID(ctx, id)
}

// ScopeAbove returns the first of names (as a registration or a stored
// application spells them) that only a user above level may hold, in its
// catalogue spelling; "" when there is none. Unknown names are left to
// validation.
func (s *Service) ScopeAbove(names []string, level store.Level) string {
	for _, name := range names {
		canonical, ok := s.scopes.Canonical(strings.TrimSpace(name))
		if !ok {
			continue
		}
		if l, _ := s.scopes.Level(canonical); l > level {
			return canonical
		}
	}
	return ""
}

// Get returns one application.
func (s *Service) Get(ctx context.Context, id string) (store.Client, error) {
	if !validClientID(id) {
		return store.Client{}, store.ErrNotFound
	}
	return s.store.ClientByID(ctx, id)
}

// List returns every application.
func (s *Service) List(ctx context.Context) ([]store.Client, error) { return s.store.ListClients(ctx) }

// Delete removes an application and every token it holds, naming it in
// the pending audit event as it was when deleted.
func (s *Service) Delete(ctx context.Context, id string, allow Allow) error {
	ctx, cancel := store.WithoutHangUp(ctx)
	defer cancel()
	return s.store.DeleteClient(ctx, id, func(c store.Client) error {
		if err := allow.Check(c); err != nil {
			return err
		}
		nameInEvent(ctx, c)
		return nil
	})
}

// newClientID returns 32 hex characters, the shape Atlassian's provider uses.
func newClientID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// validClientID refuses impossible IDs before a database read.
func validClientID(id string) bool {
	if len(id) != 32 {
		return false
	}
	var b [16]byte // decoded on the stack: this runs for every client-authenticated request
	_, err := hex.Decode(b[:], []byte(id))
	return err == nil
}

// uniq drops repeats from canonical forms (two spellings of one scope or
// network), keeping the first, in linear time.
func uniq(in []string) []string {
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func lower(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToLower(s)
	}
	return out
}

// RedirectAllowed reports whether the node's mode lets a code go to the
// registered uri: outside development mode, never plain http to anything but
// a loopback address. Registration refuses such a URI, but one may reach the
// database another way (a command run with --dev, a copy of a development
// database), and a code sent there is read by anyone on the path.
func (s *Service) RedirectAllowed(uri string) bool {
	if s.dev || len(uri) < len("http://") || !strings.EqualFold(uri[:len("http://")], "http://") {
		return true
	}
	u, err := url.Parse(uri)
	return err == nil && IsLoopback(u)
}

// InsecureRedirects lists, for production start-up, every registered redirect
// URI that only development mode allows (plain http to a non-loopback host).
// A URI stored before a later rule refused it is not listed: it is not a
// matter of the mode, and keeps working as it did.
func (s *Service) InsecureRedirects(ctx context.Context) ([]string, error) {
	clients, err := s.store.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	var bad []string
	for _, c := range clients {
		for _, u := range c.RedirectURIs {
			if ValidateRedirectURI(u, false) != nil && ValidateRedirectURI(u, true) == nil {
				bad = append(bad, fmt.Sprintf("%s (%s): %s", c.Name, c.ID, u))
			}
		}
	}
	return bad, nil
}
