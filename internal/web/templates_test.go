package web

import (
	"bytes"
	"html/template"
	"io/fs"
	"path"
	"strings"
	"sync"
	"testing"
)

// Pages parse each page's templates when the page is first shown, so a
// broken template must fail here rather than at a user's first request.
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
	return msgs, allTemplates(tb, msgs)
}

// allTemplates parses every page's templates in every language with msgs,
// as Pages does when each is first shown: language → page → template.
func allTemplates(tb testing.TB, msgs Messages) map[string]map[string]*template.Template {
	tb.Helper()
	files, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil || len(files) < 3 {
		tb.Fatalf("page templates: %v, %v", files, err)
	}
	t := newPageTemplates(msgs)
	sets := map[string]map[string]*template.Template{}
	for _, lang := range Languages {
		sets[lang] = map[string]*template.Template{}
		for _, file := range files {
			name := strings.TrimSuffix(path.Base(file), ".html")
			if name == "layout" || name == "partials" {
				continue
			}
			if sets[lang][name], err = t.get(lang, name); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return sets
}

// A page's templates are parsed when it is first asked for, once, and kept:
// the others are not parsed at all; a name that is no page is an error.
func TestPageTemplatesParsedWhenFirstAsked(t *testing.T) {
	msgs, err := LoadMessages()
	if err != nil {
		t.Fatal(err)
	}
	pt := newPageTemplates(msgs)
	var wg sync.WaitGroup
	got := make([]*template.Template, 8)
	for i := range got {
		wg.Go(func() {
			tmpl, err := pt.get("ja", "login")
			if err != nil {
				t.Error(err)
			}
			got[i] = tmpl
		})
	}
	wg.Wait()
	for _, tmpl := range got {
		if tmpl == nil || tmpl != got[0] {
			t.Fatalf("concurrent first gets returned %v: want one template, parsed once", got)
		}
	}
	if len(pt.pages) != 1 || len(pt.bases) != 1 {
		t.Fatalf("after one page: %d pages and %d bases parsed, want 1 and 1", len(pt.pages), len(pt.bases))
	}
	var out bytes.Buffer
	if err := got[0].ExecuteTemplate(&out, "layout", page{Lang: "ja", Title: "T", CSRF: "tok", Data: loginData{Next: "/"}}); err != nil || !strings.Contains(out.String(), `lang="ja"`) {
		t.Fatalf("the login page in Japanese: %v\n%.300s", err, out.String())
	}
	for _, bad := range []pageKey{{"ja", "no-such-page"}, {"xx", "login"}, {"en", "layout"}, {"en", "partials"}, {"en", "../messages"}} {
		if tmpl, err := pt.get(bad.lang, bad.name); err == nil {
			t.Errorf("get(%q, %q) = %v, want an error", bad.lang, bad.name, tmpl.Name())
		}
	}
}
