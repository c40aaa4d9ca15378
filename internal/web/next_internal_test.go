package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestSafeNext checks the value http.Redirect really sends, since that is
// what the browser follows: "/./\evil.com" passed a check of the raw string
// and went out as "/\evil.com".
func TestSafeNext(t *testing.T) {
	local := map[string]string{
		"/admin/apps":             "/admin/apps",
		"/admin/apps/":            "/admin/apps/",
		"/a/./b/../c":             "/a/c",
		"/plugins/x?a=1&b=%2F%2F": "/plugins/x?a=1&b=%2F%2F",
		"/rest/oauth2/latest/authorize?client_id=x&redirect_uri=https%3A%2F%2Fapp.example%2Fcb": "/rest/oauth2/latest/authorize?client_id=x&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
	}
	// Refused outright: a scheme, a host, "//", a backslash, a control
	// character or a fragment, raw or encoded.
	refused := []string{
		"", "admin", "//evil.com", "///evil.com", "/\\evil.com", "/./\\evil.com", "/a/../\\evil.com",
		"/%5Cevil.com", "/%5cevil.com", "/.%5C/evil.com", "\\\\evil.com",
		"https://evil.com", "javascript:alert(1)", "/\tevil", "/\nLocation: x", "/a\x00b", "/a\x7fb",
		"/a%00b", "/a%0d%0ab", "/\u0085x", "/a#//evil.com",
	}
	// Cleaned into a path of this site.
	cleaned := map[string]string{
		"/./%2F/evil.com": "/%2F/evil.com", "/.//evil.com": "/evil.com", "/..//evil.com": "/evil.com",
		"/a/..//evil.com": "/evil.com", "/a//b": "/a/b",
	}
	for in, want := range local {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q; want %q", in, got, want)
		}
	}
	for in, want := range cleaned {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q; want %q", in, got, want)
		}
		refused = append(refused, in)
	}
	for _, in := range refused {
		got := safeNext(in)
		rec := httptest.NewRecorder()
		http.Redirect(rec, httptest.NewRequest("POST", "/login", nil), got, http.StatusSeeOther)
		loc := rec.Header().Get("Location")
		base, _ := url.Parse("https://gatehouse.example/login")
		target, err := base.Parse(loc)
		if err != nil || target.Host != "gatehouse.example" || strings.ContainsAny(loc, "\\\r\n") {
			t.Errorf("safeNext(%q) = %q, sent as Location %q: leaves the site (%v)", in, got, loc, target)
		}
		if _, isCleaned := cleaned[in]; !isCleaned && got != "/" {
			t.Errorf("safeNext(%q) = %q; want \"/\"", in, got)
		}
	}
}
