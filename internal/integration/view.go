package integration

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// View is an integration as the admin API and the command line show it:
// settings, redirect URL and state, never the secret or a token.
type View struct {
	ID                      string     `json:"id"`
	Name                    string     `json:"name"`
	Description             string     `json:"description"`
	Provider                string     `json:"provider"`
	ClientID                string     `json:"client_id"`
	HasClientSecret         bool       `json:"has_client_secret"`
	Scopes                  []string   `json:"scopes"`
	AuthorizationEndpoint   string     `json:"authorization_endpoint"`
	TokenEndpoint           string     `json:"token_endpoint"`
	UserinfoEndpoint        string     `json:"userinfo_endpoint"`
	Issuer                  string     `json:"issuer"`
	Tenant                  string     `json:"tenant,omitempty"`
	AuthorizationParameters string     `json:"authorization_parameters"`
	PKCE                    bool       `json:"pkce"`
	RedirectURL             string     `json:"redirect_url"`
	Status                  Status     `json:"status"`
	Account                 string     `json:"account,omitempty"`
	GrantedScope            string     `json:"granted_scope,omitempty"`
	ExpiresAt               *time.Time `json:"expires_at,omitempty"`
	AuthorizedAt            *time.Time `json:"authorized_at,omitempty"`
	LastRefreshAt           *time.Time `json:"last_refresh_at,omitempty"`
	Renewable               bool       `json:"renewable"`
	Failures                int        `json:"failures"`
	LastError               string     `json:"last_error,omitempty"`
	LastErrorAt             *time.Time `json:"last_error_at,omitempty"`
	Warnings                []string   `json:"warnings"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
}

// ViewOf builds in's view at this moment.
func (s *Service) ViewOf(in store.Integration) View {
	st := StateOf(in, s.now())
	v := View{
		ID: in.ID, Name: in.Name, Description: in.Description, Provider: in.Provider, ClientID: in.ClientID,
		HasClientSecret: in.SecretSealed != nil, Scopes: nonNil(in.Scopes), AuthorizationEndpoint: in.AuthURL,
		TokenEndpoint: in.TokenURL, UserinfoEndpoint: in.UserinfoURL, Issuer: in.Issuer, Tenant: in.Tenant,
		AuthorizationParameters: in.AuthParams, PKCE: in.PKCE, RedirectURL: s.RedirectURL(in),
		Status: st.Status, Account: st.Account, GrantedScope: st.Scope, Renewable: st.Renewable, Failures: st.Failures,
		ExpiresAt: timeOrNil(st.ExpiresAt), AuthorizedAt: timeOrNil(st.AuthorizedAt), LastRefreshAt: timeOrNil(st.RefreshedAt),
		LastErrorAt: timeOrNil(st.ErrorAt), Warnings: []string{}, CreatedAt: store.AsStored(in.CreatedAt), UpdatedAt: store.AsStored(in.UpdatedAt),
	}
	if st.LastError != nil {
		v.LastError = st.LastError.Error()
	}
	for _, w := range s.Warnings(in) {
		v.Warnings = append(v.Warnings, w.Error())
	}
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = store.AsStored(t)
	return &t
}
