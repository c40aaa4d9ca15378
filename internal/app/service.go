package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
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
}

// Options configures a Service.
type Options struct {
	Dev   bool // allow http redirect URIs
	Limit int  // maximum number of applications; 0 is unlimited
	Now   func() time.Time
}

// NewService returns a Service.
func NewService(s store.Store, keys *secret.Keys, m *token.Minter, c *scope.Catalogue, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{store: s, keys: keys, minter: m, scopes: c, dev: o.Dev, limit: o.Limit, now: o.Now}
}

// Bounds of a registration.
const (
	maxName         = 200
	maxDescription  = 2000
	maxRedirectURIs = 20
)

// normalize validates r and returns it in canonical form.
func (s *Service) normalize(r Registration) (Registration, error) {
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" || len(r.Name) > maxName {
		return r, invalid("app.name_length", "name must be 1-%d characters", maxName)
	}
	if len(r.Description) > maxDescription {
		return r, invalid("app.description_length", "description must be at most %d characters", maxDescription)
	}
	if len(r.Grants) == 0 {
		r.Grants = DefaultGrants
	}
	r.Grants = uniq(r.Grants)
	for _, g := range r.Grants {
		if g != GrantAuthorizationCode && g != GrantRefreshToken && g != GrantClientCredentials {
			return r, invalid("app.grant_unknown", "grant %q is not one of authorization_code, refresh_token, client_credentials", g)
		}
	}
	if r.Public {
		if slices.Contains(r.Grants, GrantClientCredentials) {
			return r, invalid("app.public_client_credentials", "a public application cannot use client_credentials: it has no secret")
		}
		r.RequirePKCE = true
	}
	needsRedirect := slices.Contains(r.Grants, GrantAuthorizationCode)
	if needsRedirect && len(r.RedirectURIs) == 0 {
		return r, invalid("app.redirect_uri_required", "at least one redirect URI is required for the authorization_code grant")
	}
	if len(r.RedirectURIs) > maxRedirectURIs {
		return r, invalid("app.redirect_uri_count", "at most %d redirect URIs", maxRedirectURIs)
	}
	r.RedirectURIs = uniq(r.RedirectURIs)
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
	r.SubscriberUsers = uniq(lower(r.SubscriberUsers))
	r.SubscriberGroups = uniq(r.SubscriberGroups)
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
		if secretValue, err = s.setSecret(&c); err != nil {
			return store.Client{}, "", err
		}
	}
	if err := s.store.CreateClient(ctx, c, s.limit); err != nil {
		if errors.Is(err, store.ErrLimit) {
			return store.Client{}, "", validation.Wrap(fmt.Errorf("%w (%d)", ErrLimit, s.limit), "app.limit", s.limit)
		}
		return store.Client{}, "", err
	}
	return c, secretValue, nil
}

// Update replaces an application's settings. Turning a confidential client
// public drops its secret; turning a public one confidential needs RotateSecret.
func (s *Service) Update(ctx context.Context, id string, r Registration) (store.Client, error) {
	c, err := s.store.ClientByID(ctx, id)
	if err != nil {
		return store.Client{}, err
	}
	if r, err = s.normalize(r); err != nil {
		return store.Client{}, err
	}
	apply(&c, r, s.now())
	if c.Public {
		c.SecretHash, c.SecretSealed = nil, nil
	}
	return c, s.store.UpdateClient(ctx, c)
}

func apply(c *store.Client, r Registration, now time.Time) {
	c.Name, c.Description = r.Name, r.Description
	c.RedirectURIs, c.Scopes, c.Grants = r.RedirectURIs, r.Scopes, r.Grants
	c.Public, c.RequirePKCE, c.Enabled = r.Public, r.RequirePKCE, !r.Disabled
	c.SubscriberUsers, c.SubscriberGroups, c.AllowedIPs = r.SubscriberUsers, r.SubscriberGroups, r.AllowedIPs
	c.UpdatedAt = now
}

func (s *Service) setSecret(c *store.Client) (string, error) {
	value, hash, err := s.minter.New(token.ClientSecret)
	if err != nil {
		return "", err
	}
	c.SecretHash = hash
	c.SecretSealed = s.keys.Seal([]byte(value), "client-secret:"+c.ID)
	return value, nil
}

// RotateSecret gives a confidential application a new secret; the old one
// stops working at once.
func (s *Service) RotateSecret(ctx context.Context, id string) (string, error) {
	c, err := s.store.ClientByID(ctx, id)
	if err != nil {
		return "", err
	}
	if c.Public {
		return "", invalid("app.public_no_secret", "a public application has no secret")
	}
	value, err := s.setSecret(&c)
	if err != nil {
		return "", err
	}
	c.UpdatedAt = s.now()
	return value, s.store.UpdateClient(ctx, c)
}

// Reveal returns the current secret of a confidential application.
func (s *Service) Reveal(c store.Client) (string, error) {
	if c.Public || len(c.SecretSealed) == 0 {
		return "", invalid("app.public_no_secret", "a public application has no secret")
	}
	plain, err := s.keys.Open(c.SecretSealed, "client-secret:"+c.ID)
	return string(plain), err
}

// CheckSecret compares a presented secret with the stored hash in constant time.
func (s *Service) CheckSecret(c store.Client, presented string) bool {
	if c.Public || len(c.SecretHash) == 0 {
		return false
	}
	hash, ok := s.minter.Parse(token.ClientSecret, presented)
	return ok && secret.Equal(hash, c.SecretHash)
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

// Delete removes an application and every token it holds.
func (s *Service) Delete(ctx context.Context, id string) error { return s.store.DeleteClient(ctx, id) }

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
	_, err := hex.DecodeString(id)
	return err == nil
}

func uniq(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
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

// InsecureRedirects lists, for production start-up, every registered redirect
// URI that only development mode allows (plain http to a non-loopback host).
func (s *Service) InsecureRedirects(ctx context.Context) ([]string, error) {
	clients, err := s.store.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	var bad []string
	for _, c := range clients {
		for _, u := range c.RedirectURIs {
			if ValidateRedirectURI(u, false) != nil {
				bad = append(bad, fmt.Sprintf("%s (%s): %s", c.Name, c.ID, u))
			}
		}
	}
	return bad, nil
}
