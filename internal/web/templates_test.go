package web

import (
	"html/template"
	"io/fs"
	"testing"
)

// Pages parse their templates at the first page served, so a broken template
// must fail here rather than at a user's first request.
func TestEveryTemplateParsesInEveryLanguage(t *testing.T) {
	_, sets := parsedTemplates(t)
	names, _ := fs.Glob(templateFiles, "templates/*.html")
	for _, lang := range Languages {
		// Every file but the layout and the partials is a page.
		if got, want := len(sets[lang]), len(names)-2; got != want {
			t.Errorf("%s: %d pages parsed, want %d", lang, got, want)
		}
		for name, tmpl := range sets[lang] {
			if tmpl.Lookup("layout") == nil {
				t.Errorf("%s/%s: no layout template", lang, name)
			}
		}
	}
}

// parsedTemplates are the message catalogues and every page's templates in
// every language, as Pages parses them.
func parsedTemplates(tb testing.TB) (Messages, map[string]map[string]*template.Template) {
	tb.Helper()
	msgs, err := LoadMessages()
	if err != nil {
		tb.Fatal(err)
	}
	sets, err := parseTemplates(msgs)
	if err != nil {
		tb.Fatal(err)
	}
	return msgs, sets
}
