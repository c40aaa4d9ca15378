package oauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Hot functions of the token, introspection and bearer paths. The whole
// paths are benchmarked in internal/server and, over HTTP, by gatehouse-bench.

func BenchmarkReadForm(b *testing.B) {
	body := url.Values{"grant_type": {"authorization_code"}, "code": {"gac_" + strings.Repeat("A", 51)},
		"redirect_uri": {testRedirect}, "code_verifier": {strings.Repeat("v", 64)}}.Encode()
	for b.Loop() {
		r := formRequest(http.MethodPost, PathToken, "application/x-www-form-urlencoded", body)
		if _, e := readForm(httptest.NewRecorder(), r, false); e != nil {
			b.Fatal(e)
		}
	}
}

func BenchmarkVerifyPKCE(b *testing.B) {
	for b.Loop() {
		if !verifyPKCE(MethodS256, rfcChallenge, rfcVerifier) {
			b.Fatal("refused")
		}
	}
}

// BenchmarkAuthenticateClient is HTTP Basic with the application served from
// the cache, as a node serves it.
func BenchmarkAuthenticateClient(b *testing.B) {
	s, _, _ := newTestServer(b, func(st store.Store) store.Store { return store.NewClientCache(st, time.Hour, nil) })
	c, secretValue, err := s.apps.Create(context.Background(), app.Registration{Name: "bench", RedirectURIs: []string{testRedirect},
		Scopes: []string{"READ"}, Grants: []string{app.GrantClientCredentials}})
	if err != nil {
		b.Fatal(err)
	}
	r := formRequest(http.MethodPost, PathToken, "application/x-www-form-urlencoded", "grant_type=client_credentials")
	r.SetBasicAuth(c.ID, secretValue)
	var form formValues
	form[paramGrantType] = "client_credentials"
	for b.Loop() {
		if _, e := s.authenticateClient(r.Context(), r, &form); e != nil {
			b.Fatal(e)
		}
	}
}
