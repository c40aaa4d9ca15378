package integration

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Metadata is what discovery learns of a provider.
type Metadata struct {
	Issuer      string
	AuthURL     string
	TokenURL    string
	UserinfoURL string
	// NoS256: the provider lists its PKCE methods and S256 is not among
	// them, so PKCE is turned off for it.
	NoS256 bool
}

// Discover reads a provider's metadata from its issuer URL: RFC 8414
// (/.well-known/oauth-authorization-server, inserted before the issuer's
// path), then OpenID Connect Discovery (/.well-known/openid-configuration,
// appended). The metadata's issuer must be the one asked for (RFC 8414 §3.3).
func (s *Service) Discover(ctx context.Context, issuer string) (Metadata, error) {
	issuer = strings.TrimRight(strings.TrimSpace(issuer), "/")
	if err := s.checkURL("issuer", issuer); err != nil {
		return Metadata{}, err
	}
	u, _ := url.Parse(issuer) // checked
	oauthURL := u.Scheme + "://" + u.Host + "/.well-known/oauth-authorization-server" + u.Path
	oidcURL := issuer + "/.well-known/openid-configuration"
	// Both documents are read within the wait of one answer (a console
	// page, an API call): each gets half of it, or a request's own limit.
	limit := min(s.timeout, s.answerWithin/2)
	var last *Failure
	for _, where := range []string{oauthURL, oidcURL} {
		m, f := s.fetchMetadata(ctx, where, limit)
		if f != nil {
			last = f
			continue
		}
		if strings.TrimRight(m.Issuer, "/") != issuer {
			return Metadata{}, invalid("integration.discovery_issuer", "the metadata at %s names the issuer %q, not %q", where, m.Issuer, issuer)
		}
		for field, v := range map[string]string{"authorization_endpoint": m.AuthURL, "token_endpoint": m.TokenURL} {
			if v == "" {
				return Metadata{}, invalid("integration.discovery_incomplete", "the metadata at %s has no %s", where, field)
			}
		}
		return m, nil
	}
	return Metadata{}, invalid("integration.discovery_failed", "cannot read the provider's metadata from %s: %s", issuer, last.Why.Error())
}

// fetchMetadata reads one metadata document within limit.
func (s *Service) fetchMetadata(ctx context.Context, where string, limit time.Duration) (Metadata, *Failure) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return Metadata{}, fail(problem("integration.unreachable", "cannot reach %s: %s", hostOf(where), err.Error()))
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return Metadata{}, transportError(err, where, seconds(limit), nil)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Metadata{}, fail(problem("integration.discovery_status", "%s answered HTTP %s, not metadata", where, strconv.Itoa(resp.StatusCode)))
	}
	var doc struct {
		Issuer                string   `json:"issuer"`
		AuthorizationEndpoint string   `json:"authorization_endpoint"`
		TokenEndpoint         string   `json:"token_endpoint"`
		UserinfoEndpoint      string   `json:"userinfo_endpoint"`
		ChallengeMethods      []string `json:"code_challenge_methods_supported"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return Metadata{}, fail(problem("integration.discovery_unreadable", "%s did not answer with JSON metadata", where))
	}
	return Metadata{
		Issuer: doc.Issuer, AuthURL: doc.AuthorizationEndpoint, TokenURL: doc.TokenEndpoint, UserinfoURL: doc.UserinfoEndpoint,
		NoS256: len(doc.ChallengeMethods) > 0 && !slices.Contains(doc.ChallengeMethods, "S256"),
	}, nil
}
