package web

import (
	"net/http/httptest"
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
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/?lang="+c.query, nil)
		r.Header.Set("Accept-Language", c.accept)
		if got := pickLanguage(r); got != c.want {
			t.Errorf("pickLanguage(%q, lang=%q) = %s, want %s", c.accept, c.query, got, c.want)
		}
	}
}
