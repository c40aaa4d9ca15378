package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/testnode"
	"github.com/gatehouse/gatehouse/pkg/resource"
)

// TestRoutes runs the example against a real node with a job's READ token:
// /hello greets it, /write refuses it.
func TestRoutes(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	ctx := context.Background()
	rs, rsSecret, err := n.Apps.Create(ctx, app.Registration{Name: "Example API", Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}, Scopes: []string{"READ"}, IntrospectAny: true})
	if err != nil {
		t.Fatal(err)
	}
	job, jobSecret, err := n.Apps.Create(ctx, app.Registration{Name: "Job", Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}, Scopes: []string{"READ"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := (&clientcredentials.Config{ClientID: job.ID, ClientSecret: jobSecret, TokenURL: n.BaseURL + "/rest/oauth2/latest/token"}).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mw, err := resource.New(resource.Options{Issuer: n.BaseURL, ClientID: rs.ID, ClientSecret: rsSecret})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(routes(mw))
	defer srv.Close()

	for _, tc := range []struct {
		method, path string
		status       int
		body         string
	}{
		{http.MethodGet, "/hello", http.StatusOK, "hello, application " + job.ID + "\n"},
		{http.MethodPost, "/write", http.StatusForbidden, ""},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || (tc.body != "" && string(body) != tc.body) {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.body)
		}
	}
}
