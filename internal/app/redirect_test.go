package app

import (
	"net/url"
	"strings"
	"testing"
)

func TestValidateRedirectURI(t *testing.T) {
	cases := []struct {
		uri  string
		dev  bool
		want bool
	}{
		{"https://app.example.com/cb", false, true},
		{"http://app.example.com/cb", false, false},
		{"http://app.example.com/cb", true, true},
		{"http://127.0.0.1/cb", false, true},
		{"http://[::1]:8080/cb", false, true},
		{"http://localhost/cb", false, false},
		{"com.example.app:/oauth", false, true},
		{"myapp:/oauth", false, false},
		{"https://app.example.com/cb#frag", false, false},
		{"https://user:pw@app.example.com/cb", false, false},
		{"javascript:alert(1)", true, false},
		{"/relative", true, false},
		{"", true, false},
		{"https://" + strings.Repeat("a", MaxRedirectURILength), false, false},
		{"https://app.example.com:8443/cb", false, true},
		{"https://app.example.com:65535/cb", false, true},
		{"https://app.example.com:99999/cb", false, false},
		{"https://app.example.com:0/cb", false, false},
		{"https://app.example.com:/cb", false, false},
		{"http://[::1]:/cb", false, false},
		{`https://app.example.com"/cb`, false, false},
		{"https://app.example.com/c b", false, false},
		{"https://app.example.com/caf\u00e9", false, false},
		{"https://app.example.com/cb?a=<b>", false, false},
		{"https://app.example.com/cb?a=%3Cb%3E&c=d~e", false, true},
		{"com.example.app:/oauth|x", false, false},
		// The response keeps the query and adds to it (RFC 6749 §3.1.2).
		{"https://app.example.com/cb?tenant=acme&flag", false, true},
		{"https://app.example.com/cb?a=1;b=2", false, false},
		{"https://app.example.com/cb?%zz=1", false, false},
		{"https://app.example.com/cb?code=evil", false, false},
		{"https://app.example.com/cb?x=1&state=fixed", false, false},
		{"https://app.example.com/cb?iss=https://evil.example", false, false},
		{"https://app.example.com/cb?error=x", false, false},
		{"https://app.example.com/cb?codex=1", false, true},
		// A host is a DNS name or an IP literal: RFC 3986's sub-delims in
		// a host reach no resolver, but would reach the consent page's CSP.
		{"https://a;sandbox.example/cb", false, false},
		{"https://a,b.example/cb", false, false},
		{"https://a'b.example/cb", false, false},
		{"https://a$b.example/cb", false, false},
		{"https://app_1.example/cb", false, false},
		{"https://xn--caf-dma.example/cb", false, true},
		{"https://APP.example.com./cb", false, true},
		{"https://192.0.2.1/cb", false, true},
		{"com.example.app://a;b/cb", false, false},
		{"com.example.app://callback/cb", false, true},
	}
	for _, c := range cases {
		if err := ValidateRedirectURI(c.uri, c.dev); (err == nil) != c.want {
			t.Errorf("ValidateRedirectURI(%q, dev=%v) = %v, want ok=%v", c.uri, c.dev, err, c.want)
		}
	}
}

func TestMatchRedirectURI(t *testing.T) {
	registered := []string{"https://app.example.com/cb", "http://127.0.0.1/native", "http://[::1]/v6"}
	cases := []struct {
		requested string
		want      bool
	}{
		{"https://app.example.com/cb", true},
		{"https://app.example.com/cb/", false},
		{"https://app.example.com/cb?x=1", false},
		{"https://APP.example.com/cb", false},
		{"https://app.example.com:443/cb", false},
		{"http://127.0.0.1:53124/native", true},
		{"http://127.0.0.1/native", true},
		{"http://127.0.0.1:53124/native?x=1", false},
		{"http://127.0.0.1:53124/other", false},
		{"http://127.0.0.2:53124/native", false},
		{"http://[::1]:9999/v6", true},
		{"https://127.0.0.1:53124/native", false},
		{"http://localhost:53124/native", false},
		{"", false},
		{"http://127.0.0.1:65535/native", true},
		{"http://127.0.0.1:99999/native", false},
		{"http://127.0.0.1:0/native", false},
		{"http://127.0.0.1:/native", false},
		{"http://[::1]:70000/v6", false},
	}
	for _, c := range cases {
		if _, got := MatchRedirectURI(registered, c.requested); got != c.want {
			t.Errorf("MatchRedirectURI(%q) = %v, want %v", c.requested, got, c.want)
		}
	}
}

func FuzzMatchRedirectURI(f *testing.F) {
	registered := []string{"https://app.example.com/cb", "http://127.0.0.1/native"}
	f.Add("https://app.example.com/cb")
	f.Add("http://127.0.0.1:1/native")
	f.Add("http://127.0.0.1:1/native#x")
	f.Add("http://127.0.0.1@evil.example/native")
	f.Fuzz(func(t *testing.T, requested string) {
		match, ok := MatchRedirectURI(registered, requested)
		if !ok {
			return
		}
		if requested == match {
			return
		}
		// Only the loopback rule may match a different string: same scheme,
		// host and path, any port, nothing else.
		req, err := url.Parse(requested)
		if err != nil {
			t.Fatalf("matched unparseable %q", requested)
		}
		if req.Scheme != "http" || req.Hostname() != "127.0.0.1" || req.EscapedPath() != "/native" || req.User != nil || req.Fragment != "" || req.RawQuery != "" {
			t.Fatalf("%q matched %q", requested, match)
		}
	})
}
