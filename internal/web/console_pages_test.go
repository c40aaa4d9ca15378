package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/integration"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
	"github.com/gatehouse/gatehouse/internal/web"
)

// controlTag matches the opening tag of a form control.
var controlTag = regexp.MustCompile(`<(?:input|textarea|select)\b[^>]*>`)

// controls returns the opening tags of the controls of a form field: the one
// whose id is field, or the checkboxes without an id whose name is field.
func controls(body, field string) []string {
	var out []string
	for _, tag := range controlTag.FindAllString(body, -1) {
		if strings.Contains(tag, ` id="`+field+`"`) || (!strings.Contains(tag, ` id=`) && strings.Contains(tag, ` name="`+field+`"`)) {
			out = append(out, tag)
		}
	}
	return out
}

// controlValue is what the control with this id holds: a textarea's text, or
// the value attribute.
func controlValue(body, id string) string {
	if m := regexp.MustCompile(`<textarea [^>]*id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)</textarea>`).FindStringSubmatch(body); m != nil {
		return html.UnescapeString(strings.TrimPrefix(m[1], "\n"))
	}
	for _, tag := range controls(body, id) {
		if m := regexp.MustCompile(` value="([^"]*)"`).FindStringSubmatch(tag); m != nil {
			return html.UnescapeString(m[1])
		}
	}
	return ""
}

