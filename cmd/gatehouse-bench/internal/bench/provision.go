package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/integration"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

// What the tool provisions. Names are fixed so that provisioning again finds
// and reuses what an earlier run made.
const (
	// ClientName is the bench application's name.
	ClientName = "Gatehouse bench"
	// RedirectURI is never contacted: the tool reads the Location header.
	RedirectURI = "http://127.0.0.1:9/bench-callback"
	// UserPrefix names the per-worker users: bench-0, bench-1, …
	UserPrefix = "bench-"
	// DefaultPassword is every bench user's password.
	DefaultPassword = "bench-password-not-secret"
)

// DefaultScopes are asked for by every scenario (from the atlassian catalogue).
var DefaultScopes = []string{"READ", "WRITE"}

// benchGrants are the bench application's grants.
var benchGrants = []string{app.GrantAuthorizationCode, app.GrantRefreshToken, app.GrantClientCredentials}

// Client is the confidential application the scenarios use.
type Client struct {
	ID, Secret  string
	RedirectURI string
	Scopes      []string
}

// Credentials are one user's.
type Credentials struct {
	Username, Password string
}

// Need is what a scenario needs provisioned.
type Need struct {
	Client bool // the bench application
	// Users is how many bench users: one per worker, since every user may
	// hold only a few refresh tokens per application.
	Users int
	// Integration: the bench integration, authorized (IntegrationProvisioner).
	Integration bool
	// OtherIntegrations is how many other integrations the node must hold
	// (FillerNames), so that the bench one is found among many as on a busy
	// node; set by the caller (--other-integrations).
	OtherIntegrations int
	// Scopes the application holds and asks for unless told otherwise.
	Scopes []string
	// ServedByTool: a ceiling scenario, whose bare handler the tool serves
	// itself when given no --url.
	ServedByTool bool
}

// Needs says what a scenario needs provisioned.
func Needs(scenario string, concurrency int) (Need, error) {
	s, ok := scenarios[scenario]
	if !ok {
		return Need{}, fmt.Errorf("unknown scenario %q (one of %s)", scenario, strings.Join(ScenarioNames(), ", "))
	}
	n := Need{Client: s.client, Integration: s.integration, Scopes: DefaultScopes, ServedByTool: s.servedByTool}
	if s.users {
		n.Users = concurrency
	}
	if s.scopes != nil {
		n.Scopes = s.scopes
	}
	return n, nil
}

// UserNames returns the names of the first n bench users.
func UserNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%d", UserPrefix, i)
	}
	return names
}

func registration(scopes []string) app.Registration {
	return app.Registration{
		Name:         ClientName,
		Description:  "Made by `gatehouse-bench`; safe to delete.",
		RedirectURIs: []string{RedirectURI},
		Scopes:       scopes,
		Grants:       benchGrants,
	}
}

// Provisioner finds or creates the bench application (when needClient) and
// users bench-0 … bench-(n-1) with password; and the bench integration,
// pointing at the provider p, returning its ID and a single-use
// authorization URL.
type Provisioner interface {
	Provision(ctx context.Context, needClient bool, n int, password string, scopes []string) (Client, []Credentials, error)
	Integration(ctx context.Context, p *Provider) (id, authorizeURL string, err error)
	// Fillers makes sure the node holds integrations with these names
	// (never authorized, pointing nowhere), creating the missing ones.
	Fillers(ctx context.Context, names []string) error
}

// Provisioned is what a scenario was given.
type Provisioned struct {
	Client      Client
	Users       []Credentials
	Integration string // the authorized bench integration's ID, when needed
}

// ProvisionFor provisions what need says through p; the bench integration
// is authorized on the node at nodeBase. scopes are the application's (nil:
// the scenario's).
func ProvisionFor(ctx context.Context, p Provisioner, need Need, password string, scopes []string, nodeBase string) (Provisioned, error) {
	if scopes == nil {
		scopes = need.Scopes
	}
	var out Provisioned
	var err error
	if need.Client || need.Users > 0 {
		if out.Client, out.Users, err = p.Provision(ctx, need.Client, need.Users, password, scopes); err != nil {
			return out, err
		}
	}
	if need.OtherIntegrations > 0 {
		if err = p.Fillers(ctx, FillerNames(need.OtherIntegrations)); err != nil {
			return out, fmt.Errorf("provision the other integrations: %w", err)
		}
	}
	if need.Integration {
		out.Integration, err = provisionIntegration(ctx, p, nodeBase)
	}
	return out, err
}

