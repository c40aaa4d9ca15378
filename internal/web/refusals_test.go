package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
	"github.com/gatehouse/gatehouse/internal/web"
)

// signIn signs the browser in through the sign-in form.
func (b *browser) signIn(username, password string) {
	b.s.t.Helper()
	page := b.get("/login")
	a := b.do("POST", "/login", url.Values{"csrf_token": {hidden(page.body, "csrf_token")}, "username": {username}, "password": {password}})
	if a.status != http.StatusSeeOther {
		b.s.t.Fatalf("sign-in of %s: %d", username, a.status)
	}
}

// confirmPassword opens the secure administrator session that credentials
// and password resets need.
func (b *browser) confirmPassword(password string) {
	b.s.t.Helper()
	if a := b.post("/admin/reauth", url.Values{"password": {password}, "next": {"/admin"}}); a.status != http.StatusSeeOther {
		b.s.t.Fatalf("re-authentication: %d", a.status)
	}
}

// csrf returns the session's form token.
func (b *browser) csrf() string {
	b.s.t.Helper()
	token := hidden(b.get("/admin/apps/new").body, "csrf_token")
	if token == "" {
		b.s.t.Fatal("no CSRF token on the form")
	}
	return token
}

// post sends a form with the session's CSRF token.
func (b *browser) post(path string, form url.Values) answer {
	b.s.t.Helper()
	form.Set("csrf_token", b.csrf())
	return b.do("POST", path, form)
}

// postRaw posts body as contentType, in the browser's language and with its cookies.
func (b *browser) postRaw(path, contentType, body string) answer {
	b.s.t.Helper()
	req, err := http.NewRequest("POST", b.s.base+path, strings.NewReader(body))
	if err != nil {
		b.s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept-Language", b.lang)
	resp, err := b.c.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("Location"), string(raw), resp.Header}
}

// uploadLogo posts the multipart logo form; a nil file sends no file at all.
func (b *browser) uploadLogo(clientID string, file []byte) answer {
	b.s.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf_token", b.csrf())
	if file != nil {
		fw, _ := mw.CreateFormFile("logo", "logo.png")
		fw.Write(file)
	}
	mw.Close()
	return b.postRaw("/admin/apps/"+clientID+"/logo", mw.FormDataContentType(), body.String())
}

func pngOf(w, h int) []byte {
	var buf bytes.Buffer
	png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, w, h)))
	return buf.Bytes()
}

// appForm is a valid application form with changes, as a browser sends it:
// a key set to no values is an empty text field, or an unticked box.
func appForm(changes url.Values) url.Values {
	f := url.Values{
		"name": {"Wiki"}, "description": {"The wiki"}, "redirect_uris": {callbackURL}, "scope": {"READ"},
		"type": {"confidential"}, "grant": {app.GrantAuthorizationCode, app.GrantRefreshToken}, "enabled": {"on"},
		"subscriber_users": {""}, "subscriber_groups": {""}, "allowed_ips": {""},
	}
	return formWith(f, changes)
}

// userForm is the user page's form as a browser sends it, with changes.
func userForm(changes url.Values) url.Values {
	return formWith(url.Values{"display_name": {""}, "email": {""}, "groups": {""}, "level": {"user"}}, changes)
}

// formWith applies changes to a form: a key set to no values empties a text
// field the form has, and leaves out any other (an unticked box).
func formWith(f, changes url.Values) url.Values {
	texts := map[string]bool{"name": true, "description": true, "redirect_uris": true, "type": true, "subscriber_users": true,
		"subscriber_groups": true, "allowed_ips": true, "display_name": true, "email": true, "groups": true, "level": true}
	for k, v := range changes {
		switch {
		case len(v) > 0:
			f[k] = v
		case texts[k]:
			f[k] = []string{""}
		default:
			delete(f, k)
		}
	}
	return f
}

// englishWords finds a run of English words, as a domain error's English text has.
var englishWords = regexp.MustCompile(`[A-Za-z]+ [a-z]+ [a-z]+`)

