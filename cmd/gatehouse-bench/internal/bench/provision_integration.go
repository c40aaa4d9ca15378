package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/integration"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/store"
)

// IntegrationName is the bench integration's name: a Custom integration
// whose provider is the tool itself (Provider).
const IntegrationName = "Gatehouse bench"

// IntegrationScopes are what the integration-token scenario's application
// holds and asks for by default.
var IntegrationScopes = []string{scope.IntegrationToken}

// providerTokenLifetime is long enough that no run ever refreshes: the
// scenario measures handing out from the vault, not the provider.
const providerTokenLifetime = 24 * time.Hour

// Provider is a minimal OAuth 2.0 provider on a loopback port, for the
// integration-token scenario: its authorization endpoint approves at once
// (a redirect back with a code), and its token endpoint answers any code
// or refresh token with a new access token valid a day. It checks nothing:
// it exists only so that a node's vault holds a real authorization.
type Provider struct {
	URL       string
	srv       *http.Server
	exchanges atomic.Int64 // token requests answered
}

// StartProvider serves a Provider on 127.0.0.1.
func StartProvider() (*Provider, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Provider{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		// The tool's own services may name no base URL: the path is what
		// Authorize takes to the node.
		back, err := url.Parse(q.Get("redirect_uri"))
		if err != nil || back.Path == "" {
			http.Error(w, "redirect_uri missing", http.StatusBadRequest)
			return
		}
		v := back.Query()
		v.Set("code", rand.Text())
		v.Set("state", q.Get("state"))
		back.RawQuery = v.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		p.exchanges.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"bench-%s","token_type":"Bearer","expires_in":%d,"refresh_token":"bench-%s","scope":"mail"}`,
			rand.Text(), int(providerTokenLifetime.Seconds()), rand.Text())
	})
	p.URL, p.srv = "http://"+ln.Addr().String(), &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	return p, nil
}

// Close stops the provider.
func (p *Provider) Close() error { return p.srv.Close() }

// settings are the bench integration's, pointing at the provider.
func (p *Provider) settings() integration.Settings {
	return integration.Settings{
		Provider: integration.Custom, Name: IntegrationName, Description: "Made by `gatehouse-bench`; safe to delete.",
		ClientID: "gatehouse-bench", ClientSecret: "not-a-secret", Scopes: []string{"mail"},
		AuthURL: p.URL + "/authorize", TokenURL: p.URL + "/token",
	}
}

// Authorize completes an authorization URL as a browser would: through the
// provider's approval back to the callback, on the node at nodeBase (a URL
// made by the tool's own services names the base URL of its configuration,
// which need not be the node's address).
func (p *Provider) Authorize(ctx context.Context, authorizeURL, nodeBase string) error {
	c := &http.Client{Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var page []byte
	get := func(u string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		page, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		return resp, err
	}
	before := p.exchanges.Load()
	resp, err := get(authorizeURL)
	if err != nil {
		return fmt.Errorf("authorize the bench integration: %w", err)
	}
	callback, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		return fmt.Errorf("authorize the bench integration: the provider answered %d", resp.StatusCode)
	}
	if resp, err = get(nodeBase + callback.RequestURI()); err != nil {
		return fmt.Errorf("authorize the bench integration: the callback: %w", err)
	}
	if resp.StatusCode != http.StatusOK || p.exchanges.Load() == before {
		return fmt.Errorf("authorize the bench integration: the callback answered %d without exchanging the code: %s", resp.StatusCode, pageText(page))
	}
	return nil
}

// pageText is the readable text of an HTML page's main element, shortened.
func pageText(page []byte) string {
	s := string(page)
	if i := strings.Index(s, "<main"); i >= 0 {
		s = s[i:]
	}
	s = regexp.MustCompile(`<[^>]*>|\s+`).ReplaceAllString(s, " ")
	return snippet([]byte(strings.TrimSpace(s)))
}

// provisionIntegration makes or updates the bench integration through p and
// authorizes it on the node at nodeBase with a provider that lives only as
// long as that takes (its tokens outlive any run), returning its ID.
func provisionIntegration(ctx context.Context, p Provisioner, nodeBase string) (string, error) {
	prov, err := StartProvider()
	if err != nil {
		return "", err
	}
	defer prov.Close()
	id, authorizeURL, err := p.Integration(ctx, prov)
	if err != nil {
		return "", err
	}
	return id, prov.Authorize(ctx, authorizeURL, nodeBase)
}

// OtherIntegrations is how many integrations the integration-token scenario
// wants on the node besides its own, as a node serving many would hold.
const OtherIntegrations = 10_000

// FillerPrefix starts the names of those integrations.
const FillerPrefix = "Gatehouse bench filler "

// FillerNames are the names of n filler integrations.
func FillerNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%05d", FillerPrefix, i)
	}
	return names
}

// createMissing calls create for each of names not in have, 32 at a time.
func createMissing(ctx context.Context, names, have []string, create func(context.Context, integration.Settings) error) error {
	exists := make(map[string]bool, len(have))
	for _, name := range have {
		exists[name] = true
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	for _, name := range names {
		if !exists[name] {
			g.Go(func() error { return create(ctx, filler(name)) })
		}
	}
	return g.Wait()
}

// filler is a filler integration's settings.
func filler(name string) integration.Settings {
	return integration.Settings{
		Provider: integration.Custom, Name: name, Description: "Made by `gatehouse-bench`; safe to delete.",
		ClientID: "gatehouse-bench-filler", Scopes: []string{"mail"},
		AuthURL: "https://provider.invalid/authorize", TokenURL: "https://provider.invalid/token",
	}
}

// Fillers implements Provisioner through the node's services.
func (p StoreProvisioner) Fillers(ctx context.Context, names []string) error {
	actor := audit.CommandLine()
	list, err := p.Integrations.List(ctx, actor)
	if err != nil {
		return err
	}
	have := make([]string, len(list))
	for i, in := range list {
		have[i] = in.Name
	}
	return createMissing(ctx, names, have, func(ctx context.Context, st integration.Settings) error {
		_, err := p.Integrations.Create(ctx, actor, st)
		return err
	})
}

// Integration implements Provisioner through the node's services.
func (p StoreProvisioner) Integration(ctx context.Context, prov *Provider) (string, string, error) {
	svc, actor, want := p.Integrations, audit.CommandLine(), prov.settings()
	in, err := svc.Find(ctx, actor, IntegrationName)
	switch {
	case errors.Is(err, store.ErrNotFound):
		in, err = svc.Create(ctx, actor, want)
	case err == nil:
		// The provider's port is new every run: so are the endpoints, and a
		// new token endpoint takes the client secret again.
		_, err = svc.Update(ctx, actor, in.ID, integration.Change{AuthURL: &want.AuthURL, TokenURL: &want.TokenURL, ClientSecret: &want.ClientSecret})
	}
	if err != nil {
		return "", "", fmt.Errorf("provision the bench integration: %w", err)
	}
	u, _, err := svc.StartAuthorization(ctx, actor, in.ID, nil)
	return in.ID, u, err
}

// Fillers implements Provisioner through the admin API.
func (p APIProvisioner) Fillers(ctx context.Context, names []string) error {
	n0, err := parseNode(p.BaseURL)
	if err != nil {
		return err
	}
	a, err := signInAPI(ctx, n0.base, p.Username, p.Password)
	if err != nil {
		return err
	}
	const path = "/rest/gatehouse/latest/integrations"
	var list struct {
		Integrations []struct {
			Name string `json:"name"`
		} `json:"integrations"`
	}
	if _, err := a.json(ctx, "GET", path, nil, &list); err != nil {
		return err
	}
	have := make([]string, len(list.Integrations))
	for i, in := range list.Integrations {
		have[i] = in.Name
	}
	return createMissing(ctx, names, have, func(ctx context.Context, st integration.Settings) error {
		_, err := a.json(ctx, "POST", path, map[string]any{"provider": st.Provider, "name": st.Name,
			"description": st.Description, "client_id": st.ClientID, "scopes": st.Scopes,
			"authorization_endpoint": st.AuthURL, "token_endpoint": st.TokenURL}, nil)
		return err
	})
}

// Integration implements Provisioner through the admin API.
func (p APIProvisioner) Integration(ctx context.Context, prov *Provider) (string, string, error) {
	n0, err := parseNode(p.BaseURL)
	if err != nil {
		return "", "", err
	}
	a, err := signInAPI(ctx, n0.base, p.Username, p.Password)
	if err != nil {
		return "", "", err
	}
	want := prov.settings()
	body := map[string]any{"provider": want.Provider, "name": want.Name, "description": want.Description,
		"client_id": want.ClientID, "client_secret": want.ClientSecret, "scopes": want.Scopes,
		"authorization_endpoint": want.AuthURL, "token_endpoint": want.TokenURL}
	var found struct {
		ID string `json:"id"`
	}
	path := "/rest/gatehouse/latest/integrations"
	status, err := a.json(ctx, "GET", path+"/"+url.PathEscape(IntegrationName), nil, &found)
	switch {
	case status == http.StatusNotFound:
		_, err = a.json(ctx, "POST", path, body, &found)
	case err == nil:
		// The stand-in's endpoints move with its port; a new token endpoint
		// takes the client secret again (it is sent only where it was given).
		_, err = a.json(ctx, "PATCH", path+"/"+url.PathEscape(found.ID), map[string]string{
			"authorization_endpoint": want.AuthURL, "token_endpoint": want.TokenURL, "client_secret": want.ClientSecret}, nil)
	}
	if err != nil {
		return "", "", fmt.Errorf("provision the bench integration: %w", err)
	}
	var start struct {
		URL string `json:"url"`
	}
	if _, err := a.json(ctx, "POST", path+"/"+url.PathEscape(found.ID)+"/authorize", nil, &start); err != nil {
		return "", "", err
	}
	if found.ID == "" || !strings.HasPrefix(start.URL, prov.URL) {
		return "", "", fmt.Errorf("provision the bench integration: no ID or authorization URL (%q, %q)", found.ID, start.URL)
	}
	return found.ID, start.URL, nil
}
