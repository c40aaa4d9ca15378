package oauth

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/token"
)

const testRedirect = "https://app.example.com/cb"

// newTestServer builds a Server over a real SQLite store with one
// confidential and one public application.
// newTestServer returns a Server on a fresh SQLite file, wrapped by wrap
// (a cache, say) when given, with a confidential and a public client.
func newTestServer(t testing.TB, wrap ...func(store.Store) store.Store) (*Server, store.Client, store.Client) {
	t.Helper()
	raw, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	var st store.Store = raw
	for _, w := range wrap {
		st = w(st)
	}
	keys, _ := secret.New([]byte(strings.Repeat("k", secret.KeySize)))
	catalogue, _ := scope.Builtin("atlassian")
	m := token.NewMinter(keys, nil)
	apps := app.NewService(st, keys, m, catalogue, app.Options{})
	confidential, _, err := apps.Create(context.Background(), app.Registration{Name: "c", RedirectURIs: []string{testRedirect, "http://127.0.0.1/native"}, Scopes: []string{"READ", "WRITE"}})
	if err != nil {
		t.Fatal(err)
	}
	public, _, err := apps.Create(context.Background(), app.Registration{Name: "p", Public: true, RedirectURIs: []string{testRedirect}, Scopes: []string{"READ"}})
	if err != nil {
		t.Fatal(err)
	}
	s := New(Settings{Issuer: "https://gh.example.com"}, st, apps, catalogue, m, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return s, confidential, public
}

func TestParseAuthorize(t *testing.T) {
	s, conf, pub := newTestServer(t)
	base := func(c store.Client, kv ...string) url.Values {
		v := url.Values{"client_id": {c.ID}, "redirect_uri": {testRedirect}, "response_type": {"code"}, "scope": {"READ"}, "state": {"s"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	with := func(v url.Values, k string, values ...string) url.Values {
		v[k] = values
		return v
	}
	cases := []struct {
		name       string
		q          url.Values
		wantCode   string // "" means success
		redirected bool
	}{
		{"valid", base(conf), "", true},
		{"loopback any port", base(conf, "redirect_uri", "http://127.0.0.1:51234/native"), "", true},
		{"loopback other path", base(conf, "redirect_uri", "http://127.0.0.1:51234/other"), CodeInvalidRequest, false},
		{"unknown client", base(conf, "client_id", strings.Repeat("0", 32)), CodeInvalidRequest, false},
		{"unregistered redirect", base(conf, "redirect_uri", testRedirect+"/x"), CodeInvalidRequest, false},
		{"implicit refused", base(conf, "response_type", "token"), CodeUnsupportedResponseType, true},
		{"scope outside list", base(conf, "scope", "ADMIN"), CodeInvalidScope, true},
		{"scope lower case is canonicalised", base(conf, "scope", "read"), "", true},
		{"public without PKCE", base(pub), CodeInvalidRequest, true},
		{"public with sha256 alias", base(pub, "code_challenge", rfcChallenge, "code_challenge_method", "sha256"), "", true},
		{"unknown method", base(pub, "code_challenge", rfcChallenge, "code_challenge_method", "md5"), CodeInvalidRequest, true},
		// RFC 7636 §4.2: only 43 base64url characters can be an S256 challenge.
		{"S256 challenge too long", base(pub, "code_challenge", rfcChallenge+"A", "code_challenge_method", "S256"), CodeInvalidRequest, true},
		{"S256 challenge of 128 characters", base(pub, "code_challenge", strings.Repeat("a", 128), "code_challenge_method", "S256"), CodeInvalidRequest, true},
		{"S256 challenge with a tilde", base(pub, "code_challenge", rfcChallenge[:42]+"~", "code_challenge_method", "S256"), CodeInvalidRequest, true},
		{"plain challenge of 128 characters", base(pub, "code_challenge", strings.Repeat("a", 128), "code_challenge_method", "plain"), "", true},
		{"method without challenge", base(conf, "code_challenge_method", "S256"), CodeInvalidRequest, true},
		// RFC 6749 §4.1.2.1: an error redirect carries state back exactly;
		// a state that cannot be echoed goes to the user's error page.
		{"huge state", base(conf, "state", strings.Repeat("s", MaxStateLength+1)), CodeInvalidRequest, false},
		{"state with a control character", base(conf, "state", "a\nb"), CodeInvalidRequest, false},
		{"state sent twice", with(base(conf), "state", "s", "t"), CodeInvalidRequest, false},
		{"scope sent twice", with(base(conf), "scope", "READ", "WRITE"), CodeInvalidRequest, true},
		// RFC 6749 §3.1: unrecognised parameters are ignored, whatever they hold
		// (RFC 8707's resource may be sent several times).
		{"unknown parameter sent twice", with(base(conf), "resource", "https://a.example", "https://b.example"), "", true},
		{"unknown parameter with a control character", with(base(conf), "claims", "{\n}"), "", true},
		{"unknown parameter not UTF-8", with(base(conf), "x", "\xff"), "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := s.ParseAuthorize(context.Background(), c.q)
			if c.wantCode == "" {
				if err != nil {
					t.Fatalf("ParseAuthorize = %v", err)
				}
				return
			}
			if !errors.Is(err, &Error{Code: c.wantCode}) {
				t.Fatalf("ParseAuthorize = %v, want %s", err, c.wantCode)
			}
			if (req != nil) != c.redirected {
				t.Fatalf("redirectable = %v, want %v", req != nil, c.redirected)
			}
		})
	}
}

// TestParseAuthorizeEmptyParams checks RFC 6749 §3.1: empty parameters are
// as if omitted, and are not carried on to consent.
func TestParseAuthorizeEmptyParams(t *testing.T) {
	s, _, pub := newTestServer(t)
	q := url.Values{"client_id": {pub.ID}, "redirect_uri": {""}, "response_type": {"code"}, "scope": {"READ"},
		"state": {""}, "code_challenge": {rfcChallenge}, "code_challenge_method": {""}}
	req, err := s.ParseAuthorize(context.Background(), q)
	if err != nil {
		t.Fatalf("ParseAuthorize = %v", err)
	}
	if req.RedirectURI != testRedirect || req.RedirectParam != "" || req.State != "" || req.ChallengeMethod != "plain" {
		t.Fatalf("request %+v, want the one registered URI, no state, method plain", req)
	}
	for _, k := range []string{"redirect_uri", "state", "code_challenge_method"} {
		if req.Query.Has(k) {
			t.Fatalf("query carried on keeps empty %s: %v", k, req.Query)
		}
	}
	q = url.Values{"client_id": {pub.ID}, "redirect_uri": {"", testRedirect}}
	if _, err := s.ParseAuthorize(context.Background(), q); !errors.Is(err, &Error{Code: CodeInvalidRequest}) {
		t.Fatalf("repeated redirect_uri with an empty copy: %v, want invalid_request", err)
	}
}

func FuzzParseAuthorize(f *testing.F) {
	s, conf, _ := newTestServer(f)
	f.Add("client_id=" + conf.ID + "&redirect_uri=" + url.QueryEscape(testRedirect) + "&response_type=code&scope=READ&state=x")
	f.Add("client_id=" + conf.ID + "&response_type=token&scope=READ%20WRITE&code_challenge=abc")
	f.Add("client_id=%00&redirect_uri=javascript:alert(1)")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		req, err := s.ParseAuthorize(context.Background(), q)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status >= 500 {
				t.Fatalf("bad input gave %v", err)
			}
		}
		if req == nil {
			return
		}
		// Anything that may be redirected to must be a registered URI (or its loopback variant).
		if _, ok := app.MatchRedirectURI(conf.RedirectURIs, req.RedirectURI); !ok && req.RedirectURI != testRedirect {
			t.Fatalf("would redirect to unregistered %q", req.RedirectURI)
		}
	})
}

