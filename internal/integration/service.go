package integration

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Service manages the integrations, their authorization and their tokens.
// The console, the admin API and the command line all call it.
type Service struct {
	store   store.Store
	keys    *secret.Keys
	audit   *audit.Log
	log     *slog.Logger
	now     func() time.Time
	baseURL string
	dev     bool
	holder  string        // this node's name on refresh leases
	timeout time.Duration // of one request to a provider
	// answerWithin bounds a caller's wait for the provider (Options).
	answerWithin time.Duration
	lease        time.Duration // of a refresh lease: outlasts the request and the write after it
	poll         time.Duration // the refresher's longest sleep
	client       *http.Client
	presets      map[string]preset
	flights      singleflight.Group     // one refresh per integration at a time on this node
	detached     sync.WaitGroup         // the callers' refreshes and code exchanges, which outlive them (detach, Wait)
	wake         chan struct{}          // tells the refresher that the schedule changed
	refreshes    *prometheus.CounterVec // by result: this node's refreshes
	// keyMismatch logs a secret key that cannot open the vault once.
	keyMismatch sync.Once
	opened      openedTokens
}

// defaultRequestTimeout bounds one request to a provider when Options do not.
const defaultRequestTimeout = 30 * time.Second

// Options configure a Service.
type Options struct {
	BaseURL string // the node's public base URL, which redirect URLs start with
	Dev     bool   // allow http endpoints
	// Node names this node on refresh leases; empty: a random name.
	Node string
	// RequestTimeout bounds one request to a provider (default 30s).
	RequestTimeout time.Duration
	// AnswerWithin bounds how long a caller — the token API, Test
	// connection, a mail server's test, the command line — waits for the
	// provider (default 20s): the HTTP server gives up on an answer after
	// 30 s, and a refresh that takes longer goes on detached, its token kept.
	AnswerWithin time.Duration
	// PollInterval is the refresher's longest sleep (default 5s): how soon
	// it notices tokens that another node stored.
	PollInterval time.Duration
	Now          func() time.Time
	Log          *slog.Logger // nil: discard
	// Metrics, when set, gets the counter of refreshes; the status and
	// expiry of every integration are read at each scrape (WriteMetrics).
	Metrics prometheus.Registerer
}

// LeaseFor is how long a node holds an integration's refresh lease when one
// request to the provider may take requestTimeout: it outlasts the request
// and the write after it.
func LeaseFor(requestTimeout time.Duration) time.Duration {
	if requestTimeout <= 0 {
		requestTimeout = defaultRequestTimeout
	}
	return requestTimeout*3/2 + 2*time.Second
}

