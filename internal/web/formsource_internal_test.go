package web

import (
	"net/url"
	"testing"
)

// TestFormSource: the consent page's and an integration page's form-action
// names the redirect's origin when a CSP can, and otherwise its scheme only —
// never a host that would add directives to the policy.
func TestFormSource(t *testing.T) {
	cases := map[string]string{
		"https://app.example.com/cb":      "https://app.example.com",
		"https://app.example.com:8443/cb": "https://app.example.com:8443",
		"http://127.0.0.1:7777/callback":  "http://127.0.0.1:7777",
		"com.example.app:/oauth":          "com.example.app:",
		"http://[::1]:8080/cb":            "http:",
		"https://a;sandbox.example/cb":    "https:",
		"https://a,b.example/cb":          "https:",
	}
	for raw, want := range cases {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := formSource(u); got != want {
			t.Errorf("formSource(%s) = %q, want %q", raw, got, want)
		}
	}
}