// Essential keeps every parameter ParseAuthorize reads, so the request it
// carries through consent parses exactly as the original, and drops the
// rest (which could make a consent page's form any size).
func TestEssentialParsesAsTheRequest(t *testing.T) {
	s, conf, pub := newTestServer(t)
	for _, q := range []url.Values{
		{"client_id": {conf.ID}, "redirect_uri": {"http://127.0.0.1:5123/native"}, "response_type": {"code"}, "scope": {"read WRITE"}, "state": {"xyz"},
			"code_challenge": {rfcChallenge}, "code_challenge_method": {"S256"}, "prompt": {"consent"}, "extra": {strings.Repeat("x", 100_000)}},
		{"client_id": {pub.ID}, "response_type": {"code"}, "scope": {"READ"}, "code_challenge": {rfcChallenge}, "login_hint": {"alice"}},
	} {
		want, err := s.ParseAuthorize(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		essential := want.Essential()
		for k := range essential {
			if k == "extra" || k == "prompt" || k == "login_hint" {
				t.Errorf("Essential keeps the unknown parameter %q", k)
			}
		}
		got, err := s.ParseAuthorize(context.Background(), essential)
		if err != nil {
			t.Fatalf("the essential request does not parse: %v", err)
		}
		want.Query, got.Query = nil, nil
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("the essential request parses differently (-original +essential):\n%s", diff)
		}
	}
}