// StoreProvisioner provisions directly through a node's services (the
// management commands' way: the store, with the node's secret key).
type StoreProvisioner struct {
	Apps         *app.Service
	Users        *user.Service
	Integrations *integration.Service
	// Argon2 are the parameters new hashes get; an existing bench user whose
	// hash has others, or whose password differs, gets a new one.
	Argon2 user.Argon2Params
	// ClientTTL is how long a node may serve an application as it was
	// before a change made elsewhere (cache.client_ttl): after changing the
	// bench application, provisioning waits that long.
	ClientTTL time.Duration
}

// Provision finds or creates the bench application (when needClient) and
// users bench-0 … bench-(n-1) with password.
func (p StoreProvisioner) Provision(ctx context.Context, needClient bool, n int, password string, scopes []string) (Client, []Credentials, error) {
	var c Client
	if needClient {
		var err error
		if c, err = p.client(ctx, scopes); err != nil {
			return c, nil, fmt.Errorf("provision the bench application: %w", err)
		}
	}
	creds, err := provisionUsers(ctx, n, password, func(ctx context.Context, name string) error {
		return p.user(ctx, name, password)
	})
	return c, creds, err
}

func (p StoreProvisioner) client(ctx context.Context, scopes []string) (Client, error) {
	reg := registration(scopes)
	all, err := p.Apps.List(ctx)
	if err != nil {
		return Client{}, err
	}
	for _, c := range all {
		if c.Name != ClientName {
			continue
		}
		if !sameSettings(c, reg) {
			if c, _, err = p.Apps.Update(ctx, c.ID, reg, nil); err != nil {
				return Client{}, err
			}
			select {
			case <-time.After(p.ClientTTL):
			case <-ctx.Done():
				return Client{}, ctx.Err()
			}
		}
		secretValue, err := p.Apps.Reveal(c)
		if err != nil {
			// Sealed with another key (or public): a new secret is the way back.
			if secretValue, err = p.Apps.RotateSecret(ctx, c.ID, nil); err != nil {
				return Client{}, err
			}
		}
		return Client{ID: c.ID, Secret: secretValue, RedirectURI: RedirectURI, Scopes: scopes}, nil
	}
	c, secretValue, err := p.Apps.Create(ctx, reg)
	if err != nil {
		return Client{}, err
	}
	return Client{ID: c.ID, Secret: secretValue, RedirectURI: RedirectURI, Scopes: scopes}, nil
}

// sameSettings reports whether c already has what the bench needs.
func sameSettings(c store.Client, r app.Registration) bool {
	return c.Enabled && !c.Public && len(c.AllowedIPs) == 0 && len(c.SubscriberUsers) == 0 && len(c.SubscriberGroups) == 0 &&
		slices.Equal(c.RedirectURIs, r.RedirectURIs) && sameSet(c.Scopes, r.Scopes) && sameSet(c.Grants, r.Grants)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}

func (p StoreProvisioner) user(ctx context.Context, name, password string) error {
	u, err := p.Users.ByUsername(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		_, err = p.Users.Create(ctx, user.NewUser{Username: name, Password: password, Level: store.LevelUser})
		return err
	}
	if err != nil {
		return err
	}
	if u.Disabled {
		if err := p.Users.SetDisabled(ctx, name, false); err != nil {
			return err
		}
	}
	a := p.Argon2
	params := fmt.Sprintf("$m=%d,t=%d,p=%d$", a.MemoryKiB, a.Time, a.Threads)
	if strings.Contains(u.PasswordHash, params) {
		ok, err := user.NewHasher(a, 1).Verify(ctx, u.PasswordHash, password)
		if err == nil && ok {
			return nil
		}
	}
	return p.Users.SetPassword(ctx, name, password, nil)
}

// provisionUsers runs one function per user name, a few at a time.
func provisionUsers(ctx context.Context, n int, password string, one func(context.Context, string) error) ([]Credentials, error) {
	names := UserNames(n)
	creds := make([]Credentials, n)
	errs := make([]error, n)
	sem := make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i, name := range names {
		creds[i] = Credentials{Username: name, Password: password}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := one(ctx, name); err != nil {
				errs[i] = fmt.Errorf("provision user %s: %w", name, err)
			}
		}()
	}
	wg.Wait()
	return creds, errors.Join(errs...)
}
