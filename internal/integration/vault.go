package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/store"
)

// sealedTokens is what the vault seals: the tokens and nothing else.
type sealedTokens struct {
	Access  string `json:"a"`
	Refresh string `json:"r,omitempty"`
	Type    string `json:"t,omitempty"`
}

func tokensContext(id string) string { return "integration tokens " + id }

func (s *Service) seal(id string, t sealedTokens) []byte {
	b, _ := json.Marshal(t) // strings always marshal
	return s.keys.Seal(b, tokensContext(id))
}

// open returns the integration's tokens; ok is false when it holds none.
func (s *Service) open(in store.Integration) (t sealedTokens, ok bool, err error) {
	if in.Vault.TokensSealed == nil {
		return t, false, nil
	}
	if t, ok := s.opened.get(in.ID, in.Vault.TokensSealed); ok {
		return t, true, nil
	}
	plain, err := s.keys.Open(in.Vault.TokensSealed, tokensContext(in.ID))
	if err != nil {
		s.keyMismatch.Do(func() { s.log.Error("cannot open an integration's sealed tokens: "+err.Error(), "integration", in.ID) })
		return t, false, fmt.Errorf("integration %s: tokens: %w", in.ID, err)
	}
	if err := json.Unmarshal(plain, &t); err != nil {
		return t, false, fmt.Errorf("integration %s: sealed tokens unreadable: %w", in.ID, err)
	}
	s.opened.put(in.ID, in.Vault.TokensSealed, t)
	return t, true, nil
}

// openedMax bounds the opened tokens kept: past it, the memory starts over.
const openedMax = 1024

// openedTokens remembers the tokens last opened for each integration with
// the sealed bytes they came from, so that the token API does not decrypt
// and decode the same vault entry at every call. An entry serves only while
// the stored bytes are identical, so new tokens (a refresh, another node's
// write) are opened at once. The plaintext is no more exposed than before:
// the key that opens the vault is in the same memory.
type openedTokens struct {
	mu sync.Mutex
	m  map[string]openedEntry
}

type openedEntry struct {
	sealed []byte
	tokens sealedTokens
}

func (o *openedTokens) get(id string, sealed []byte) (sealedTokens, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, ok := o.m[id]
	if !ok || !bytes.Equal(e.sealed, sealed) {
		return sealedTokens{}, false
	}
	return e.tokens, true
}

func (o *openedTokens) put(id string, sealed []byte, t sealedTokens) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil || len(o.m) >= openedMax {
		o.m = make(map[string]openedEntry)
	}
	o.m[id] = openedEntry{sealed: bytes.Clone(sealed), tokens: t}
}

// token is what AccessToken hands out.
func (t sealedTokens) token(v store.IntegrationVault) Token {
	return Token{
		AccessToken: t.Access, TokenType: (&oauth2.Token{TokenType: t.Type}).Type(),
		ExpiresAt: v.ExpiresAt, Scope: v.Scope, Account: v.Account,
	}
}

// margin is how long before its expiry a token is refreshed: the smaller of
// 5 minutes and a third of its lifetime, so a short-lived token is not
// refreshed again as soon as it arrives.
func margin(lifetime time.Duration) time.Duration { return min(5*time.Minute, lifetime/3) }

// issuedAt is when the vault's access token arrived.
func issuedAt(v store.IntegrationVault) time.Time {
	if v.RefreshedAt.After(v.AuthorizedAt) {
		return v.RefreshedAt
	}
	return v.AuthorizedAt
}

// refreshAt is when a healthy token is due for refresh; zero when its
// lifetime is unknown.
func refreshAt(v store.IntegrationVault) time.Time {
	if v.ExpiresAt.IsZero() {
		return time.Time{}
	}
	return v.ExpiresAt.Add(-margin(v.ExpiresAt.Sub(issuedAt(v))))
}

// due reports whether the access token should be refreshed before use.
func due(v store.IntegrationVault, now time.Time) bool {
	at := refreshAt(v)
	return !at.IsZero() && !now.Before(at)
}

// schedule is when the refresher next looks at a vault; zero for never:
// no tokens, no refresh token, a grant that is gone, or a token without a
// known lifetime (it is refreshed when used and refused).
func schedule(v store.IntegrationVault, hasRefresh bool, now time.Time) time.Time {
	switch {
	case v.TokensSealed == nil || v.NeedsReauth || !hasRefresh || v.ExpiresAt.IsZero():
		return time.Time{}
	case v.Failures > 0:
		return now.Add(backoff(v.Failures))
	}
	return refreshAt(v)
}

// backoff is the wait before the next try after failures failed ones:
// doubling from 2 seconds up to 5 minutes, each spread over ±50% so that
// integrations failing together do not retry together.
func backoff(failures int) time.Duration {
	d := min(2*time.Second<<min(failures-1, 10), 5*time.Minute)
	return d/2 + rand.N(d)
}

// vaultOf builds the vault of a token response. previous keeps the refresh
// token when the answer carries none (Google's refresh) and the account and
// scope when the answer does not say. The token's lifetime counts from
// asked, when the request left: the provider's clock started before its
// answer arrived, so counting from now would hand the token out past its
// expiry by as long as the provider took.
func (s *Service) vaultOf(in store.Integration, tok *oauth2.Token, previous sealedTokens, prev store.IntegrationVault, asked, now time.Time) store.IntegrationVault {
	t := sealedTokens{Access: tok.AccessToken, Refresh: tok.RefreshToken, Type: tok.TokenType}
	if t.Refresh == "" {
		t.Refresh = previous.Refresh
	}
	v := store.IntegrationVault{
		TokensSealed: s.seal(in.ID, t), Account: prev.Account, Scope: prev.Scope,
		AuthorizedAt: prev.AuthorizedAt, RefreshedAt: now,
	}
	if scope, _ := tok.Extra("scope").(string); scope != "" {
		v.Scope = grantedScope(scope)
	}
	if tok.ExpiresIn > 0 {
		v.ExpiresAt = asked.Add(time.Duration(tok.ExpiresIn) * time.Second)
	}
	if account := idTokenAccount(tok); account != "" {
		v.Account = account
	}
	v.NextRefreshAt = schedule(v, t.Refresh != "", now)
	return v
}

func seconds(d time.Duration) string { return strconv.Itoa(int(d.Round(time.Second) / time.Second)) }

// grantedScope is the scope a provider says it granted, as stored and shown:
// its scope-tokens of RFC 6749's characters (%x21 / %x23-5B / %x5D-7E),
// space-separated. Anything else — a control or bidirectional character, a
// quote — is no scope a provider grants, and would reach pages and the API
// as it came.
func grantedScope(scope string) string {
	var kept []string
	for _, token := range strings.Fields(scope) {
		if !strings.ContainsFunc(token, func(r rune) bool { return r < 0x21 || r > 0x7e || r == '"' || r == '\\' }) {
			kept = append(kept, token)
		}
	}
	return strings.Join(kept, " ")
}
