package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// A path that exists answers another method with 405 and Allow — a page in
// HTML, a JSON endpoint in the OAuth error format — while a path that does
// not exist is still 404.
func TestOtherMethodsAreNotAllowed(t *testing.T) {
	s := newSite(t)
	cases := []struct {
		method, path, allow string
		status              int
		json                bool
	}{
		{"POST", "/rest/oauth2/latest/authorize", "GET, HEAD", 405, false},
		{"DELETE", "/login", "GET, HEAD, POST", 405, false},
		{"PUT", "/plugins/servlet/oauth2/consent", "GET, HEAD, POST", 405, false},
		{"POST", "/.well-known/oauth-authorization-server", "GET, HEAD", 405, true},
		{"POST", "/rest/api/latest/myself", "GET, HEAD", 405, true},
		{"DELETE", "/healthz", "GET, HEAD", 405, true},
		{"POST", "/no/such/page", "", 404, false},
		{"GET", "/no/such/page", "", 404, false},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, s.base+tc.path, strings.NewReader(""))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || resp.Header.Get("Allow") != tc.allow {
				t.Fatalf("%d with Allow %q, want %d with %q", resp.StatusCode, resp.Header.Get("Allow"), tc.status, tc.allow)
			}
			if !tc.json {
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
					t.Fatalf("content type %q, want a page", resp.Header.Get("Content-Type"))
				}
				return
			}
			var e struct{ Error, ErrorDescription string }
			if err := json.Unmarshal(body, &e); err != nil || e.Error != "invalid_request" {
				t.Fatalf("body %s, want an invalid_request error", body)
			}
		})
	}
}
