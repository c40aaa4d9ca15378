package integration

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/validation"
)

// idTokenAccount is the account an OpenID Connect ID token names, read
// without checking its signature: it came straight from the token endpoint
// over the connection Gatehouse opened, which OpenID Connect Core §3.1.3.7
// accepts in place of the signature for the account it shows. Nothing is
// authorized on the strength of it.
func idTokenAccount(tok *oauth2.Token) string {
	raw, _ := tok.Extra("id_token").(string)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims map[string]any
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	return accountOf(claims)
}

// accountOf picks the account's name from ID-token claims or a user-info
// answer: OpenID Connect's email, Microsoft's preferred_username and upn,
// Atlassian's emailAddress and name (Gatehouse's own /myself), then sub.
func accountOf(claims map[string]any) string {
	for _, name := range []string{"email", "emailAddress", "preferred_username", "upn", "unique_name", "mail", "name", "sub"} {
		if v, ok := claims[name].(string); ok && strings.TrimSpace(v) != "" {
			return providerText(v)
		}
	}
	return ""
}

// userinfo asks the user-info endpoint who the access token acts for. The
// request carries the token, so an endpoint a node may not use (http saved
// in development mode, opened in production) is refused before it is asked.
// It waits at most within (and never longer than one provider request may).
func (s *Service) userinfo(ctx context.Context, endpoint, accessToken string, within time.Duration) (string, *Failure) {
	within = min(within, s.timeout)
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	if err := s.checkURL("userinfo_endpoint", endpoint); err != nil {
		var why *validation.Error
		errors.As(err, &why)
		return "", fail(why)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return "", fail(problem("integration.unreachable", "cannot reach %s: %s", hostOf(endpoint), err.Error()))
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return "", transportError(err, endpoint, seconds(within), nil)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return "", fail(problem("integration.userinfo_refused", "the user-info endpoint %s refused the access token (HTTP %s)",
			endpoint, strconv.Itoa(resp.StatusCode)))
	}
	if resp.StatusCode != http.StatusOK {
		return "", answerError(resp, endpoint)
	}
	var claims map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&claims); err != nil {
		return "", fail(problem("integration.userinfo_unreadable", "the user-info endpoint %s did not answer with JSON", endpoint))
	}
	account := accountOf(claims)
	if account == "" {
		return "", fail(problem("integration.userinfo_unreadable", "the user-info endpoint %s did not answer with JSON", endpoint))
	}
	return account, nil
}
