package web_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
	"github.com/gatehouse/gatehouse/internal/web"
)

// TestConsoleFormsAsThePageMakesThem: a console or account form that the
// page could not have sent — a field repeated, a value that is not UTF-8, a
// field the page always sends left out, no grant type ticked, a switch with
// neither of its values — is 400 and changes nothing, where the first value
// of two, or the default of a missing one, used to be taken: a user edit
// without its level demoted the user, an edit with no grant ticked gave the
// application the default grants.
func TestConsoleFormsAsThePageMakesThem(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	for _, n := range []user.NewUser{
		{Username: "root", Password: "root-password", Level: store.LevelSystemAdmin},
		{Username: "alice", Password: "alice-password", Level: store.LevelAdmin, DisplayName: "Alice", Email: "alice@example.com"},
	} {
		if _, err := s.gh.Users.Create(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	robot := s.createClient(app.Registration{Name: "Robot", Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}})
	b := s.browser("en")
	b.signIn("root", "root-password")

	userForm := url.Values{"display_name": {"Alice"}, "email": {"alice@example.com"}, "level": {"admin"}, "groups": {""}}
	with := func(f url.Values, key string, values ...string) url.Values {
		out := url.Values{}
		for k, v := range f {
			out[k] = slices.Clone(v)
		}
		if values == nil {
			delete(out, key)
		} else {
			out[key] = values
		}
		return out
	}
	robotForm := appForm(url.Values{"name": {"Robot"}, "redirect_uris": {""}, "grant": {app.GrantClientCredentials},
		"subscriber_users": {""}, "subscriber_groups": {""}, "allowed_ips": {""}})
	newApp := appForm(url.Values{"name": {"Second"}, "subscriber_users": {""}, "subscriber_groups": {""}, "allowed_ips": {""}})
	posts := []struct {
		name, path string
		form       url.Values
	}{
		{"an application's name twice", "/admin/apps/new", with(newApp, "name", "Second", "Third")},
		{"a new application without a grant type", "/admin/apps/new", with(newApp, "grant")},
		{"a new application without its description", "/admin/apps/new", with(newApp, "description")},
		{"an edit without a grant type", "/admin/apps/" + robot.ID + "/edit", with(robotForm, "grant")},
		{"an edit with a type that is not UTF-8", "/admin/apps/" + robot.ID + "/edit", with(robotForm, "type", "\xff\xfe")},
		{"an edit with an unknown field that is not UTF-8", "/admin/apps/" + robot.ID + "/edit", with(robotForm, "zzz", "\xff")},
		{"an edit without its redirect URIs", "/admin/apps/" + robot.ID + "/edit", with(robotForm, "redirect_uris")},
		{"an edit with the form token twice", "/admin/apps/" + robot.ID + "/edit", with(robotForm, "csrf_token", b.csrf(), b.csrf())},
		{"enabled neither true nor false", "/admin/apps/" + robot.ID + "/enabled", url.Values{"enabled": {"maybe"}}},
		{"enabled left out", "/admin/apps/" + robot.ID + "/enabled", url.Values{}},
		{"a new user's level twice", "/admin/users/new", url.Values{"username": {"eve"}, "password": {"eve-password"}, "display_name": {""}, "email": {""}, "groups": {""}, "level": {"user", "system-admin"}}},
		{"a user edit without the level", "/admin/users/alice", with(userForm, "level")},
		{"a user edit with an empty level", "/admin/users/alice", with(userForm, "level", "")},
		{"a user edit without the display name", "/admin/users/alice", with(userForm, "display_name")},
		{"a user edit without the email", "/admin/users/alice", with(userForm, "email")},
		{"a password reset with the password twice", "/admin/users/alice/password", url.Values{"password": {"new-password-1", "new-password-2"}}},
		{"re-authentication with the password twice", "/admin/reauth", url.Values{"password": {"root-password", "x"}, "next": {"/admin/apps"}}},
		{"a password change with the new password twice", web.PathPasswordChange, url.Values{"current_password": {"root-password"},
			"new_password": {"new-password-1", "new-password-2"}, "new_password_repeat": {"new-password-1"}}},
	}
	auditBefore := auditCount(t, s)
	for _, p := range posts {
		t.Run(p.name, func(t *testing.T) {
			form := with(p.form, "csrf_token", b.csrf())
			if tokens := p.form["csrf_token"]; tokens != nil {
				form["csrf_token"] = tokens
			}
			if a := b.do("POST", p.path, form); a.status != http.StatusBadRequest {
				t.Fatalf("%d, want 400", a.status)
			}
		})
	}
	// Two files in the logo form.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf_token", b.csrf())
	for range 2 {
		fw, _ := mw.CreateFormFile("logo", "logo.png")
		fw.Write(pngOf(8, 8))
	}
	mw.Close()
	if a := b.postRaw("/admin/apps/"+robot.ID+"/logo", mw.FormDataContentType(), body.String()); a.status != http.StatusBadRequest {
		t.Errorf("a logo form with two files: %d, want 400", a.status)
	}

	// Nothing changed.
	if n := auditCount(t, s); n != auditBefore {
		t.Errorf("refused forms were audited: %d events, then %d", auditBefore, n)
	}
	apps, err := s.gh.Admin.ListApps(ctx, "")
	if err != nil || len(apps) != 1 {
		t.Fatalf("applications after refused forms: %d, %v", len(apps), err)
	}
	if c := apps[0].Client; !slices.Equal(c.Grants, []string{app.GrantClientCredentials}) || !c.Enabled || c.Name != "Robot" {
		t.Errorf("the application changed: grants %v, enabled %v, name %q", c.Grants, c.Enabled, c.Name)
	}
	if _, _, err := s.gh.Admin.Logo(ctx, robot.ID); err == nil {
		t.Error("a refused logo form set a logo")
	}
	alice, err := s.gh.Users.ByUsername(ctx, "alice")
	if err != nil || alice.Level != store.LevelAdmin || alice.DisplayName != "Alice" || alice.Email != "alice@example.com" {
		t.Errorf("alice changed: %+v, %v", alice, err)
	}
	if _, err := s.gh.Users.ByUsername(ctx, "eve"); err == nil {
		t.Error("a refused form created eve")
	}
	for username, password := range map[string]string{"alice": "alice-password", "root": "root-password"} {
		if _, err := s.gh.Users.Authenticate(ctx, username, password, netip.Addr{}); err != nil {
			t.Errorf("%s's password changed: %v", username, err)
		}
	}

	// The same forms as the page makes them still work.
	if a := b.do("POST", "/admin/users/alice", with(userForm, "csrf_token", b.csrf())); a.status != http.StatusSeeOther {
		t.Errorf("the user form as the page makes it: %d", a.status)
	}
	if a := b.do("POST", "/admin/apps/"+robot.ID+"/edit", with(robotForm, "csrf_token", b.csrf())); a.status != http.StatusSeeOther {
		t.Errorf("the application form as the page makes it: %d", a.status)
	}
	if a := b.do("POST", "/admin/apps/"+robot.ID+"/enabled", url.Values{"csrf_token": {b.csrf()}, "enabled": {"false"}}); a.status != http.StatusSeeOther {
		t.Errorf("disabling: %d", a.status)
	}
}

func auditCount(t *testing.T, s *site) int {
	t.Helper()
	events, err := s.gh.Admin.Audit(context.Background(), store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(events)
}