// TestConsoleRefusalsAreLocalised provokes every refusal the admin console
// can meet — on the application, user, password and logo forms, and on the
// error page — in English and in Japanese, on a production node. Each must
// be worded by its catalogue entry in the page's language; a Japanese page
// must carry no English sentence of the domain error. (The services' keys
// that the console cannot reach are checked by TestEveryRefusalKeyIsInTheCatalogue.)
func TestConsoleRefusalsAreLocalised(t *testing.T) {
	const limit = 2
	s := newSite(t, production, func(cfg *config.Config) { cfg.Limits.Clients = limit })
	ctx := context.Background()
	existing := s.createClient(app.Registration{Name: "Existing"})
	public := s.createClient(app.Registration{Name: "Public", Public: true})
	for _, n := range []user.NewUser{
		{Username: "root", Password: "root-password", Level: store.LevelSystemAdmin},
		{Username: "adm", Password: "adm-password", Level: store.LevelAdmin},
	} {
		if _, err := s.gh.Users.Create(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	passwords := map[string]string{"root": "root-password", "adm": "adm-password"}
	long := func(n int) string { return strings.Repeat("x", n) }
	manyURIs := make([]string, 21)
	for i := range manyURIs {
		manyURIs[i] = fmt.Sprintf("https://wiki.example/cb%d", i)
	}
	createApp := func(changes url.Values) func(*browser) answer {
		return func(b *browser) answer { return b.post("/admin/apps/new", appForm(changes)) }
	}
	post := func(path string, form url.Values) func(*browser) answer {
		return func(b *browser) answer { return b.post(path, form) }
	}
	logo := func(file []byte) func(*browser) answer {
		return func(b *browser) answer { return b.uploadLogo(existing.ID, file) }
	}
	// reauthAs posts after opening actor's secure administrator session.
	reauthAs := func(actor, path string, form url.Values) func(*browser) answer {
		return func(b *browser) answer {
			b.confirmPassword(passwords[actor])
			return b.post(path, form)
		}
	}
	newUser := func(kv ...string) url.Values {
		f := url.Values{"username": {"carol"}, "password": {"carol-password"}, "level": {"user"}, "display_name": {""}, "email": {""}, "groups": {""}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	cases := []struct {
		name   string
		actor  string
		do     func(*browser) answer
		status int
		key    string
		args   []any
	}{
		// The application form, creating.
		{"name empty", "root", createApp(url.Values{"name": {"  "}}), 400, "app.name_length", []any{200}},
		{"description too long", "root", createApp(url.Values{"description": {long(2001)}}), 400, "input.too_long", []any{"description", 2000}},
		{"unknown grant", "root", createApp(url.Values{"grant": {"implicit"}}), 400, "app.grant_unknown", []any{"implicit"}},
		{"public with client_credentials", "root", createApp(url.Values{"type": {"public"}, "grant": {app.GrantClientCredentials}}), 400, "app.public_client_credentials", nil},
		{"public introspecting any token", "root", createApp(url.Values{"type": {"public"}, "introspect_any": {"on"}}), 400, "app.public_introspect", nil},
		{"no redirect URI", "root", createApp(url.Values{"redirect_uris": nil}), 400, "app.redirect_uri_required", nil},
		{"too many redirect URIs", "root", createApp(url.Values{"redirect_uris": {strings.Join(manyURIs, "\n")}}), 400, "input.too_many", []any{"redirect_uris", 20}},
		{"redirect URI too long", "root", createApp(url.Values{"redirect_uris": {"https://wiki.example/" + long(2000)}}), 400, "app.redirect_uri_length", []any{2000}},
		{"redirect URI not a URL", "root", createApp(url.Values{"redirect_uris": {"https://%zz"}}), 400, "app.redirect_uri_not_url", []any{"https://%zz"}},
		{"relative redirect URI", "root", createApp(url.Values{"redirect_uris": {"/callback"}}), 400, "app.redirect_uri_not_absolute", []any{"/callback"}},
		{"redirect URI with a fragment", "root", createApp(url.Values{"redirect_uris": {"https://wiki.example/cb#top"}}), 400, "app.redirect_uri_fragment", []any{"https://wiki.example/cb#top"}},
		{"redirect URI with user information", "root", createApp(url.Values{"redirect_uris": {"https://me:pw@wiki.example/cb"}}), 400, "app.redirect_uri_userinfo", []any{"https://me:pw@wiki.example/cb"}},
		{"plain http redirect URI", "root", createApp(url.Values{"redirect_uris": {"http://wiki.example/cb"}}), 400, "app.redirect_uri_https", []any{"http://wiki.example/cb"}},
		{"forbidden scheme", "root", createApp(url.Values{"redirect_uris": {"javascript://wiki.example/cb"}}), 400, "app.redirect_uri_scheme_forbidden", []any{"javascript://wiki.example/cb"}},
		{"custom scheme not a domain", "root", createApp(url.Values{"redirect_uris": {"wiki://cb"}}), 400, "app.redirect_uri_custom_scheme", []any{"wiki://cb"}},
		{"redirect URI without host", "root", createApp(url.Values{"redirect_uris": {"https:///cb"}}), 400, "app.redirect_uri_no_host", []any{"https:///cb"}},
		{"no scope", "root", createApp(url.Values{"scope": nil}), 400, "app.scope_required", nil},
		{"unknown scope", "root", createApp(url.Values{"scope": {"NOPE"}}), 400, "app.scope_unknown", []any{"NOPE"}},
		{"bad IP range", "root", createApp(url.Values{"allowed_ips": {"10.0.0.0/33"}}), 400, "app.cidr_invalid", []any{"10.0.0.0/33"}},
		{"application limit", "root", createApp(nil), 400, "app.limit", []any{limit}},
		// The application form, editing.
		{"edit: forbidden scheme", "root", post("/admin/apps/"+existing.ID+"/edit", appForm(url.Values{"redirect_uris": {"javascript://wiki.example/cb"}})), 400, "app.redirect_uri_scheme_forbidden", []any{"javascript://wiki.example/cb"}},
		// The error page.
		{"rotate a public application's secret", "root", reauthAs("root", "/admin/apps/"+public.ID+"/rotate", url.Values{}), 400, "app.public_no_secret", nil},
		{"view a public application's credentials", "root", func(b *browser) answer {
			b.confirmPassword(passwords["root"])
			return b.get("/admin/apps/" + public.ID + "/credentials")
		}, 400, "app.public_no_secret", nil},
		// The new user form.
		{"bad username", "root", post("/admin/users/new", newUser("username", "-carol-")), 400, "user.username_invalid", nil},
		{"username taken", "root", post("/admin/users/new", newUser("username", "Root")), 400, "user.username_taken", []any{"root"}},
		{"password too short", "root", post("/admin/users/new", newUser("password", "short")), 400, "user.password_short", []any{8}},
		{"password too long", "root", post("/admin/users/new", newUser("password", long(1025))), 400, "user.password_long", []any{1024}},
		{"display name too long", "root", post("/admin/users/new", newUser("display_name", long(201))), 400, "input.too_long", []any{"display_name", 200}},
		{"unknown level", "root", post("/admin/users/new", newUser("level", "king")), 400, "user.level_invalid", []any{"king"}},
		{"level above one's own", "adm", post("/admin/users/new", newUser("level", "system-admin")), 400, "admin.level_above_own", nil},
		// The user form.
		{"edit a user above one's own level", "adm", post("/admin/users/root", userForm(url.Values{"level": {"system-admin"}})), 400, "admin.user_above_own", nil},
		{"edit: display name too long", "root", post("/admin/users/adm", userForm(url.Values{"level": {"admin"}, "display_name": {long(201)}})), 400, "input.too_long", []any{"display_name", 200}},
		{"demote the last system administrator", "root", post("/admin/users/root", userForm(url.Values{"level": {"admin"}})), 400, "admin.last_system_admin", []any{"root"}},
		{"disable the last system administrator", "root", post("/admin/users/root", userForm(url.Values{"level": {"system-admin"}, "disabled": {"on"}})), 400, "admin.last_system_admin", []any{"root"}},
		{"edit: unknown level", "root", post("/admin/users/adm", userForm(url.Values{"level": {"king"}})), 400, "user.level_invalid", []any{"king"}},
		// The reset password form.
		{"reset the password of a user above one's own level", "adm", reauthAs("adm", "/admin/users/root/password", url.Values{"password": {"new-password"}}), 400, "admin.password_above_own", nil},
		{"reset to a short password", "root", reauthAs("root", "/admin/users/adm/password", url.Values{"password": {"short"}}), 400, "user.password_short", []any{8}},
		// The logo form.
		{"logo: no file", "root", logo(nil), 400, "admin.logo_missing", nil},
		{"logo: empty file", "root", logo([]byte{}), 400, "admin.logo_empty", nil},
		{"logo: too many bytes", "root", logo(bytes.Repeat([]byte{0}, 300<<10)), 400, "admin.logo_too_large", []any{256}},
		{"logo: not an image", "root", logo([]byte("<html><script>alert(1)</script></html>")), 400, "admin.logo_format", nil},
		{"logo: too many pixels", "root", logo(pngOf(2000, 10)), 400, "admin.logo_dimensions", []any{1024, 1024}},
		{"logo: damaged", "root", logo(pngOf(10, 10)[:33]), 400, "admin.logo_damaged", nil},
	}
	for _, lang := range web.Languages {
		browsers := map[string]*browser{}
		for actor, password := range passwords {
			browsers[actor] = s.browser(lang)
			browsers[actor].signIn(actor, password)
		}
		for _, tc := range cases {
			t.Run(lang+"/"+tc.name, func(t *testing.T) {
				a := tc.do(browsers[tc.actor])
				if a.status != tc.status {
					t.Fatalf("%d, want %d", a.status, tc.status)
				}
				if !strings.Contains(a.body, `<html lang="`+lang+`">`) {
					t.Fatalf("the page is not in %s", lang)
				}
				want := s.msgs.T(lang, "refusal."+tc.key, tc.args...)
				if got, ok := element(a.body, `role="alert"`); !ok || got != want {
					t.Errorf("the page says %q, want %q", got, want)
				}
				if strings.Contains(want, "%!") {
					t.Errorf("the message %q does not match its arguments", want)
				}
				for _, prefix := range []string{"invalid application", "invalid user", "invalid request"} {
					if strings.Contains(a.body, prefix) {
						t.Errorf("the page shows the service's own text (%q)", prefix)
					}
				}
				if lang != "en" && englishWords.MatchString(want) {
					t.Errorf("the %s message %q has English words in it", lang, want)
				}
			})
		}
	}
	if apps, _ := s.gh.Apps.List(ctx); len(apps) != 2 {
		t.Errorf("%d applications, want the 2 the test made", len(apps))
	}
	if root, _ := s.gh.Users.ByUsername(ctx, "root"); root.Level != store.LevelSystemAdmin || root.Disabled {
		t.Error("a refused change of root was saved")
	}
}

// TestAnotherSiteCannotMakeACredentialView: a link on another site to a
// credential view, followed inside a secure administrator session, shows no
// secret and records no view in the audit log (it would read as the
// administrator's own); the application's page is shown instead, where the
// view is a click away. The same link followed from the console works.
func TestAnotherSiteCannotMakeACredentialView(t *testing.T) {
	s := newSite(t)
	if _, err := s.gh.Users.Create(context.Background(), user.NewUser{Username: "root", Password: "root-password", Level: store.LevelSystemAdmin}); err != nil {
		t.Fatal(err)
	}
	c := s.createClient(app.Registration{Name: "Wiki"})
	b := s.browser("en")
	b.signIn("root", "root-password")
	b.confirmPassword("root-password")
	view := func(site string) answer {
		t.Helper()
		req, _ := http.NewRequest("GET", s.base+"/admin/apps/"+c.ID+"/credentials", nil)
		req.Header.Set("Sec-Fetch-Site", site)
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, resp.Header.Get("Location"), string(raw), resp.Header}
	}
	before := auditCount(t, s)
	for _, site := range []string{"cross-site", "same-site"} {
		if a := view(site); a.status != http.StatusSeeOther || a.location != "/admin/apps/"+c.ID {
			t.Errorf("a %s link: %d to %q, want 303 to the application's page", site, a.status, a.location)
		}
	}
	if n := auditCount(t, s); n != before {
		t.Errorf("a view another site started was audited: %d events, then %d", before, n)
	}
	for _, site := range []string{"same-origin", "none", ""} {
		if a := view(site); a.status != http.StatusOK || !strings.Contains(a.body, "client_secret") && !strings.Contains(a.body, "secret") {
			t.Errorf("a %q view: %d", site, a.status)
		}
	}
	if n := auditCount(t, s); n != before+3 {
		t.Errorf("the console's own views: %d events after %d, want 3 more", n, before)
	}
}

// TestSignInBehindAProxyThatSetsItsOwnHost: a reverse proxy that passes its
// upstream's address as Host (nginx's default proxy_pass) still lets a
// browser without Sec-Fetch-Site sign in: the form's Origin is the base
// URL's, which is the site's own whatever Host says. Another origin is
// still refused.
func TestSignInBehindAProxyThatSetsItsOwnHost(t *testing.T) {
	s := newSite(t)
	if _, err := s.gh.Users.Create(context.Background(), user.NewUser{Username: "root", Password: "root-password", Level: store.LevelSystemAdmin}); err != nil {
		t.Fatal(err)
	}
	b := s.browser("en")
	token := hidden(b.get("/login").body, "csrf_token")
	post := func(origin string) int {
		t.Helper()
		form := url.Values{"csrf_token": {token}, "username": {"root"}, "password": {"root-password"}}
		req, _ := http.NewRequest("POST", s.base+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		// The browser's cookies for the base URL, which the client would
		// look up by the Host set below.
		for _, c := range b.c.Jar.Cookies(req.URL) {
			req.AddCookie(c)
		}
		req.Host = "upstream.internal:8080"
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if status := post("https://attacker.example"); status != http.StatusForbidden {
		t.Fatalf("a post from another origin: %d, want 403", status)
	}
	if status := post(s.base); status != http.StatusSeeOther {
		t.Fatalf("a post from the base URL's origin through a proxy: %d, want 303", status)
	}
}
