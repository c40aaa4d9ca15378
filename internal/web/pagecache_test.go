package web

import (
	"bytes"
	"fmt"
	"html/template"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// consentPageOf is a consent page as handleConsentPage builds it.
func consentPageOf(lang string, u *store.User, clientName, csrf, consentID, langSwitch string) page {
	var d consentData
	d.Client.ID, d.Client.Name, d.Client.Description = "c1", clientName, "Reads <your> issues & more"
	d.Kept = []scopeLine{{Name: "READ", Text: "View your issues"}}
	d.RedirectHost, d.ConsentID = "app.example:8443", consentID
	return page{Lang: lang, Title: "Authorize", User: u, IsAdmin: u.Level >= store.LevelAdmin, CSRF: csrf,
		Data: d, RequestID: "0123abcd", LangSwitch: langSwitch}
}

// A kept page with its slots filled is byte for byte the page the
// templates render, whatever the slots and the rest hold — including
// values that the escapers change or that no kept page can take.
func TestKeptPagesAreTheRenderedPages(t *testing.T) {
	_, sets := parsedTemplates(t)
	alice := &store.User{ID: "u1", Username: "alice", DisplayName: `Alice "<b>" & Co`}
	admin := &store.User{ID: "u2", Username: "root", DisplayName: "Root", Level: store.LevelSystemAdmin}
	const link = "/rest/oauth2/latest/authorize?client_id=c1&state=s1&lang=ja"
	pages := []struct {
		name string
		pg   page
	}{
		{"plain", consentPageOf("en", alice, "Wiki", "tokA_-1", "payload.mac-_", link)},
		{"the same page for another request", consentPageOf("en", alice, "Wiki", "tokB", "other.id", link+"&x=1")},
		{"Japanese", consentPageOf("ja", alice, "Wiki", "tokA", "payload.mac", "/rest/oauth2/latest/authorize?lang=en")},
		{"another user, an administrator", consentPageOf("en", admin, "Wiki", "tokC", "id.c", link)},
		{"a name with markup", consentPageOf("en", alice, `<script>alert("x")</script> & 'q'`, "tokD", "id.d", link)},
		{"a link the escapers change", consentPageOf("en", alice, "Wiki", "tokE", "id.e",
			`/rest/oauth2/latest/authorize?state=a"b<c>'d+e f%zz&redirect_uri=javascript:x&n=é(1)`)},
		{"a link with another scheme", consentPageOf("en", alice, "Wiki", "tokF", "id.f", "javascript:alert(1)")},
		{"a form token no kept page takes", consentPageOf("en", alice, "Wiki", `tok"G`, "id.g", link)},
		{"a consent ID no kept page takes", consentPageOf("en", alice, "Wiki", "tokH", "id h<", link)},
		{"a flash message", func() page {
			pg := consentPageOf("en", alice, "Wiki", "tokI", "id.i", link)
			pg.Flash = "Saved & done"
			return pg
		}()},
	}
	var kept slottedPages
	for round := range 2 { // the first round fills the cache, the second reads it
		for _, c := range pages {
			tmpl := sets[c.pg.Lang]["consent"]
			var want, got bytes.Buffer
			if err := tmpl.ExecuteTemplate(&want, "layout", c.pg); err != nil {
				t.Fatal(err)
			}
			if err := kept.execute(&got, "consent", tmpl, c.pg, c.pg.Data.(consentData)); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("round %d, %s: the kept page differs from the rendered one\n got: %s\nwant: %s", round, c.name, got.Bytes(), want.Bytes())
			}
		}
	}
	// The second round's pages whose tokens fit came from the cache, as did
	// three of the first round's (the first page's shape: only slots differ).
	if got, want := kept.hits.Load(), uint64(len(pages)-2+3); got != want {
		t.Errorf("%d pages came from the cache, want %d", got, want)
	}
}

