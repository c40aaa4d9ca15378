package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strings"

	"golang.org/x/text/language"
)

//go:embed i18n/*.json
var catalogueFiles embed.FS

// Languages are the page languages, the first being the fallback.
var Languages = []string{"en", "ja"}

// Messages maps language → key → text.
type Messages map[string]map[string]string

// LoadMessages reads the embedded catalogues.
func LoadMessages() (Messages, error) {
	m := Messages{}
	for _, lang := range Languages {
		data, err := catalogueFiles.ReadFile(path.Join("i18n", lang+".json"))
		if err != nil {
			return nil, err
		}
		var texts map[string]string
		if err := json.Unmarshal(data, &texts); err != nil {
			return nil, fmt.Errorf("web: i18n/%s.json: %w", lang, err)
		}
		m[lang] = texts
	}
	return m, nil
}

// Has reports whether lang's catalogue has key.
func (m Messages) Has(lang, key string) bool {
	_, ok := m[lang][key]
	return ok
}

// T returns the text for key in lang, falling back to English, then to the key.
func (m Messages) T(lang, key string, args ...any) string {
	text, ok := m[lang][key]
	if !ok {
		if text, ok = m[Languages[0]][key]; !ok {
			return key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(text, args...)
	}
	return text
}

var matcher = language.NewMatcher([]language.Tag{language.English, language.Japanese})

// pickLanguage honours an explicit ?lang= or lang cookie, then Accept-Language.
func pickLanguage(r *http.Request) string {
	for _, explicit := range []string{r.URL.Query().Get("lang"), cookieValue(r, "gatehouse_lang")} {
		for _, l := range Languages {
			if strings.EqualFold(explicit, l) {
				return l
			}
		}
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return Languages[0]
	}
	_, i, _ := matcher.Match(tags...)
	return Languages[i]
}

func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}
