package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestEveryKeyInEveryLanguage(t *testing.T) {
	m, err := LoadMessages()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range Languages {
		for key := range m[Languages[0]] {
			if m[lang][key] == "" {
				t.Errorf("%s lacks %q", lang, key)
			}
		}
		for key := range m[lang] {
			if _, ok := m[Languages[0]][key]; !ok {
				t.Errorf("%s has %q, which English lacks", lang, key)
			}
		}
	}
}

func TestPickLanguage(t *testing.T) {
	cases := []struct{ accept, query, want string }{
		{"", "", "en"},
		{"ja,en;q=0.5", "", "ja"},
		{"ja-JP", "", "ja"},
		{"fr-FR,en;q=0.8", "", "en"},
		{"ja", "en", "en"},
		{"garbage;;;q=x", "", "en"},
		// One unreadable entry is skipped, not the whole header.
		{"ja,en;q=0.x", "", "ja"},
		{"ja, en;q=0.5;foo=bar", "", "ja"},
		// A weight above 1 is no weight: the entry is skipped.
		{"ja;q=1.5,en;q=0.9", "", "en"},
		// q=0 refuses a language; * stands for every other one.
		{"en;q=0,*", "", "ja"},
		{"*;q=0.5,ja;q=0.4", "", "en"},
		{"ja;q=0", "", "en"},
		{"en;q=0.2,ja;q=0.8", "", "ja"},
		{"ja_JP", "", "ja"},
		{"JA", "", "ja"},
		// Equal weights: the first listed.
		{"ja, en", "", "ja"},
		{"en, ja", "", "en"},
		{"*", "", "en"},
		// White space before the parameters, as RFC 9110 allows.
		{"ja ;q=0.9, en;q=0.5", "", "ja"},
		// A language weighs what its highest-weighted entry says.
		{"en-US;q=0.1, ja;q=0.5, en;q=0.9", "", "en"},
		{"ja;q=NaN, en;q=0.1", "", "en"},
	}
	// A long list of well-formed entries is read to the end.
	long := ""
	for i := range 1000 {
		long += fmt.Sprintf("x%d;q=0.1,", i%100+100)
	}
	cases = append(cases, struct{ accept, query, want string }{long + "ja", "", "ja"})
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/?lang="+c.query, nil)
		r.Header.Set("Accept-Language", c.accept)
		if got := pickLanguage(r); got != c.want {
			t.Errorf("pickLanguage(%.60q, lang=%q) = %s, want %s", c.accept, c.query, got, c.want)
		}
	}
}

// withLanguage finds the language once; later reads give what it found, and
// whether ?lang= was given (which render answers with a cookie).
func TestWithLanguage(t *testing.T) {
	cases := []struct {
		target, cookie string
		want           pageLanguage
	}{
		{"/", "", pageLanguage{"en", false}},
		{"/", "ja", pageLanguage{"ja", false}},
		{"/?lang=ja", "en", pageLanguage{"ja", true}},
		{"/?lang=xx", "ja", pageLanguage{"ja", true}},
		{"/?lang=", "", pageLanguage{"en", true}},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", c.target, nil)
		if c.cookie != "" {
			r.AddCookie(&http.Cookie{Name: "gatehouse_lang", Value: c.cookie})
		}
		r = withLanguage(r)
		r.URL.RawQuery, r.Header = "lang=other", http.Header{} // found once: later changes are not read
		if got := requestLanguage(r); got != c.want {
			t.Errorf("%s with cookie %q: %+v, want %+v", c.target, c.cookie, got, c.want)
		}
	}
}

// queryRaws are query strings with the shapes ParseQuery treats specially.
var queryRaws = []string{
	"", "lang=ja", "a=1&lang=ja&b=2", "lang=ja&lang=en", "lang=", "lang", "a=1",
	"l%61ng=ja", "lang=j%61", "lang=%zz&lang=en", "%zz=1&lang=ja", "lang=ja;x=1&lang=en",
	"&&lang=ja&", "lang+=ja&lang=en", "lan%67=%65n", "a=%2B&lang=ja+x", "lang=ja%26b%3D1",
}

func TestQueryValueIsParseQuery(t *testing.T) {
	for _, raw := range queryRaws {
		want, _ := url.ParseQuery(raw) // an error still leaves the pairs it could read
		got, found := queryValue(raw, "lang")
		if got != want.Get("lang") || found != want.Has("lang") {
			t.Errorf("queryValue(%q) = %q, %v; ParseQuery: %q, %v", raw, got, found, want.Get("lang"), want.Has("lang"))
		}
	}
}

// The language switch keeps a GET's query as it came, but for the one
// language parameter, which it replaces.
func TestLangSwitchKeepsTheQuery(t *testing.T) {
	for _, raw := range queryRaws {
		r := httptest.NewRequest("GET", "/consent", nil)
		r.URL.RawQuery = raw
		link, err := url.Parse(langSwitch(r, "en", nil))
		if err != nil || link.Path != "/consent" {
			t.Fatalf("%q: switch link %v, %v", raw, link, err)
		}
		got, _ := url.ParseQuery(link.RawQuery)
		want, _ := url.ParseQuery(raw)
		want.Del("lang")
		want.Set("lang", "ja")
		if got.Encode() != want.Encode() {
			t.Errorf("%q: switch link's query %q, want the pairs of %q", raw, link.RawQuery, want.Encode())
		}
	}
}