// A template that writes a slot where a kept page cannot fill it is
// rendered in full every time.
func TestPageWithSlotsElsewhereIsNotKept(t *testing.T) {
	tmpl := template.Must(template.New("x").Parse(`{{define "layout"}}<p>{{.CSRF}}</p><form><input value="{{.Data.ConsentID}}"></form>{{end}}`))
	var kept slottedPages
	for _, csrf := range []string{"one", "two"} {
		pg := page{CSRF: csrf, Data: consentData{ConsentID: "id"}}
		var got bytes.Buffer
		if err := kept.execute(&got, "x", tmpl, pg, pg.Data.(consentData)); err != nil {
			t.Fatal(err)
		}
		if want := `<p>` + csrf + `</p><form><input value="id"></form>`; got.String() != want {
			t.Errorf("got %q, want %q", got.String(), want)
		}
	}
	if kept.hits.Load() != 0 {
		t.Error("a page with a slot outside an attribute value came from the cache")
	}
}

// The cache holds at most keptPages pages.
func TestKeptPagesAreBounded(t *testing.T) {
	_, sets := parsedTemplates(t)
	var kept slottedPages
	u := &store.User{ID: "u1", Username: "alice"}
	for i := range keptPages + 5 {
		pg := consentPageOf("en", u, fmt.Sprint("app ", i), "tok", "id", "/x")
		var buf bytes.Buffer
		if err := kept.execute(&buf, "consent", sets["en"]["consent"], pg, pg.Data.(consentData)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(kept.pages); n > keptPages || n == 0 {
		t.Errorf("%d pages kept, want 1…%d", n, keptPages)
	}
}

// Pages kept, read and dropped (a full cache starts over) from many
// requests at once are each the page the templates render.
func TestKeptPagesConcurrently(t *testing.T) {
	_, sets := parsedTemplates(t)
	tmpl := sets["en"]["consent"]
	var kept slottedPages
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			u := &store.User{ID: "u1", Username: "alice"}
			for i := range 40 {
				pg := consentPageOf("en", u, fmt.Sprint("app ", (g*40+i)%(keptPages+7)), fmt.Sprint("tok", g, "_", i), "id.x", fmt.Sprint("/a?state=", i, "&b=<", g, ">"))
				var want, got bytes.Buffer
				if err := tmpl.ExecuteTemplate(&want, "layout", pg); err != nil {
					t.Error(err)
					return
				}
				if err := kept.execute(&got, "consent", tmpl, pg, pg.Data.(consentData)); err != nil {
					t.Error(err)
					return
				}
				if !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Errorf("goroutine %d, page %d: the kept page differs from the rendered one", g, i)
					return
				}
			}
		})
	}
	wg.Wait()
	if kept.hits.Load() == 0 {
		t.Error("no page came from the cache")
	}
}

// A kept page's shape changes with every field a page is rendered from —
// each field of page, its user and its consent data, changed one at a time
// — and with none of the slots: a field left out of the shape would show a
// page kept for one value to a request with another.
func TestShapeHoldsEveryField(t *testing.T) {
	slots := map[string]bool{"page.CSRF": true, "page.RequestID": true, "page.LangSwitch": true, "consentData.ConsentID": true}
	build := func(change int) (shape, string) {
		var pg page
		var d consentData
		var changed string
		n := 0
		visit := func(path string, alter func()) {
			if n == change {
				changed = path
				alter()
			}
			n++
		}
		fillAndVisit(reflect.ValueOf(&pg).Elem(), "page", visit)
		fillAndVisit(reflect.ValueOf(&d).Elem(), "consentData", visit)
		if change == n { // one more: a page without a signed-in user
			pg.User, changed = nil, "page.User (nil)"
		}
		return pg.appendShape(nil, "consent", d), changed
	}
	base, _ := build(-1)
	for change := 0; ; change++ {
		got, changed := build(change)
		if changed == "" {
			if change < 20 {
				t.Fatalf("only %d fields visited", change)
			}
			break
		}
		if same := bytes.Equal(got, base); same != slots[changed] {
			t.Errorf("changing %s: shape unchanged = %v, want %v", changed, same, slots[changed])
		}
	}
	if again, _ := build(-1); !bytes.Equal(again, base) {
		t.Fatal("the same page has two shapes")
	}
}

