package web

import (
	"bytes"
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestPretranslate(t *testing.T) {
	msgs := Messages{"en": {
		"plain":  "Sign in",
		"markup": `<b> & "quoted" 'single' +`,
		"syntax": "looks like {{ .Secret }}",
		"format": "%d apps",
	}}
	for _, tc := range []struct{ name, src, want string }{
		{"text", `<h1>{{t "plain"}}</h1>`, `<h1>Sign in</h1>`},
		{"escaped as text", `<p>{{t "markup"}}</p>`, `<p>&lt;b&gt; &amp; &#34;quoted&#34; &#39;single&#39; &#43;</p>`},
		{"quoted attribute", `<nav aria-label="{{t "plain"}}">`, `<nav aria-label="Sign in">`},
		{"attribute after others", `<a class="x" title='{{t "plain"}}'>`, `<a class="x" title='Sign in'>`},
		{"no arguments only", `<p>{{t "format" 3}}</p>`, `<p>{{t "format" 3}}</p>`},
		{"a format without arguments stays as written", `<p>{{t "format"}}</p>`, `<p>%d apps</p>`},
		{"missing key shows the key, as t does", `<p>{{t "nope"}}</p>`, `<p>nope</p>`},
		{"template syntax in a translation", `<p>{{t "syntax"}}</p>`, `<p>{{t "syntax"}}</p>`},
		{"URL attribute", `<a href="/x?q={{t "plain"}}">`, `<a href="/x?q={{t "plain"}}">`},
		{"event attribute", `<button onclick="f('{{t "plain"}}')">`, `<button onclick="f('{{t "plain"}}')">`},
		{"style attribute", `<p style="content: '{{t "plain"}}'">`, `<p style="content: '{{t "plain"}}'">`},
		{"unquoted attribute", `<input value={{t "plain"}}>`, `<input value={{t "plain"}}>`},
		{"script", `<script>var s = "{{t "plain"}}";</script>`, `<script>var s = "{{t "plain"}}";</script>`},
		{"after a script", `<script src="/a.js"></script><p>{{t "plain"}}</p>`, `<script src="/a.js"></script><p>Sign in</p>`},
		{"style element", `<style>p::after { content: "{{t "plain"}}" }</style>`, `<style>p::after { content: "{{t "plain"}}" }</style>`},
	} {
		if got := pretranslate(tc.src, msgs, "en"); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// A page renders the same with its translations written in as with t
// called at rendering: the layout and the consent page in both languages,
// every translation given characters that need escaping.
func TestPretranslatedPagesRenderAsBefore(t *testing.T) {
	loaded, err := LoadMessages()
	if err != nil {
		t.Fatal(err)
	}
	msgs := Messages{}
	for lang, texts := range loaded {
		msgs[lang] = map[string]string{}
		for k, v := range texts {
			msgs[lang][k] = v + ` <&"'+>`
		}
	}
	sets := allTemplates(t, msgs)
	for _, lang := range Languages {
		data := consentData{Kept: []scopeLine{{Name: "READ", Text: `read <all> & "more"`}}, RedirectHost: "app.example", ConsentID: "c1"}
		data.Client.ID, data.Client.Name, data.Client.Description = "id1", `Tom & Jerry's <app>`, "desc"
		pg := page{Lang: lang, Title: "T", CSRF: "tok", Data: data, LangSwitch: "/x?lang=ja", IsAdmin: true,
			User: &store.User{Username: "alice", DisplayName: `Alice "A" <a@example.com>`}}
		var want, got strings.Builder
		dynamic := referenceTemplate(t, msgs, lang, "consent")
		if err := dynamic.ExecuteTemplate(&want, "layout", pg); err != nil {
			t.Fatal(err)
		}
		if err := sets[lang]["consent"].ExecuteTemplate(&got, "layout", pg); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s: the pretranslated consent page differs:\n got %s\nwant %s", lang, got.String(), want.String())
		}
	}
}

// referenceTemplate parses a page as before pretranslate: every translation
// called at rendering.
func referenceTemplate(t testing.TB, msgs Messages, lang, page string) *template.Template {
	t.Helper()
	base, err := template.New("layout.html").Funcs(templateFuncs(msgs, lang)).ParseFS(templateFiles, "templates/layout.html", "templates/partials.html")
	if err != nil {
		t.Fatal(err)
	}
	p, err := template.Must(base.Clone()).ParseFS(templateFiles, "templates/"+page+".html")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// BenchmarkRenderConsent renders the consent page (layout included) as the
// consent handler does, from a kept page with its slots filled
// (slottedPages); with the templates, their translations written in; and
// as before that, with t called at rendering.
//
//	go test ./internal/web -run '^$' -bench RenderConsent -cpu 1
func BenchmarkRenderConsent(b *testing.B) {
	msgs, sets := parsedTemplates(b)
	data := consentData{Kept: []scopeLine{{Name: "READ", Text: "View your data"}, {Name: "WRITE", Text: "Change your data"}},
		RedirectHost: "app.example", ConsentID: "c1"}
	data.Client.ID, data.Client.Name = "id1", "Example app"
	// The link and the tokens as long as the load tool's.
	pg := page{Lang: "en", Title: "Allow access", CSRF: "csrfTokenValue_-0123456789abcdefghijk", Data: data,
		LangSwitch: "/rest/oauth2/latest/authorize?client_id=fcf122bc20336966df639802b5fae7f0&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&response_type=code&scope=READ&state=s1&lang=ja",
		User: &store.User{ID: "2b1f0c8e4d7a4b6f9e3c5a1d8f0b2e4c", Username: "alice", DisplayName: "Alice", Email: "alice@example.com",
			PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
			CreatedAt:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), UpdatedAt: time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)}} // a user as the store reads one
	b.Run("kept", func(b *testing.B) { // what the consent handler does (slottedPages)
		var kept slottedPages
		var buf bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			if err := kept.execute(&buf, "consent", sets["en"]["consent"], pg, data); err != nil {
				b.Fatal(err)
			}
		}
	})
	for name, tmpl := range map[string]*template.Template{
		"pretranslated": sets["en"]["consent"],
		"at-rendering":  referenceTemplate(b, msgs, "en", "consent"),
	} {
		b.Run(name, func(b *testing.B) {
			var sb strings.Builder
			b.ReportAllocs()
			for b.Loop() {
				sb.Reset()
				if err := tmpl.ExecuteTemplate(&sb, "layout", pg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