// TestRefusedFormsMarkTheField: every console form that a refusal sends back
// — an application created or edited, a user created or edited, a password
// reset, the re-authentication, the account's password change and the
// sign-in — marks the field at fault: aria-invalid on its control(s), the
// reason next to it in the page's language, linked by aria-describedby; the
// summary stays at the top (role=alert), no other field is marked, and what
// was typed (but a password) is still in the form. A refusal about the whole
// form marks no field.
func TestRefusedFormsMarkTheField(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	existing := s.createClient(app.Registration{Name: "Existing"})
	passwords := map[string]string{"root": "root-password", "adm": "adm-password", "dave": "dave-password", "erin": "erin-password", "frank": "frank-password"}
	levels := map[string]store.Level{"root": store.LevelSystemAdmin, "adm": store.LevelAdmin, "dave": store.LevelAdmin, "erin": store.LevelUser, "frank": store.LevelUser}
	for name, password := range passwords {
		if _, err := s.gh.Users.Create(ctx, user.NewUser{Username: name, Password: password, Level: levels[name]}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.gh.Users.Create(ctx, user.NewUser{Username: "bob", Password: "bob-password", DisplayName: "Bob Stored", Level: store.LevelUser, Groups: []string{"dev"}}); err != nil {
		t.Fatal(err)
	}
	root := audit.Actor{Username: "root", Level: store.LevelSystemAdmin}
	storedMail, err := s.gh.Mail.Create(ctx, root, mail.Settings{Name: "Stored inbox", Protocol: mail.IMAP, Host: "mail.example.com", TLS: mail.TLSImplicit, Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	storedIntegration, err := s.gh.Integrations.Create(ctx, root, integration.Settings{Provider: integration.Custom, Name: "Stored IdP", ClientID: "gh", ClientSecret: "s3cret",
		AuthURL: "https://idp.example.com/auth", TokenURL: "https://idp.example.com/token"})
	if err != nil {
		t.Fatal(err)
	}
	newApp := func(changes url.Values) func(*browser) answer {
		return func(b *browser) answer { return b.post("/admin/apps/new", appForm(changes)) }
	}
	post := func(path string, form url.Values) func(*browser) answer {
		return func(b *browser) answer { return b.post(path, form) }
	}
	newUser := func(kv ...string) url.Values {
		f := url.Values{"username": {"carol"}, "password": {"carol-password"}, "level": {"user"}, "display_name": {"Carol Typed"}, "email": {"carol@example.com"}, "groups": {"ops"}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	newMail := func(kv ...string) func(*browser) answer {
		f := url.Values{"name": {"Inbox typed"}, "protocol": {"imap"}, "host": {"mail.example.com"}, "port": {""}, "tls": {"implicit"},
			"ca_cert": {""}, "username": {"inbox@example.com"}, "auth": {"password"}, "password": {"mail-password"}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return func(b *browser) answer { return b.post("/admin/mail/new", f) }
	}
	newIntegration := func(kv ...string) func(*browser) answer {
		f := url.Values{"provider": {"custom"}, "name": {"Corp typed"}, "description": {""}, "client_id": {"gh"}, "client_secret": {"s3cret"},
			"scopes": {"mail"}, "issuer": {""}, "authorization_endpoint": {"https://idp.example.com/auth"}, "token_endpoint": {"https://idp.example.com/token"},
			"userinfo_endpoint": {""}, "pkce": {"on"}, "authorization_parameters": {""}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return func(b *browser) answer { return b.post("/admin/integrations/new", f) }
	}
	cases := []struct {
		name   string
		actor  string
		do     func(*browser) answer
		status int
		field  string // "" when the refusal concerns the whole form
		key    string // the message's catalogue key
		args   []any
		kept   map[string]string // control id → the value the page must still hold
	}{
		{"application: forbidden redirect URI", "root", newApp(url.Values{"name": {"Wiki typed"}, "redirect_uris": {"javascript://wiki.example/cb"}, "allowed_ips": {"10.0.0.0/8"}}),
			400, "redirect_uris", "refusal.app.redirect_uri_scheme_forbidden", []any{"javascript://wiki.example/cb"},
			map[string]string{"name": "Wiki typed", "redirect_uris": "javascript://wiki.example/cb", "allowed_ips": "10.0.0.0/8", "description": "The wiki"}},
		{"application: no scope", "root", newApp(url.Values{"scope": nil}), 400, "scope", "refusal.app.scope_required", nil, map[string]string{"name": "Wiki"}},
		{"application: name taken", "root", newApp(url.Values{"name": {"existing"}}), 400, "name", "refusal.admin.app_name_taken", []any{"Existing"}, map[string]string{"name": "existing"}},
		{"application: bad IP range", "root", newApp(url.Values{"allowed_ips": {"10.0.0.0/33"}}), 400, "allowed_ips", "refusal.app.cidr_invalid", []any{"10.0.0.0/33"}, map[string]string{"allowed_ips": "10.0.0.0/33"}},
		{"application: description too long", "root", newApp(url.Values{"description": {strings.Repeat("x", 2001)}}), 400, "description", "refusal.input.too_long", []any{"description", 2000}, nil},
		{"application: unknown subscriber", "root", newApp(url.Values{"subscriber_users": {"ghost"}}), 400, "subscriber_users", "refusal.admin.subscriber_unknown", []any{"ghost"}, map[string]string{"subscriber_users": "ghost"}},
		{"application: public with client_credentials", "root", newApp(url.Values{"type": {"public"}, "grant": {app.GrantClientCredentials}}), 400, "grant", "refusal.app.public_client_credentials", nil, nil},
		{"application edit: public introspecting", "root", post("/admin/apps/"+existing.ID+"/edit", appForm(url.Values{"type": {"public"}, "introspect_any": {"on"}})), 400, "introspect_any", "refusal.app.public_introspect", nil, nil},
		{"new user: username taken", "root", post("/admin/users/new", newUser("username", "Root")), 400, "username", "refusal.user.username_taken", []any{"root"},
			map[string]string{"username": "Root", "display_name": "Carol Typed", "email": "carol@example.com", "groups": "ops"}},
		{"new user: password too short", "root", post("/admin/users/new", newUser("password", "short")), 400, "password", "refusal.user.password_short", []any{8}, map[string]string{"username": "carol", "password": ""}},
		{"new user: bad email", "root", post("/admin/users/new", newUser("email", "carol at example")), 400, "email", "refusal.user.email_invalid", []any{"carol at example"}, map[string]string{"email": "carol at example"}},
		{"new user: level above one's own", "adm", post("/admin/users/new", newUser("level", "system-admin")), 400, "level", "refusal.admin.level_above_own", nil, map[string]string{"username": "carol"}},
		{"user: bad group", "root", post("/admin/users/bob", userForm(url.Values{"level": {"user"}, "display_name": {"Bob Typed"}, "groups": {"dev, bad/group"}})), 400, "groups", "refusal.user.group_invalid", []any{"bad/group"},
			map[string]string{"display_name": "Bob Typed", "groups": "dev, bad/group"}},
		{"user: demote the last system administrator", "root", post("/admin/users/root", userForm(url.Values{"level": {"admin"}, "display_name": {"Root Typed"}})), 400, "level", "refusal.admin.last_system_admin", []any{"root"}, map[string]string{"display_name": "Root Typed"}},
		{"user: disable the last system administrator", "root", post("/admin/users/root", userForm(url.Values{"level": {"system-admin"}, "disabled": {"on"}})), 400, "disabled", "refusal.admin.last_system_admin", []any{"root"}, nil},
		{"user: above one's own level (the whole form)", "adm", post("/admin/users/root", userForm(url.Values{"level": {"system-admin"}})), 400, "", "refusal.admin.user_above_own", nil, nil},
		{"password reset: too short", "root", func(b *browser) answer {
			b.confirmPassword(passwords["root"])
			return b.post("/admin/users/bob/password", url.Values{"password": {"short"}})
		}, 400, "new_password", "refusal.user.password_short", []any{8}, map[string]string{"display_name": "Bob Stored"}},
		{"mail server: port out of range", "root", newMail("port", "99999"), 400, "port", "refusal.mail.port_range", nil, map[string]string{"name": "Inbox typed", "port": "99999", "password": ""}},
		{"mail server: host with a scheme", "root", newMail("host", "imaps://mail.example.com"), 400, "host", "refusal.mail.host_invalid", []any{"imaps://mail.example.com"}, map[string]string{"host": "imaps://mail.example.com"}},
		{"mail server: CA certificate not PEM", "root", newMail("ca_cert", "not a certificate"), 400, "ca_cert", "refusal.mail.ca_not_pem", nil, map[string]string{"ca_cert": "not a certificate"}},
		{"integration: scope with a quote", "root", newIntegration("scopes", `mail "all"`), 400, "scopes", "refusal.integration.scope_invalid", []any{`"all"`},
			map[string]string{"name": "Corp typed", "scopes": `mail
"all"`, "client_secret": ""}},
		{"integration: parameters not pairs", "root", newIntegration("authorization_parameters", "a=b&&=c"), 400, "authorization_parameters", "refusal.integration.params_invalid", nil, map[string]string{"authorization_parameters": "a=b&&=c"}},
		{"mail server edit: a new host without the password", "root", post("/admin/mail/"+storedMail.ID+"/edit", url.Values{"name": {"Stored inbox"}, "protocol": {"imap"},
			"host": {"mail.attacker.example"}, "port": {""}, "tls": {"implicit"}, "ca_cert": {""}, "username": {"u"}, "auth": {"password"}, "password": {""}}),
			400, "password", "refusal.mail.password_again", []any{"mail.example.com", 993}, map[string]string{"host": "mail.attacker.example"}},
		{"integration edit: a new token endpoint without the secret", "root", post("/admin/integrations/"+storedIntegration.ID+"/edit", url.Values{"provider": {"custom"}, "name": {"Stored IdP"},
			"description": {""}, "client_id": {"gh"}, "client_secret": {""}, "scopes": {""}, "issuer": {""}, "authorization_endpoint": {"https://idp.example.com/auth"},
			"token_endpoint": {"https://attacker.example/token"}, "userinfo_endpoint": {""}, "pkce": {"on"}, "authorization_parameters": {""}}),
			400, "client_secret", "refusal.integration.secret_again", nil, map[string]string{"token_endpoint": "https://attacker.example/token", "client_secret": ""}},
		{"re-authentication: wrong password", "dave", post("/admin/reauth", url.Values{"password": {"wrong"}, "next": {"/admin/apps"}}), 401, "password", "admin.reauth_failed", nil, map[string]string{"password": ""}},
		{"account: repeat differs", "erin", func(b *browser) answer { return b.changePassword("erin-password", "new-password", "new-passwort") },
			400, "new_password_repeat", "password.mismatch", nil, map[string]string{"new_password": "", "new_password_repeat": ""}},
		{"account: wrong current password", "erin", func(b *browser) answer { return b.changePassword("wrong", "new-password", "new-password") },
			401, "current_password", "password.wrong", nil, nil},
		{"account: new password too short", "erin", func(b *browser) answer { return b.changePassword("erin-password", "short", "short") },
			400, "new_password", "refusal.user.password_short", []any{8}, nil},
		{"sign-in: wrong password", "", func(b *browser) answer {
			page := b.get("/login")
			return b.do("POST", "/login", url.Values{"csrf_token": {hidden(page.body, "csrf_token")}, "username": {"Frank"}, "password": {"wrong"}})
		}, 401, "password", "login.failed", nil, map[string]string{"username": "Frank", "password": ""}},
	}
	for _, lang := range web.Languages {
		browsers := map[string]*browser{"": s.browser(lang)}
		for name, password := range passwords {
			browsers[name] = s.browser(lang)
			browsers[name].signIn(name, password)
		}
		for _, tc := range cases {
			t.Run(lang+"/"+tc.name, func(t *testing.T) {
				a := tc.do(browsers[tc.actor])
				if a.status != tc.status {
					t.Fatalf("%d, want %d", a.status, tc.status)
				}
				// The title is what a screen reader reads first of the page
				// that came back: it says the form was refused.
				title := regexp.MustCompile(`<title>([^<]*)</title>`).FindStringSubmatch(a.body)
				if prefix := s.msgs.T(lang, "page.refused_title", ""); title == nil || !strings.HasPrefix(html.UnescapeString(title[1]), prefix) {
					t.Errorf("the title %q does not begin with %q", title, prefix)
				}
				want := s.msgs.T(lang, tc.key, tc.args...)
				if got, ok := element(a.body, `role="alert"`); !ok || got != want {
					t.Errorf("the summary says %q, want %q", got, want)
				}
				marked := strings.Count(a.body, `aria-invalid="true"`)
				if tc.field == "" {
					if marked != 0 {
						t.Errorf("%d controls are marked invalid; a refusal of the whole form marks none", marked)
					}
					return
				}
				fields := controls(a.body, tc.field)
				if len(fields) == 0 {
					t.Fatalf("the page has no control %q", tc.field)
				}
				if marked != len(fields) {
					t.Errorf("%d controls are marked invalid, want the %d of %q only", marked, len(fields), tc.field)
				}
				// Focus goes to the field at fault (the first of a group),
				// where a keyboard or screen reader user then is.
				if !strings.Contains(fields[0], " autofocus") || strings.Count(a.body, " autofocus") != 1 {
					t.Errorf("the field at fault does not take the focus, alone: %s (%d autofocus on the page)", fields[0], strings.Count(a.body, " autofocus"))
				}
				for _, tag := range fields {
					described := regexp.MustCompile(`aria-describedby="([^"]*)"`).FindStringSubmatch(tag)
					if !strings.Contains(tag, `aria-invalid="true"`) || described == nil || !slices.Contains(strings.Fields(described[1]), tc.field+"-error") {
						t.Errorf("the field at fault is not marked and described by its message: %s", tag)
					}
				}
				if got, ok := element(a.body, `id="`+tc.field+`-error"`); !ok || got != want {
					t.Errorf("next to the field: %q, want %q", got, want)
				}
				for id, value := range tc.kept {
					if got := controlValue(a.body, id); got != value {
						t.Errorf("%s holds %q, want %q (what was typed)", id, got, value)
					}
				}
			})
		}
	}
	if bob, _ := s.gh.Users.ByUsername(ctx, "bob"); bob.DisplayName != "Bob Stored" {
		t.Errorf("a refused edit was saved: %+v", bob)
	}
}

// TestEmptyListsKnowTheSearch: a search of the applications or the users that
// finds nothing says so, naming the search, with a link that clears it —
// not the words of an empty list.
func TestEmptyListsKnowTheSearch(t *testing.T) {
	s := newSite(t)
	if _, err := s.gh.Users.Create(context.Background(), user.NewUser{Username: "root", Password: "root-password", Level: store.LevelSystemAdmin}); err != nil {
		t.Fatal(err)
	}
	for _, lang := range web.Languages {
		t.Run(lang, func(t *testing.T) {
			b := s.browser(lang)
			b.signIn("root", "root-password")
			if got, _ := element(b.get("/admin/apps").body, `class="empty"`); got != s.msgs.T(lang, "admin.no_apps") {
				t.Errorf("no applications: %q, want %q", got, s.msgs.T(lang, "admin.no_apps"))
			}
			for _, list := range []struct{ path, key string }{{"/admin/apps", "admin.no_app_match"}, {"/admin/users", "admin.no_user_match"}} {
				a := b.get(list.path + "?q=" + url.QueryEscape(`no <such> thing`))
				if a.status != http.StatusOK {
					t.Fatalf("%s: %d", list.path, a.status)
				}
				want := s.msgs.T(lang, list.key, `no <such> thing`)
				if got, ok := element(a.body, `class="empty"`); !ok || strings.TrimSpace(got) != want {
					t.Errorf("%s with a search that finds nothing: %q, want %q", list.path, got, want)
				}
				clear := `<a href="` + list.path + `">` + html.EscapeString(s.msgs.T(lang, "admin.clear_search")) + `</a>`
				if !strings.Contains(a.body, clear) {
					t.Errorf("%s: no link that clears the search (%s)", list.path, clear)
				}
				if strings.Contains(a.body, "<such>") {
					t.Errorf("%s: the search is not escaped", list.path)
				}
			}
		})
	}
}

// TestUserListPagesAndSearches: the users page shows 50 users at a time in
// username order, with links to the previous and next pages that keep the
// search, and finds users by a part of their username, display name or email.
func TestUserListPagesAndSearches(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	if _, err := s.gh.Users.Create(ctx, user.NewUser{Username: "root", Password: "root-password", Level: store.LevelSystemAdmin}); err != nil {
		t.Fatal(err)
	}
	for i := range 120 {
		n := user.NewUser{Username: fmt.Sprintf("user%03d", i), Password: "user-password", Level: store.LevelUser}
		if i == 7 {
			n.DisplayName, n.Email = "Zoë Example", "zoe@mail.example"
		}
		if _, err := s.gh.Users.Create(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	b := s.browser("en")
	b.signIn("root", "root-password")
	rowRE := regexp.MustCompile(`<td><a href="/admin/users/([^"]+)">`)
	list := func(path string) (rows []string, prev, next string) {
		t.Helper()
		a := b.get(path)
		if a.status != http.StatusOK {
			t.Fatalf("%s: %d", path, a.status)
		}
		for _, m := range rowRE.FindAllStringSubmatch(a.body, -1) {
			rows = append(rows, m[1])
		}
		if m := regexp.MustCompile(`href="([^"]*)" rel="prev"`).FindStringSubmatch(a.body); m != nil {
			prev = html.UnescapeString(m[1])
		}
		if m := regexp.MustCompile(`href="([^"]*)" rel="next"`).FindStringSubmatch(a.body); m != nil {
			next = html.UnescapeString(m[1])
		}
		return rows, prev, next
	}

	// Page by page through all 121.
	var all []string
	path, pages := "/admin/users", 0
	for path != "" {
		rows, prev, next := list(path)
		pages++
		if len(rows) > 50 {
			t.Fatalf("%s: %d users on a page", path, len(rows))
		}
		if (pages == 1) != (prev == "") {
			t.Errorf("%s: previous page %q", path, prev)
		}
		all = append(all, rows...)
		path = next
		if pages > 5 {
			t.Fatal("too many pages")
		}
	}
	if pages != 3 || len(all) != 121 || all[0] != "root" || all[1] != "user000" || all[120] != "user119" || !slices.IsSorted(all) {
		t.Errorf("%d pages of %d users from %q to %q, want 3 pages of 121 in username order", pages, len(all), all[0], all[len(all)-1])
	}
	if _, prev, _ := list("/admin/users?page=3"); prev != "/admin/users?page=2" {
		t.Errorf("page 3 links back to %q", prev)
	}

	// A search, paged too, keeps the search in its links.
	rows, _, next := list("/admin/users?q=USER0")
	if len(rows) != 50 || rows[0] != "user000" || next != "/admin/users?page=2&q=USER0" {
		t.Errorf("search user0: %d rows from %q, next %q", len(rows), rows[0], next)
	}
	if rows, prev, next := list(next); len(rows) != 50 || rows[49] != "user099" || next != "" || prev != "/admin/users?q=USER0" {
		t.Errorf("search user0, page 2: %q, previous %q, next %q", rows, prev, next)
	}
	if rows, _, _ := list("/admin/users?q=user11"); len(rows) != 10 || rows[0] != "user110" {
		t.Errorf("search user11: %q", rows)
	}
	for _, q := range []string{"zoë", "MAIL.EXAMPLE", "  user007  "} {
		if rows, _, _ := list("/admin/users?q=" + url.QueryEscape(q)); !slices.Equal(rows, []string{"user007"}) {
			t.Errorf("search %q: %q, want user007 (by display name, email or username)", q, rows)
		}
	}
	// Past the end, or a page that is not a number. Past the end the page
	// links to the first, not to the page before, which is as empty.
	a := b.get("/admin/users?page=99")
	if got, _ := element(a.body, `class="empty"`); strings.TrimSpace(got) != s.msgs.T("en", "admin.no_users_page") {
		t.Errorf("page 99 says %q", got)
	}
	if rows, prev, next := list("/admin/users?page=99"); len(rows) != 0 || prev != "" || next != "" {
		t.Errorf("page 99: %q, previous %q, next %q", rows, prev, next)
	}
	if rows, _, _ := list("/admin/users?page=banana"); len(rows) != 50 || rows[0] != "root" {
		t.Errorf("page=banana: %d rows from %q, want the first page", len(rows), rows[0])
	}
	if rows, _, _ := list("/admin/users?q=" + url.QueryEscape("a\x00b")); len(rows) != 0 {
		t.Errorf("a search with a NUL: %q, want nobody", rows)
	}
}

// uploadLogo's answer to a refused logo is the application's page again, with
// the reason by the logo form, in the page's language — also when the file
// is too large to be read at all.
func TestRefusedLogoShowsTheApplicationPage(t *testing.T) {
	s := newSite(t)
	if _, err := s.gh.Users.Create(context.Background(), user.NewUser{Username: "root", Password: "root-password", Level: store.LevelSystemAdmin}); err != nil {
		t.Fatal(err)
	}
	c := s.createClient(app.Registration{Name: "Wiki & Co"})
	cases := []struct {
		name   string
		file   []byte
		status int
		key    string
		args   []any
		send   string // "" the logo form; "form" an ordinary form post, not multipart; "broken" a multipart body that cannot be read
	}{
		{"not an image", []byte("<html><script>alert(1)</script></html>"), http.StatusBadRequest, "refusal.admin.logo_format", nil, ""},
		{"no file", nil, http.StatusBadRequest, "refusal.admin.logo_missing", nil, ""},
		{"a form that is not multipart", nil, http.StatusBadRequest, "refusal.admin.logo_missing", nil, "form"},
		{"a multipart body that cannot be read", nil, http.StatusBadRequest, "refusal.admin.logo_missing", nil, "broken"},
		{"too many pixels", pngOf(2000, 10), http.StatusBadRequest, "refusal.admin.logo_dimensions", []any{1024, 1024}, ""},
		{"too large to read", bytes.Repeat([]byte{0}, 600<<10), http.StatusRequestEntityTooLarge, "refusal.admin.logo_too_large", []any{256}, ""},
	}
	for _, lang := range web.Languages {
		b := s.browser(lang)
		b.signIn("root", "root-password")
		for _, tc := range cases {
			t.Run(lang+"/"+tc.name, func(t *testing.T) {
				var a answer
				switch tc.send {
				case "form":
					a = b.post("/admin/apps/"+c.ID+"/logo", url.Values{})
				case "broken":
					a = b.postRaw("/admin/apps/"+c.ID+"/logo", "multipart/form-data; boundary=xyz", "--xyz\r\nnot a part")
				default:
					a = b.uploadLogo(c.ID, tc.file)
				}
				if a.status != tc.status {
					t.Fatalf("%d, want %d", a.status, tc.status)
				}
				if m := regexp.MustCompile(`<h1>([^<]*)</h1>`).FindStringSubmatch(a.body); m == nil || html.UnescapeString(m[1]) != c.Name {
					t.Errorf("the answer's heading is %q, want the application's page (%q)", m, c.Name)
				}
				if !strings.Contains(a.body, `action="/admin/apps/`+c.ID+`/logo"`) || !strings.Contains(a.body, `<html lang="`+lang+`">`) {
					t.Fatalf("not the application's page in %s", lang)
				}
				want := s.msgs.T(lang, tc.key, tc.args...)
				if got, _ := element(a.body, `role="alert"`); got != want {
					t.Errorf("summary %q, want %q", got, want)
				}
				if got, _ := element(a.body, `id="logo-error"`); got != want {
					t.Errorf("by the logo form: %q, want %q", got, want)
				}
				// The language link shows the application's page, not a GET of the upload's path.
				other := map[string]string{"en": "ja", "ja": "en"}[lang]
				if !strings.Contains(a.body, `<a href="/admin/apps/`+c.ID+`?lang=`+other+`"`) {
					t.Errorf("the language link does not lead to the application's page")
				}
				if f := controls(a.body, "logo"); len(f) != 1 || !strings.Contains(f[0], `aria-invalid="true"`) || !strings.Contains(f[0], `aria-describedby="logo-error logo_help"`) {
					t.Errorf("the file field is not marked: %q", f)
				}
			})
		}
	}
	// Signed out, the too-large answer shows nothing of the application.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("logo", "logo.png")
	fw.Write(bytes.Repeat([]byte{0}, 600<<10))
	mw.Close()
	req, _ := http.NewRequest("POST", s.base+"/admin/apps/"+c.ID+"/logo", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := s.browser("en").c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("signed out: %d to %q, want 303 to the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestAuditLogNamesApplications: the audit log names an application, linked
// to its page, with the client ID small beside it; an application deleted
// since shows its client ID, unlinked, as a deleted application.
func TestAuditLogNamesApplications(t *testing.T) {
	s := newSite(t)
	if _, err := s.gh.Users.Create(context.Background(), user.NewUser{Username: "root", Password: "root-password", Level: store.LevelSystemAdmin}); err != nil {
		t.Fatal(err)
	}
	for _, lang := range web.Languages {
		t.Run(lang, func(t *testing.T) {
			b := s.browser(lang)
			b.signIn("root", "root-password")
			wiki := s.createClient(app.Registration{Name: "Wiki <" + lang + ">"})
			old := s.createClient(app.Registration{Name: "Old " + lang})
			for _, path := range []string{"/admin/apps/" + wiki.ID + "/enabled", "/admin/apps/" + old.ID + "/delete"} {
				if a := b.post(path, url.Values{"enabled": {"false"}}); a.status != http.StatusSeeOther {
					t.Fatalf("%s: %d", path, a.status)
				}
			}
			a := b.get("/admin/audit")
			cell := func(id string) string {
				for _, m := range regexp.MustCompile(`(?s)<td class="app"[^>]*>(.*?)</td>`).FindAllStringSubmatch(a.body, -1) {
					if strings.Contains(m[1], id) {
						return m[1]
					}
				}
				t.Fatalf("no audit row names %s", id)
				return ""
			}
			named := cell(wiki.ID)
			wantLink := `<a class="app-name" href="/admin/apps/` + wiki.ID + `" title="` + wiki.ID + `">` + html.EscapeString(wiki.Name) + `</a>`
			if !strings.Contains(named, wantLink) || !strings.Contains(named, `<code class="client-id">`+wiki.ID+`</code>`) {
				t.Errorf("the application's cell %s, want its name linked (%s) and its client ID", named, wantLink)
			}
			gone := cell(old.ID)
			if strings.Contains(gone, "href") || !strings.Contains(gone, html.EscapeString(s.msgs.T(lang, "admin.app_deleted"))) || !strings.Contains(gone, `<code class="client-id">`+old.ID+`</code>`) {
				t.Errorf("the deleted application's cell %s, want its client ID, unlinked, as deleted", gone)
			}
		})
	}
}

// TestApplicationPageShowsEndpoints: an application's page shows the
// metadata, authorization and token URLs — those the metadata document
// gives — each in a field with a copy button.
func TestApplicationPageShowsEndpoints(t *testing.T) {
	s := newSite(t)
	if _, err := s.gh.Users.Create(context.Background(), user.NewUser{Username: "root", Password: "root-password", Level: store.LevelSystemAdmin}); err != nil {
		t.Fatal(err)
	}
	c := s.createClient(app.Registration{Name: "Wiki"})
	md := s.browser("en").get(oauth.PathMetadata)
	var meta map[string]any
	if err := json.Unmarshal([]byte(md.body), &meta); err != nil {
		t.Fatalf("metadata: %v", err)
	}
	want := map[string]string{
		"endpoint_metadata":  meta["issuer"].(string) + oauth.PathMetadata,
		"endpoint_authorize": meta["authorization_endpoint"].(string),
		"endpoint_token":     meta["token_endpoint"].(string),
	}
	for _, lang := range web.Languages {
		b := s.browser(lang)
		b.signIn("root", "root-password")
		a := b.get("/admin/apps/" + c.ID)
		for id, u := range want {
			if !strings.HasPrefix(u, s.base+"/") {
				t.Fatalf("%s: %q is not on %s", id, u, s.base)
			}
			if got := controlValue(a.body, id); got != u {
				t.Errorf("%s: %s shows %q, want %q", lang, id, got, u)
			}
			if !strings.Contains(a.body, `class="copy" id="copy_`+id+`" data-copy="`+id+`"`) {
				t.Errorf("%s: no copy button for %s", lang, id)
			}
			key := "admin." + id
			if got, _ := element(a.body, `id="`+id+`_label"`); got != s.msgs.T(lang, key) {
				t.Errorf("%s: %s is labelled %q, want %q", lang, id, got, s.msgs.T(lang, key))
			}
		}
	}
}

// TestFavicon: the pages link an SVG and a PNG icon, both served with their
// type from the site itself (which the CSP's img-src allows), and
// /favicon.ico answers with the PNG.
func TestFavicon(t *testing.T) {
	s := newSite(t)
	b := s.browser("en")
	page := b.get("/login")
	for _, link := range []string{
		`<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">`,
		`<link rel="icon" href="/static/favicon.png" type="image/png" sizes="32x32">`,
	} {
		if !strings.Contains(page.body, link) {
			t.Errorf("the page lacks %s", link)
		}
	}
	req, _ := http.NewRequest("GET", s.base+"/login", nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self'") {
		t.Errorf("CSP %q does not let the page load its icon", csp)
	}
	for _, f := range []struct{ path, contentType string }{
		{"/static/favicon.svg", "image/svg+xml"},
		{"/static/favicon.png", "image/png"},
		{"/favicon.ico", "image/png"},
	} {
		req, _ := http.NewRequest("GET", s.base+f.path, nil)
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != f.contentType || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %q, want 200 %s with nosniff", f.path, resp.StatusCode, resp.Header.Get("Content-Type"), f.contentType)
			continue
		}
		if f.contentType == "image/png" {
			if cfg, err := png.DecodeConfig(&body); err != nil || cfg.Width != 32 || cfg.Height != 32 {
				t.Errorf("%s: not a 32×32 PNG: %v %+v", f.path, err, cfg)
			}
		} else if !strings.HasPrefix(body.String(), "<svg ") {
			t.Errorf("%s: not an SVG", f.path)
		}
	}
}

// TestApplicationAboveTheViewersLevel: an administrator whose level is below
// one of an application's scopes may look at it but not manage it (the
// services refuse every change), so its page offers no control that could
// only be refused — no edit, credentials, rotation, enabling, deletion or
// logo — and says why in the page's language; a system administrator sees
// them all.
func TestApplicationAboveTheViewersLevel(t *testing.T) {
	s := newSite(t)
	for _, nu := range []user.NewUser{
		{Username: "root", Password: "root-password", Level: store.LevelSystemAdmin},
		{Username: "adm", Password: "adm-password", Level: store.LevelAdmin},
	} {
		if _, err := s.gh.Users.Create(context.Background(), nu); err != nil {
			t.Fatal(err)
		}
	}
	c := s.createClient(app.Registration{Name: "Admin scripts", Scopes: []string{"READ", "SYSTEM_ADMIN"}})
	plain := s.createClient(app.Registration{Name: "Wiki", Scopes: []string{"READ"}})
	controls := []string{
		`href="/admin/apps/` + c.ID + `/edit"`,
		`href="/admin/apps/` + c.ID + `/credentials"`,
		`href="/admin/apps/` + c.ID + `/rotate"`,
		`action="/admin/apps/` + c.ID + `/enabled"`,
		`href="/admin/apps/` + c.ID + `/delete"`,
		`action="/admin/apps/` + c.ID + `/logo"`,
	}
	for _, lang := range web.Languages {
		notice := s.msgs.T(lang, "admin.app_beyond_level", "SYSTEM_ADMIN")
		adm := s.browser(lang)
		adm.signIn("adm", "adm-password")
		page := adm.get("/admin/apps/" + c.ID)
		if page.status != http.StatusOK || !strings.Contains(page.body, html.EscapeString(notice)) {
			t.Fatalf("%s: an administrator's view (%d) does not say %q", lang, page.status, notice)
		}
		for _, control := range controls {
			if strings.Contains(page.body, control) {
				t.Errorf("%s: an administrator is offered %s", lang, control)
			}
		}
		// The forms, asked for by their address, lead back to that page.
		for _, form := range []string{"/edit", "/delete"} {
			if a := adm.get("/admin/apps/" + c.ID + form); a.status != http.StatusSeeOther || a.location != "/admin/apps/"+c.ID {
				t.Errorf("%s: an administrator asking for %s: %d %q", lang, form, a.status, a.location)
			}
		}
		if other := adm.get("/admin/apps/" + plain.ID); !strings.Contains(other.body, `href="/admin/apps/`+plain.ID+`/edit"`) || strings.Contains(other.body, html.EscapeString(notice)) {
			t.Errorf("%s: an application within the administrator's level is not theirs to edit", lang)
		}
		root := s.browser(lang)
		root.signIn("root", "root-password")
		page = root.get("/admin/apps/" + c.ID)
		for _, control := range controls {
			if !strings.Contains(page.body, control) {
				t.Errorf("%s: a system administrator is not offered %s", lang, control)
			}
		}
		if strings.Contains(page.body, html.EscapeString(notice)) {
			t.Errorf("%s: a system administrator is told they may not manage it", lang)
		}
	}
}

// TestRefusedEndpointMarksItsField: an integration's URL refusal names the
// field in its first argument (as the input rules do), and that field is
// the one marked, whichever of the endpoints it is.
func TestRefusedEndpointMarksItsField(t *testing.T) {
	s := newSite(t)
	if _, err := s.gh.Users.Create(context.Background(), user.NewUser{Username: "root", Password: "root-password", Level: store.LevelSystemAdmin}); err != nil {
		t.Fatal(err)
	}
	b := s.browser("en")
	b.signIn("root", "root-password")
	for _, field := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint"} {
		f := url.Values{"provider": {"custom"}, "name": {"Corp"}, "description": {""}, "client_id": {"gh"}, "client_secret": {""},
			"scopes": {"mail"}, "issuer": {""}, "authorization_endpoint": {"https://idp.example.com/auth"}, "token_endpoint": {"https://idp.example.com/token"},
			"userinfo_endpoint": {""}, "pkce": {"on"}, "authorization_parameters": {""}}
		f.Set(field, "notaurl")
		a := b.post("/admin/integrations/new", f)
		tags := controls(a.body, field)
		if a.status != http.StatusBadRequest || len(tags) != 1 || !strings.Contains(tags[0], `aria-invalid="true"`) || strings.Count(a.body, `aria-invalid="true"`) != 1 {
			t.Errorf("%s not a URL: %d, the field %q, %d fields marked", field, a.status, tags, strings.Count(a.body, `aria-invalid="true"`))
		}
	}
}

// TestDeleteConfirmationsNameWhatTheyDelete: a delete confirmation's title
// (what a screen reader announces first, and a tab shows) names the mail
// server or integration, as an application's does.
func TestDeleteConfirmationsNameWhatTheyDelete(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	if _, err := s.gh.Users.Create(ctx, user.NewUser{Username: "root", Password: "root-password", Level: store.LevelSystemAdmin}); err != nil {
		t.Fatal(err)
	}
	root := audit.Actor{Username: "root", Level: store.LevelSystemAdmin}
	m, err := s.gh.Mail.Create(ctx, root, mail.Settings{Name: "Support inbox", Protocol: mail.IMAP, Host: "mail.example.com", TLS: mail.TLSImplicit, Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.gh.Integrations.Create(ctx, root, integration.Settings{Provider: integration.Google, Name: "Team Gmail"})
	if err != nil {
		t.Fatal(err)
	}
	b := s.browser("en")
	b.signIn("root", "root-password")
	for path, name := range map[string]string{"/admin/mail/" + m.ID + "/delete": "Support inbox", "/admin/integrations/" + in.ID + "/delete": "Team Gmail"} {
		page := b.get(path)
		title := regexp.MustCompile(`<title>([^<]*)</title>`).FindStringSubmatch(page.body)
		if page.status != http.StatusOK || title == nil || !strings.Contains(html.UnescapeString(title[1]), name) {
			t.Errorf("%s: %d, title %q; want it to name %s", path, page.status, title, name)
		}
	}
}