// New returns a Service.
func New(st store.Store, keys *secret.Keys, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = defaultRequestTimeout
	}
	if o.AnswerWithin <= 0 {
		o.AnswerWithin = 20 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.Node == "" {
		b := make([]byte, 8)
		rand.Read(b)
		o.Node = hex.EncodeToString(b)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	s := &Service{
		store: st, keys: keys, audit: audit.New(st, o.Now, o.Log), log: o.Log, now: o.Now,
		baseURL: strings.TrimRight(o.BaseURL, "/"), dev: o.Dev, holder: o.Node,
		timeout: o.RequestTimeout, answerWithin: o.AnswerWithin, lease: LeaseFor(o.RequestTimeout), poll: o.PollInterval,
		client: &http.Client{
			Timeout:   o.RequestTimeout,
			Transport: recordingTransport{transport},
			// A token endpoint that redirects is misconfigured, and following
			// would send the refresh token on to wherever it points.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		presets: maps.Clone(presets),
		wake:    make(chan struct{}, 1),
	}
	s.refreshes = newRefreshCounter()
	if o.Metrics != nil {
		o.Metrics.MustRegister(s.refreshes)
	}
	return s
}

// Actor is who acts (see audit.Actor).
type Actor = audit.Actor

func checkActor(a Actor) error {
	if a.Level < store.LevelSystemAdmin {
		return ErrForbidden
	}
	return nil
}

// event is the audit event of an action on in.
func event(a Actor, kind string, in store.Integration, detail string) store.AuditEvent {
	return store.AuditEvent{Kind: kind, Actor: a.Username, Address: a.Address, ClientID: a.ClientID, Detail: named(in, detail)}
}

// named is an event's detail about in: its name, then detail if any.
func named(in store.Integration, detail string) string {
	if detail == "" {
		return in.Name
	}
	return in.Name + ": " + detail
}

// record records the event of an action done (see event).
func (s *Service) record(ctx context.Context, a Actor, kind string, in store.Integration, detail string) {
	s.audit.Record(ctx, event(a, kind, in, detail))
}

func secretContext(id string) string { return "integration client secret " + id }

// Create adds an integration. Empty settings take the provider's preset;
// a custom provider given only its issuer has its endpoints discovered.
func (s *Service) Create(ctx context.Context, a Actor, st Settings) (store.Integration, error) {
	if err := checkActor(a); err != nil {
		return store.Integration{}, err
	}
	def := s.defaults(st.Provider, strings.TrimSpace(st.Tenant))
	if err := fixedEndpoints(st.Provider, def, &st.AuthURL, &st.TokenURL, &st.UserinfoURL, &st.Issuer); err != nil {
		return store.Integration{}, err
	}
	if st.Scopes == nil {
		st.Scopes = def.Scopes
	}
	if st.AuthParams == "" {
		st.AuthParams = def.AuthParams
	}
	if err := s.discoverInto(ctx, &st); err != nil {
		return store.Integration{}, err
	}
	now := s.now()
	in := store.Integration{
		ID: newID(), Provider: st.Provider, Name: st.Name, Description: st.Description, ClientID: st.ClientID,
		Scopes: st.Scopes, AuthURL: st.AuthURL, TokenURL: st.TokenURL, UserinfoURL: st.UserinfoURL, Issuer: st.Issuer,
		Tenant: st.Tenant, AuthParams: st.AuthParams, PKCE: !st.NoPKCE, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.normalize(&in); err != nil {
		return store.Integration{}, err
	}
	if err := secretRule.Check(ErrInvalid, st.ClientSecret); err != nil {
		return store.Integration{}, err
	}
	if st.ClientSecret != "" {
		in.SecretSealed = s.keys.Seal([]byte(st.ClientSecret), secretContext(in.ID))
	}
	ctx, created := s.audit.Pending(ctx, event(a, audit.IntegrationCreate, in, in.Provider))
	err := s.store.CreateIntegration(ctx, in)
	if errors.Is(err, store.ErrConflict) {
		return store.Integration{}, invalid("integration.name_taken", "an integration named %q exists already", in.Name)
	}
	if err != nil {
		return store.Integration{}, err
	}
	s.audit.Settle(ctx, created)
	return in, nil
}

// discoverInto fills a custom provider's endpoints from its issuer when
// it gives the issuer and no endpoints.
func (s *Service) discoverInto(ctx context.Context, st *Settings) error {
	if st.Provider != Custom || st.Issuer == "" || st.AuthURL != "" || st.TokenURL != "" {
		return nil
	}
	m, err := s.Discover(ctx, st.Issuer)
	if err != nil {
		return err
	}
	st.Issuer, st.AuthURL, st.TokenURL, st.UserinfoURL = m.Issuer, m.AuthURL, m.TokenURL, cmp.Or(st.UserinfoURL, m.UserinfoURL)
	if m.NoS256 {
		st.NoPKCE = true
	}
	return nil
}

// Updated says what an update changed beyond the settings themselves.
type Updated struct {
	store.Integration
	// RedirectChanged: the endpoints changed, so the redirect URL did: it
	// must be registered at the provider again.
	RedirectChanged bool
	// Forgotten: the tokens belonged to other endpoints or another client ID
	// and were dropped; the integration needs authorizing again.
	Forgotten bool
}

// Update changes an integration's settings. A new token endpoint or client
// ID drops the stored tokens: they belong to the old ones, and sending the
// refresh token to a new endpoint would hand it to someone else.
func (s *Service) Update(ctx context.Context, a Actor, id string, ch Change) (Updated, error) {
	if err := checkActor(a); err != nil {
		return Updated{}, err
	}
	if ch.ClientSecret != nil {
		if err := secretRule.Check(ErrInvalid, *ch.ClientSecret); err != nil {
			return Updated{}, err
		}
	}
	if err := s.discoverChange(ctx, id, &ch); err != nil {
		return Updated{}, err
	}
	var out Updated
	ctx, updated := s.audit.Pending(ctx, event(a, audit.IntegrationUpdate, store.Integration{}, ""))
	in, err := s.store.UpdateIntegration(ctx, id, func(in *store.Integration) error {
		before := *in
		stored := Settings{AuthURL: in.AuthURL, TokenURL: in.TokenURL, UserinfoURL: in.UserinfoURL, Issuer: in.Issuer}
		if err := fixedEndpoints(in.Provider, stored, ch.AuthURL, ch.TokenURL, ch.UserinfoURL, ch.Issuer); err != nil {
			return err
		}
		apply(in, ch)
		if err := s.normalize(in); err != nil {
			return err
		}
		newSecret := ch.ClientSecret != nil && *ch.ClientSecret != ""
		if in.TokenURL != before.TokenURL && before.SecretSealed != nil && !newSecret {
			// The stored secret goes only to the endpoint it was given for:
			// a token or session without the administrator's password,
			// which viewing the secret asks for, must not have it sent to
			// an endpoint of its own choosing.
			return invalid("integration.secret_again", "type the client secret again: the stored one is sent only to the token endpoint it was given for")
		}
		if newSecret {
			in.SecretSealed = s.keys.Seal([]byte(*ch.ClientSecret), secretContext(in.ID))
		}
		in.UpdatedAt = s.now()
		out.RedirectChanged = s.RedirectURL(*in) != s.RedirectURL(before)
		if in.TokenURL != before.TokenURL || in.AuthURL != before.AuthURL || in.ClientID != before.ClientID {
			out.Forgotten = before.Vault.TokensSealed != nil
			in.Vault, in.LeaseHolder, in.LeaseUntil = store.IntegrationVault{}, "", time.Time{}
		}
		detail := "settings changed"
		if ch.ClientSecret != nil && *ch.ClientSecret != "" {
			detail += ", new client secret"
		}
		if out.Forgotten {
			detail += ", tokens dropped (new endpoint or client ID)"
		}
		// The event commits with the change and describes it as written.
		updated.Event.Detail = named(*in, detail)
		return nil
	})
	if errors.Is(err, store.ErrConflict) && ch.Name != nil { // only a new name can collide
		return Updated{}, invalid("integration.name_taken", "an integration named %q exists already", strings.TrimSpace(*ch.Name))
	}
	if err != nil {
		return Updated{}, err
	}
	out.Integration = in
	s.audit.Settle(ctx, updated)
	return out, nil
}

// discoverChange fills the endpoints of a change that gives a custom
// provider's issuer and no endpoints.
func (s *Service) discoverChange(ctx context.Context, id string, ch *Change) error {
	if ch.Issuer == nil || *ch.Issuer == "" || ch.AuthURL != nil && *ch.AuthURL != "" || ch.TokenURL != nil && *ch.TokenURL != "" {
		return nil
	}
	in, err := s.store.IntegrationByID(ctx, id)
	if err != nil || in.Provider != Custom {
		return err
	}
	st := Settings{Provider: Custom, Issuer: *ch.Issuer}
	if err := s.discoverInto(ctx, &st); err != nil {
		return err
	}
	ch.Issuer, ch.AuthURL, ch.TokenURL = &st.Issuer, &st.AuthURL, &st.TokenURL
	if ch.UserinfoURL == nil || *ch.UserinfoURL == "" {
		ch.UserinfoURL = &st.UserinfoURL
	}
	if st.NoPKCE {
		ch.NoPKCE = &st.NoPKCE
	}
	return nil
}

// fixedEndpoints refuses endpoints given for Google or Microsoft that are
// not the ones the preset fixes (want): they cannot be chosen, and saying
// so beats ignoring them. Empty or nil values are not given.
func fixedEndpoints(provider string, want Settings, auth, token, userinfo, issuer *string) error {
	if provider != Google && provider != Microsoft {
		return nil
	}
	for _, e := range []struct {
		field  string
		got    *string
		preset string
	}{
		{"authorization_endpoint", auth, want.AuthURL}, {"token_endpoint", token, want.TokenURL},
		{"userinfo_endpoint", userinfo, want.UserinfoURL}, {"issuer", issuer, want.Issuer},
	} {
		if e.got != nil && *e.got != "" && strings.TrimSpace(*e.got) != e.preset {
			return invalid("integration.preset_endpoint", "%s is fixed for %s; choose the custom provider to set your own", e.field, provider)
		}
	}
	return nil
}

func apply(in *store.Integration, ch Change) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&in.Name, ch.Name)
	set(&in.Description, ch.Description)
	set(&in.ClientID, ch.ClientID)
	set(&in.AuthURL, ch.AuthURL)
	set(&in.TokenURL, ch.TokenURL)
	set(&in.UserinfoURL, ch.UserinfoURL)
	set(&in.Issuer, ch.Issuer)
	set(&in.Tenant, ch.Tenant)
	set(&in.AuthParams, ch.AuthParams)
	if ch.Scopes != nil {
		in.Scopes = slices.Clone(*ch.Scopes)
	}
	if ch.NoPKCE != nil {
		in.PKCE = !*ch.NoPKCE
	}
}

// Get returns one integration by ID. Only system administrators may.
func (s *Service) Get(ctx context.Context, a Actor, id string) (store.Integration, error) {
	if err := checkActor(a); err != nil {
		return store.Integration{}, err
	}
	return s.store.IntegrationByID(ctx, id)
}

// Find returns the integration with this ID, or else with this name
// (whatever its case): the command line and the token API name them
// either way.
func (s *Service) Find(ctx context.Context, a Actor, idOrName string) (store.Integration, error) {
	if err := checkActor(a); err != nil {
		return store.Integration{}, err
	}
	in, err := s.store.IntegrationByID(ctx, idOrName)
	if errors.Is(err, store.ErrNotFound) {
		return s.store.IntegrationByName(ctx, idOrName)
	}
	return in, err
}

// List returns every integration, by name.
func (s *Service) List(ctx context.Context, a Actor) ([]store.Integration, error) {
	if err := checkActor(a); err != nil {
		return nil, err
	}
	return s.store.ListIntegrations(ctx)
}

// Delete removes an integration and its tokens. (Gatehouse cannot revoke
// them at the provider: few providers offer it; the docs say where to.)
func (s *Service) Delete(ctx context.Context, a Actor, id string) error {
	if err := checkActor(a); err != nil {
		return err
	}
	in, err := s.store.IntegrationByID(ctx, id)
	if err != nil {
		return err
	}
	ctx, deleted := s.audit.Pending(ctx, event(a, audit.IntegrationDelete, in, ""))
	if err := s.store.DeleteIntegration(ctx, id); err != nil {
		return err
	}
	s.audit.Settle(ctx, deleted)
	return nil
}

// RevealSecret returns the client secret; every view is audited. Doors
// must have checked the administrator's password again just before.
func (s *Service) RevealSecret(ctx context.Context, a Actor, id string) (string, error) {
	if err := checkActor(a); err != nil {
		return "", err
	}
	in, err := s.store.IntegrationByID(ctx, id)
	if err != nil {
		return "", err
	}
	plain, err := s.clientSecret(in)
	if err != nil {
		return "", err
	}
	// Shown only once the view is on record.
	if err := s.audit.Require(ctx, event(a, audit.IntegrationSecretView, in, "")); err != nil {
		return "", err
	}
	return plain, nil
}

func (s *Service) clientSecret(in store.Integration) (string, error) {
	if in.SecretSealed == nil {
		return "", nil
	}
	plain, err := s.keys.Open(in.SecretSealed, secretContext(in.ID))
	if err != nil {
		s.keyMismatch.Do(func() { s.log.Error("cannot open a sealed integration secret: "+err.Error(), "integration", in.ID) })
		return "", fmt.Errorf("integration %s: client secret: %w", in.ID, err)
	}
	return string(plain), nil
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "int_" + hex.EncodeToString(b)
}
