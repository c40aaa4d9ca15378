package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

func (e *env) oauth2Config(c store.Client, secretValue string, style oauth2.AuthStyle, scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: c.ID, ClientSecret: secretValue, RedirectURL: callback, Scopes: scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   e.base + "/rest/oauth2/latest/authorize",
			TokenURL:  e.base + "/rest/oauth2/latest/token",
			AuthStyle: style,
		},
	}
}

// runFlow drives x/oauth2 through the real pages and returns its token.
func runFlow(t *testing.T, e *env, b *browser, conf *oauth2.Config, pkce bool) *oauth2.Token {
	t.Helper()
	var authOpts, exchangeOpts []oauth2.AuthCodeOption
	if pkce {
		verifier := oauth2.GenerateVerifier()
		authOpts = append(authOpts, oauth2.S256ChallengeOption(verifier))
		exchangeOpts = append(exchangeOpts, oauth2.VerifierOption(verifier))
	}
	redirect := b.decide(b.follow(b.get(conf.AuthCodeURL("state-xyz", authOpts...))), "allow")
	q := redirect.Query()
	if q.Get("state") != "state-xyz" || q.Get("iss") != e.base {
		t.Fatalf("redirect %s lacks state or iss", redirect)
	}
	tok, err := conf.Exchange(context.Background(), q.Get("code"), exchangeOpts...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestAuthorizationCodeFlows(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "alice-password", store.LevelUser)
	confidential, secretValue := e.createClient(app.Registration{})
	public, _ := e.createClient(app.Registration{Public: true})

	cases := []struct {
		name   string
		conf   *oauth2.Config
		pkce   bool
		method string
	}{
		{"confidential with HTTP Basic", e.oauth2Config(confidential, secretValue, oauth2.AuthStyleInHeader, "READ"), false, "basic"},
		{"confidential with client_secret_post", e.oauth2Config(confidential, secretValue, oauth2.AuthStyleInParams, "READ", "WRITE"), true, "post"},
		{"public with PKCE", e.oauth2Config(public, "", oauth2.AuthStyleInParams, "WRITE"), true, "none"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := e.newBrowser()
			b.signIn("alice", "alice-password")
			tok := runFlow(t, e, b, c.conf, c.pkce)
			if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "bearer" {
				t.Fatalf("incomplete token %+v", tok)
			}
			if tok.Extra("created_at") == nil || tok.Extra("scope") == nil {
				t.Fatal("token response lacks created_at or scope")
			}
			if got := time.Until(tok.Expiry); got < time.Hour || got > 2*time.Hour+time.Minute {
				t.Fatalf("expires in %v, want about 2h", got)
			}
			me := e.myself(tok.AccessToken)
			if me.status != http.StatusOK || me.str("name") != "alice" {
				t.Fatalf("myself: %d %s", me.status, me.raw)
			}
		})
	}
}

func TestRefreshThroughTokenSource(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "alice-password", store.LevelUser)
	c, secretValue := e.createClient(app.Registration{})
	conf := e.oauth2Config(c, secretValue, oauth2.AuthStyleInHeader, "READ")
	b := e.newBrowser()
	b.signIn("alice", "alice-password")
	first := runFlow(t, e, b, conf, true)

	expired := *first
	expired.Expiry = time.Now().Add(-time.Minute) // make the TokenSource refresh
	refreshed, err := conf.TokenSource(context.Background(), &expired).Token()
	if err != nil {
		t.Fatal(err)
	}
	if refreshed.AccessToken == first.AccessToken || refreshed.RefreshToken == first.RefreshToken {
		t.Fatal("refresh did not rotate both tokens")
	}
	if e.active(first.AccessToken, c.ID, secretValue) {
		t.Fatal("the access token issued with the rotated refresh token is still active")
	}
	if !e.active(refreshed.AccessToken, c.ID, secretValue) || !e.active(refreshed.RefreshToken, c.ID, secretValue) {
		t.Fatal("the new pair is not active")
	}
	if me := e.myself(refreshed.AccessToken); me.status != http.StatusOK {
		t.Fatalf("myself with refreshed token: %d %s", me.status, me.raw)
	}
}

func TestRefreshWorksAfterAccessTokenExpired(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "alice-password", store.LevelUser)
	c, secretValue := e.createClient(app.Registration{})
	b := e.newBrowser()
	b.signIn("alice", "alice-password")
	tok := runFlow(t, e, b, e.oauth2Config(c, secretValue, oauth2.AuthStyleInHeader, "READ"), false)
	e.clock.Advance(3 * time.Hour)
	if me := e.myself(tok.AccessToken); me.status != http.StatusUnauthorized {
		t.Fatalf("expired access token answered %d", me.status)
	}
	r := e.token(form("grant_type", "refresh_token", "refresh_token", tok.RefreshToken), c.ID, secretValue)
	if r.status != http.StatusOK || r.str("access_token") == "" {
		t.Fatalf("refresh after expiry: %d %s", r.status, r.raw)
	}
}

func TestClientCredentials(t *testing.T) {
	e := newEnv(t)
	c, secretValue := e.createClient(app.Registration{
		Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}, Scopes: []string{"READ", "WRITE"},
	})
	conf := clientcredentials.Config{ClientID: c.ID, ClientSecret: secretValue, TokenURL: e.base + "/rest/oauth2/latest/token", Scopes: []string{"READ"}}
	tok, err := conf.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "" {
		t.Fatal("client credentials must not return a refresh token")
	}
	if tok.Extra("scope") != "READ" {
		t.Fatalf("scope %v, want READ", tok.Extra("scope"))
	}
	me := e.myself(tok.AccessToken)
	if me.status != http.StatusOK || me.body["service"] != true || me.str("name") != c.ID {
		t.Fatalf("myself for a service token: %d %s", me.status, me.raw)
	}
	// No scope asked: every scope of the application.
	conf.Scopes = nil
	all, err := conf.Token(context.Background())
	if err != nil || all.Extra("scope") != "READ WRITE" {
		t.Fatalf("default scope: %v %v", all.Extra("scope"), err)
	}
}