// fillAndVisit gives every field under v a value of its own (a slice one
// element), then calls visit with each field's path and a change to it:
// strings, numbers, booleans, a time's seconds, nanoseconds and zone, and the length
// of each slice. page.Data is skipped: the shape takes a slotted page's
// data from the data itself, visited on its own.
func fillAndVisit(v reflect.Value, path string, visit func(path string, change func())) {
	switch {
	case v.Type() == reflect.TypeFor[time.Time]():
		at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
		v.Set(reflect.ValueOf(at))
		visit(path+" (second)", func() { v.Set(reflect.ValueOf(at.Add(time.Second))) })
		visit(path+" (nanosecond)", func() { v.Set(reflect.ValueOf(at.Add(time.Nanosecond))) })
		visit(path+" (zone)", func() { v.Set(reflect.ValueOf(at.In(time.FixedZone("X", 3600)))) })
	case v.Kind() == reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillAndVisit(v.Elem(), path, visit)
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.Type.Kind() != reflect.Interface {
				fillAndVisit(v.Field(i), path+"."+f.Name, visit)
			}
		}
	case v.Kind() == reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillAndVisit(v.Index(0), path+"[0]", visit)
		visit(path+" (length)", func() { v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem()))) })
	case v.Kind() == reflect.String:
		v.SetString(path) // every field's own value
		visit(path, func() { v.SetString(path + "x") })
	case v.CanInt():
		v.SetInt(int64(len(path)))
		visit(path, func() { v.SetInt(int64(len(path)) + 1) })
	case v.Kind() == reflect.Bool:
		v.SetBool(true)
		visit(path, func() { v.SetBool(false) })
	default:
		panic("fillAndVisit: add a case for " + v.Type().String())
	}
}

// hrefValue writes every link as the template does: links of the plain
// characters (written by the replacer) and links with any other character
// (by the template), made at random from both.
func TestHrefValueIsTheTemplates(t *testing.T) {
	const plain = alphanumerics + "-._~/?=&%+"
	const other = ":#\"'<> é\x00;()[]@!$*,\\"
	rng := rand.New(rand.NewPCG(1, 2))
	links := []string{"", "/", "/rest/oauth2/latest/authorize?client_id=c1&scope=READ+WRITE&state=a%20b&lang=ja",
		"//evil.example/x", "%zz", "%", "%4", "a%4", "%4g", "%4F%", "%%41", "&amp;", "+", "javascript:alert(1)", "/a?b=c#frag"}
	for range 3000 {
		var b []byte
		for range rng.IntN(40) {
			switch rng.IntN(10) {
			case 0:
				b = append(b, other[rng.IntN(len(other))])
			case 1: // a percent escape, valid or not
				b = append(b, '%', "0123456789abcdefABCDEFxyz"[rng.IntN(25)], "0123456789abcdefABCDEFxyz"[rng.IntN(25)])
			default:
				b = append(b, plain[rng.IntN(len(plain))])
			}
		}
		links = append(links, string(b))
	}
	plainSeen := 0
	for _, link := range links {
		var want bytes.Buffer
		if err := hrefTemplate.Execute(&want, link); err != nil {
			t.Fatal(err)
		}
		got, err := hrefValue(link)
		if err != nil {
			t.Fatal(err)
		}
		if `<a href="`+got+`">` != want.String() {
			t.Fatalf("hrefValue(%q) = %q, the template writes %q", link, got, want.String())
		}
		if plainHref(link) {
			plainSeen++
		}
	}
	if plainSeen < 100 || plainSeen == len(links) {
		t.Fatalf("%d of %d links took the replacer: both ways must be exercised", plainSeen, len(links))
	}
}
