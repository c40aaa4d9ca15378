package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"
)

// APIProvisioner provisions through the admin REST API (docs/api.md), signed
// in through the sign-in page as an administrator: the way to go when the
// tool cannot reach the node's database and key.
type APIProvisioner struct {
	BaseURL            string
	Username, Password string
}

// api is a signed-in admin API session.
type api struct {
	base string
	http *http.Client
}

// Provision finds or creates the bench application (when needClient) and
// users bench-0 … bench-(n-1) with password.
func (p APIProvisioner) Provision(ctx context.Context, needClient bool, n int, password string, scopes []string) (Client, []Credentials, error) {
	n0, err := parseNode(p.BaseURL)
	if err != nil {
		return Client{}, nil, err
	}
	a, err := signInAPI(ctx, n0.base, p.Username, p.Password)
	if err != nil {
		return Client{}, nil, err
	}
	var c Client
	if needClient {
		if c, err = a.client(ctx, p.Password, scopes); err != nil {
			return c, nil, fmt.Errorf("provision the bench application: %w", err)
		}
	}
	creds, err := provisionUsers(ctx, n, password, func(ctx context.Context, name string) error {
		return a.user(ctx, name, password, p.Password)
	})
	return c, creds, err
}

func signInAPI(ctx context.Context, base, username, password string) (*api, error) {
	jar, _ := cookiejar.New(nil)
	a := &api{base: base, http: &http.Client{
		Jar:           jar,
		Timeout:       60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	status, body, err := a.do(ctx, "GET", "/login", "", nil)
	if err != nil {
		return nil, err
	}
	f, ok := findForm(body, "/login")
	if status != http.StatusOK || !ok {
		return nil, fmt.Errorf("admin sign-in: GET /login answered %d without a sign-in form", status)
	}
	form := url.Values{}
	for _, kv := range f.fields {
		form.Set(kv[0], kv[1])
	}
	form.Set("username", username)
	form.Set("password", password)
	status, _, err = a.do(ctx, "POST", "/login", "application/x-www-form-urlencoded", []byte(form.Encode()))
	if err != nil {
		return nil, err
	}
	if status != http.StatusSeeOther && status != http.StatusFound {
		return nil, fmt.Errorf("admin sign-in as %q failed (status %d)", username, status)
	}
	return a, nil
}

func (a *api) do(ctx context.Context, method, path, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	// The session is accepted for state-changing calls from the node's own origin.
	req.Header.Set("Origin", a.base)
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	return resp.StatusCode, out, err
}

// json sends v (unless nil) and decodes a 2xx answer into out (unless nil).
func (a *api) json(ctx context.Context, method, path string, v, out any) (int, error) {
	var body []byte
	if v != nil {
		var err error
		if body, err = json.Marshal(v); err != nil {
			return 0, err
		}
	}
	status, raw, err := a.do(ctx, method, path, "application/json", body)
	if err != nil {
		return status, err
	}
	if status/100 != 2 {
		return status, fmt.Errorf("%s %s: %d %s", method, path, status, strings.TrimSpace(string(raw)))
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return status, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return status, nil
}

type apiClient struct {
	ClientID         string   `json:"client_id,omitempty"`
	ClientSecret     string   `json:"client_secret,omitempty"`
	Name             string   `json:"name"`
	Description      string   `json:"description"`
	Type             string   `json:"type,omitempty"`
	RedirectURIs     []string `json:"redirect_uris"`
	Scopes           []string `json:"scopes"`
	Grants           []string `json:"grants"`
	Enabled          *bool    `json:"enabled,omitempty"`
	SubscriberUsers  []string `json:"subscriber_users,omitempty"`
	SubscriberGroups []string `json:"subscriber_groups,omitempty"`
	AllowedIPs       []string `json:"allowed_ips,omitempty"`
}

func (a *api) client(ctx context.Context, adminPassword string, scopes []string) (Client, error) {
	reg := registration(scopes)
	enabled := true
	want := apiClient{Name: reg.Name, Description: reg.Description, RedirectURIs: reg.RedirectURIs, Scopes: reg.Scopes, Grants: reg.Grants, Enabled: &enabled}
	var list struct {
		Clients []apiClient `json:"clients"`
	}
	if _, err := a.json(ctx, "GET", "/rest/oauth2/latest/client?"+url.Values{"q": {ClientName}}.Encode(), nil, &list); err != nil {
		return Client{}, err
	}
	for _, c := range list.Clients {
		if c.Name != ClientName {
			continue
		}
		path := "/rest/oauth2/latest/client/" + url.PathEscape(c.ClientID)
		same := c.Enabled != nil && *c.Enabled && c.Type == "confidential" && len(c.AllowedIPs)+len(c.SubscriberUsers)+len(c.SubscriberGroups) == 0 &&
			sameSet(c.RedirectURIs, reg.RedirectURIs) && sameSet(c.Scopes, reg.Scopes) && sameSet(c.Grants, reg.Grants)
		if !same {
			if _, err := a.json(ctx, "PUT", path, want, nil); err != nil {
				return Client{}, err
			}
		}
		var cred struct {
			ClientSecret string `json:"client_secret"`
		}
		if _, err := a.json(ctx, "POST", path+"/credentials", map[string]string{"password": adminPassword}, &cred); err != nil {
			return Client{}, err
		}
		return Client{ID: c.ClientID, Secret: cred.ClientSecret, RedirectURI: RedirectURI, Scopes: scopes}, nil
	}
	var made apiClient
	if _, err := a.json(ctx, "POST", "/rest/oauth2/latest/client", want, &made); err != nil {
		return Client{}, err
	}
	if made.ClientID == "" || made.ClientSecret == "" {
		return Client{}, fmt.Errorf("creating the application answered no client_id or client_secret")
	}
	return Client{ID: made.ClientID, Secret: made.ClientSecret, RedirectURI: RedirectURI, Scopes: scopes}, nil
}

func (a *api) user(ctx context.Context, name, password, adminPassword string) error {
	path := "/rest/gatehouse/latest/users/" + url.PathEscape(name)
	var u struct {
		Disabled bool `json:"disabled"`
	}
	status, err := a.json(ctx, "GET", path, nil, &u)
	if status == http.StatusNotFound {
		_, err = a.json(ctx, "POST", "/rest/gatehouse/latest/users", map[string]string{"username": name, "password": password}, nil)
		return err
	}
	if err != nil {
		return err
	}
	if u.Disabled {
		if _, err := a.json(ctx, "PATCH", path, map[string]bool{"disabled": false}, nil); err != nil {
			return err
		}
	}
	// The password cannot be checked through the API: set it (against the
	// administrator's own, as the API asks).
	_, err = a.json(ctx, "POST", path+"/password", map[string]string{"password": password, "your_password": adminPassword}, nil)
	return err
}
