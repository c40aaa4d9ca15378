package web

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"golang.org/x/text/language"

	"github.com/gatehouse/gatehouse/internal/qvalue"
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

// pickLanguage is the request's page language.
func pickLanguage(r *http.Request) string { return requestLanguage(r).lang }

// requestLanguage is what the pages' middleware found (withLanguage), else
// what findLanguage finds now.
func requestLanguage(r *http.Request) pageLanguage {
	if l, ok := r.Context().Value(languageKey{}).(pageLanguage); ok {
		return l
	}
	return findLanguage(r)
}

// pageLanguage is a request's page language and whether ?lang= chose it.
type pageLanguage struct {
	lang      string
	fromQuery bool
}

type languageKey struct{}

// withLanguage finds r's language once for all who ask (a page asks for
// each translation and its rendering; each answer parsed the query string,
// the cookies and Accept-Language again).
func withLanguage(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), languageKey{}, findLanguage(r)))
}

// findLanguage honours an explicit ?lang= or lang cookie, then Accept-Language.
func findLanguage(r *http.Request) pageLanguage {
	asked, inQuery := queryValue(r.URL.RawQuery, "lang")
	found := pageLanguage{fromQuery: inQuery}
	for _, explicit := range []string{asked, cookieValue(r, "gatehouse_lang")} {
		for _, l := range Languages {
			if strings.EqualFold(explicit, l) {
				found.lang = l
				return found
			}
		}
	}
	found.lang = acceptedLanguage(r.Header.Get("Accept-Language"))
	return found
}

// acceptedLanguage is the one of Languages that Accept-Language weighs
// highest (RFC 9110 §12.5.4), the first listed on a tie; Languages[0] when
// it weighs none above zero. An entry that cannot be read (a bad tag, a
// weight that is not 0–1) is skipped rather than spoil the whole header,
// which is what language.ParseAcceptLanguage does; "*" weighs every
// language the header does not name.
func acceptedLanguage(header string) string {
	type weight struct {
		q   float64
		pos int // the entry's place in the header, for ties
	}
	given := make([]*weight, len(Languages))
	var wildcard *weight
	for pos, entry := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(entry, ";")
		tag = strings.TrimSpace(tag)
		q, ok := acceptWeight(params)
		if !ok || tag == "" {
			continue
		}
		if tag == "*" {
			if wildcard == nil {
				wildcard = &weight{q, pos}
			}
			continue
		}
		t, err := language.Parse(tag)
		if err != nil {
			continue
		}
		base, _ := t.Base()
		for i, l := range Languages {
			// A language weighs its highest-weighted entry ("en-US;q=0.1, en;q=0.9").
			if base.String() == l && (given[i] == nil || q > given[i].q) {
				given[i] = &weight{q, pos}
			}
		}
	}
	best, bestWeight := Languages[0], weight{0, 0}
	for i, l := range Languages {
		w := given[i]
		if w == nil {
			w = wildcard
		}
		if w != nil && (w.q > bestWeight.q || w.q == bestWeight.q && w.q > 0 && w.pos < bestWeight.pos) {
			best, bestWeight = l, *w
		}
	}
	return best
}

// acceptWeight reads an Accept-Language entry's parameters: its q, 1
// without one; not ok when they cannot be read.
func acceptWeight(params string) (float64, bool) {
	if strings.TrimSpace(params) == "" {
		return 1, true
	}
	name, value, _ := strings.Cut(strings.TrimSpace(params), "=")
	if !strings.EqualFold(strings.TrimSpace(name), "q") {
		return 0, false
	}
	return qvalue.Parse(strings.TrimSpace(value))
}

// queryValue is url.ParseQuery(raw).Get(key) and whether key is there,
// without building the whole map: every page asks it of its query.
func queryValue(raw, key string) (value string, found bool) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if strings.Contains(pair, ";") {
			continue // ParseQuery refuses such a pair
		}
		k, v, _ := strings.Cut(pair, "=")
		if !isKey(k, key) {
			continue
		}
		if v, err := url.QueryUnescape(v); err == nil {
			return v, true
		}
	}
	return "", false
}

// isKey reports whether k, a query pair's key as it came, is key once
// unescaped (as ParseQuery reads it).
func isKey(k, key string) bool {
	if k == key {
		return true
	}
	if !strings.ContainsAny(k, "%+") {
		return false
	}
	u, err := url.QueryUnescape(k)
	return err == nil && u == key
}

func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}
