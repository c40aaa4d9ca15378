package web_test

import (
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// The language link of any page, a 404 included, leads to this site
// whatever path was asked for: a path that decodes to "//host" or "/\host"
// must not become a link a browser reads as another site.
func TestLanguageLinkStaysOnThisSite(t *testing.T) {
	s := newSite(t)
	link := regexp.MustCompile(`<a href="([^"]*lang=[^"]*)"`)
	// A browser reads "//host" and "/\host" as another site (WHATWG URL),
	// where url.Parse reads "///host" as a path: check as browsers do.
	local := func(ref string) bool {
		return strings.HasPrefix(ref, "/") && !strings.HasPrefix(ref[1:], "/") && !strings.HasPrefix(ref[1:], "\\")
	}
	for _, method := range []string{"GET", "POST"} {
		for _, p := range []string{"/%2F%2Fevil.example", "//evil.example", "/%2F/evil.example", "/%5C%5Cevil.example", "/%2F%5Cevil.example",
			"/%5C/evil.example", "/%2F%2Fevil.example/a?b=c", "/%2F%09/evil.example"} {
			t.Run(method+" "+p, func(t *testing.T) {
				req, err := http.NewRequest(method, s.base+p, strings.NewReader(""))
				if err != nil {
					t.Fatal(err)
				}
				client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if loc := resp.Header.Get("Location"); loc != "" {
					if !local(loc) {
						t.Fatalf("redirected to %q", loc)
					}
					return
				}
				m := link.FindStringSubmatch(string(body))
				if m == nil {
					t.Fatalf("%d without a language link", resp.StatusCode)
				}
				if ref := html.UnescapeString(m[1]); !local(ref) {
					t.Fatalf("the language link %q leads to another site", ref)
				}
			})
		}
	}
	// An ordinary page's link is that page in the other language.
	a := s.browser("en").get("/login?next=%2Faccount")
	if m := link.FindStringSubmatch(a.body); m == nil || html.UnescapeString(m[1]) != "/login?next=%2Faccount&lang=ja" {
		t.Errorf("the sign-in page's language link: %q", m)
	}
}
