package adminapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestUsers(t *testing.T) {
	f := newFixture(t)

	// Create.
	r := f.admin.do("POST", adminPathUser, map[string]any{
		"username": "Carol", "password": "carol-password", "display_name": "Carol C", "email": "carol@example.com",
		"level": "admin", "groups": []string{"staff", " staff ", "ops"},
	})
	want(t, r, http.StatusCreated, "")
	if r.str("username") != "carol" || r.str("level") != "admin" || r.str("display_name") != "Carol C" ||
		!slices.Equal(anyStrings(r.body["groups"]), []string{"staff", "ops"}) || r.header.Get("Location") != adminPathUser+"/carol" {
		t.Fatalf("created: %s", r.raw)
	}
	if _, has := r.body["password"]; has {
		t.Fatal("a user answer holds a password")
	}
	for _, k := range []string{"id", "username", "display_name", "email", "level", "groups", "disabled", "created_at", "updated_at"} {
		if _, ok := r.body[k]; !ok {
			t.Errorf("field %q missing", k)
		}
	}
	want(t, f.admin.do("POST", adminPathUser, map[string]any{"username": "carol", "password": "carol-password"}), http.StatusBadRequest, "invalid_request")
	want(t, f.admin.do("POST", adminPathUser, map[string]any{"username": "dan", "password": "short"}), http.StatusBadRequest, "invalid_request")
	want(t, f.admin.do("POST", adminPathUser, map[string]any{"username": "-bad-", "password": "long-enough"}), http.StatusBadRequest, "invalid_request")
	// An administrator cannot create a system administrator; a system administrator can.
	want(t, f.admin.do("POST", adminPathUser, map[string]any{"username": "eve", "password": "eve-password", "level": "system-admin"}), http.StatusBadRequest, "invalid_request")
	want(t, f.root.do("POST", adminPathUser, map[string]any{"username": "sam", "password": "sam-password", "level": "system-admin"}), http.StatusCreated, "")

	// List and get.
	r = f.admin.do("GET", adminPathUser, nil)
	want(t, r, http.StatusOK, "")
	var names []string
	for _, u := range r.list("users") {
		names = append(names, u.(map[string]any)["username"].(string))
	}
	for _, n := range []string{"root", "ada", "uma", "carol", "sam"} {
		if !slices.Contains(names, n) {
			t.Errorf("list lacks %s: %v", n, names)
		}
	}
	want(t, f.admin.do("GET", adminPathUser+"/CAROL", nil), http.StatusOK, "")
	r = f.admin.do("GET", adminPathUser+"/nobody", nil)
	want(t, r, http.StatusNotFound, "not_found")
	if r.str("message") != "no such user" {
		t.Fatalf("message %q", r.str("message"))
	}

	// Patch: only what is sent changes.
	r = f.admin.do("PATCH", adminPathUser+"/carol", map[string]any{"email": "c@example.com", "groups": []string{"ops"}})
	want(t, r, http.StatusOK, "")
	if r.str("email") != "c@example.com" || r.str("display_name") != "Carol C" || r.str("level") != "admin" ||
		!slices.Equal(anyStrings(r.body["groups"]), []string{"ops"}) {
		t.Fatalf("patched: %s", r.raw)
	}
	r = f.admin.do("PATCH", adminPathUser+"/carol", map[string]any{"level": "user", "disabled": true})
	want(t, r, http.StatusOK, "")
	if r.str("level") != "user" || r.body["disabled"] != true {
		t.Fatalf("patched: %s", r.raw)
	}
	want(t, f.admin.do("PATCH", adminPathUser+"/nobody", map[string]any{"email": "x@example.com"}), http.StatusNotFound, "not_found")
	// An administrator can neither raise anyone above their own level nor touch a system administrator.
	want(t, f.admin.do("PATCH", adminPathUser+"/uma", map[string]any{"level": "system-admin"}), http.StatusBadRequest, "invalid_request")
	want(t, f.admin.do("PATCH", adminPathUser+"/root", map[string]any{"email": "x@example.com"}), http.StatusBadRequest, "invalid_request")

	// Reset a password: the old one stops working and the user's sessions end.
	umaSession := f.withSession("uma", userPassword)
	reset := func(username, password, yours string) result {
		return f.admin.do("POST", adminPathUser+"/"+username+"/password", map[string]string{"password": password, "your_password": yours})
	}
	// Only against the caller's own password, for a token too: neither no
	// password nor someone else's (the user's old one) sets anything.
	want(t, f.admin.do("POST", adminPathUser+"/uma/password", map[string]string{"password": "brand-new-password"}), http.StatusForbidden, "invalid_password")
	want(t, reset("uma", "brand-new-password", userPassword), http.StatusForbidden, "invalid_password")
	if _, err := f.node.Users.Authenticate(t.Context(), "uma", userPassword, netipLoopback); err != nil {
		t.Fatalf("a refused reset changed the password: %v", err)
	}
	want(t, reset("uma", "short", adaPassword), http.StatusBadRequest, "invalid_request")
	want(t, reset("uma", "brand-new-password", adaPassword), http.StatusNoContent, "")
	if _, err := f.node.Users.Authenticate(t.Context(), "uma", userPassword, netipLoopback); err == nil {
		t.Fatal("the old password still works")
	}
	if _, err := f.node.Users.Authenticate(t.Context(), "uma", "brand-new-password", netipLoopback); err != nil {
		t.Fatalf("the new password: %v", err)
	}
	if r := umaSession.do("GET", adminPathUser, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("session after a password reset: %d", r.status)
	}
	want(t, reset("nobody", "long-enough-1", ""), http.StatusNotFound, "not_found")

	// Sign out everywhere.
	adaSession := f.withSession("ada", adaPassword)
	want(t, adaSession.do("GET", adminPathUser, nil), http.StatusOK, "")
	want(t, f.root.do("POST", adminPathUser+"/ada/signout", nil), http.StatusNoContent, "")
	want(t, adaSession.do("GET", adminPathUser, nil), http.StatusUnauthorized, "unauthorized")
	want(t, f.admin.do("POST", adminPathUser+"/nobody/signout", nil), http.StatusNotFound, "not_found")

	// Audited.
	r = f.admin.do("GET", "/rest/gatehouse/latest/audit?kind=user.&user=carol", nil)
	var kinds []string
	for _, ev := range r.list("events") {
		kinds = append(kinds, ev.(map[string]any)["kind"].(string))
	}
	if !slices.Equal(kinds, []string{"user.update", "user.update", "user.create"}) {
		t.Fatalf("carol's audit: %v", kinds)
	}
}

// The last enabled system administrator can be neither demoted nor disabled.
func TestLastSystemAdministrator(t *testing.T) {
	f := newFixture(t)
	for _, change := range []map[string]any{{"level": "admin"}, {"level": "user"}, {"disabled": true}} {
		r := f.root.do("PATCH", adminPathUser+"/root", change)
		want(t, r, http.StatusBadRequest, "invalid_request")
	}
	if r := f.root.do("GET", adminPathUser+"/root", nil); r.str("level") != "system-admin" || r.body["disabled"] != false {
		t.Fatalf("root changed: %s", r.raw)
	}
	// With a second one, the first may step down.
	want(t, f.root.do("POST", adminPathUser, map[string]any{"username": "sam", "password": "sam-password", "level": "system-admin"}), http.StatusCreated, "")
	want(t, f.root.do("PATCH", adminPathUser+"/root", map[string]any{"level": "admin"}), http.StatusOK, "")
}

func TestGroups(t *testing.T) {
	f := newFixture(t)
	want(t, f.admin.do("POST", adminPathUser, map[string]any{"username": "carol", "password": "carol-password", "groups": []string{"ops", "staff"}}), http.StatusCreated, "")
	r := f.admin.do("GET", "/rest/gatehouse/latest/groups", nil)
	want(t, r, http.StatusOK, "")
	got := map[string][]string{}
	var order []string
	for _, g := range r.list("groups") {
		m := g.(map[string]any)
		got[m["name"].(string)] = anyStrings(m["members"])
		order = append(order, m["name"].(string))
	}
	if !slices.Equal(order, []string{"admins", "ops", "staff"}) {
		t.Fatalf("groups %v", order)
	}
	if !slices.Equal(got["staff"], []string{"ada", "carol", "uma"}) || !slices.Equal(got["admins"], []string{"ada"}) || !slices.Equal(got["ops"], []string{"carol"}) {
		t.Fatalf("members %v", got)
	}
}

// An administrator may not end a system administrator's sessions; a system
// administrator may, and anyone may end their own.
func TestSignOutRespectsLevels(t *testing.T) {
	f := newFixture(t)
	rootSession := f.withSession("root", rootPassword)
	r := f.admin.do("POST", adminPathUser+"/root/signout", nil)
	want(t, r, http.StatusBadRequest, "invalid_request")
	want(t, rootSession.do("GET", adminPathUser, nil), http.StatusOK, "")
	adaSession := f.withSession("ada", adaPassword)
	want(t, adaSession.do("POST", adminPathUser+"/ada/signout", nil), http.StatusNoContent, "")
	want(t, f.root.do("POST", adminPathUser+"/uma/signout", nil), http.StatusNoContent, "")
}

// Disabling a user revokes every token of theirs: enabling them again
// revives none.
func TestDisablingRevokesTokens(t *testing.T) {
	f := newFixture(t)
	uma := f.accessToken("uma", userPassword, "READ")
	if me := f.withToken(uma).do("GET", "/rest/api/latest/myself", nil); me.status != http.StatusOK {
		t.Fatalf("uma's token before: %d %s", me.status, me.raw)
	}
	want(t, f.admin.do("PATCH", adminPathUser+"/uma", map[string]any{"disabled": true}), http.StatusOK, "")
	want(t, f.admin.do("PATCH", adminPathUser+"/uma", map[string]any{"disabled": false}), http.StatusOK, "")
	if me := f.withToken(uma).do("GET", "/rest/api/latest/myself", nil); me.status != http.StatusUnauthorized {
		t.Fatalf("uma's token after disable and enable: %d %s; want 401", me.status, me.raw)
	}
	r := f.admin.do("GET", "/rest/gatehouse/latest/audit?kind=user.update&user=uma", nil)
	if evs := r.list("events"); len(evs) == 0 || !strings.Contains(evs[len(evs)-1].(map[string]any)["detail"].(string), "every token revoked") {
		t.Fatalf("the disable is not audited with its revocation: %s", r.raw)
	}
}

// TestUserListPages: with q, limit or page the list comes a page at a time,
// in username order, each page linking the next until the last.
func TestUserListPages(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"pia", "pete", "paul", "umberto"} {
		f.createUser(name, "long-enough-password", store.LevelUser)
	}
	everyone := f.admin.do("GET", adminPathUser, nil)
	want(t, everyone, http.StatusOK, "")
	var all []string
	for _, u := range everyone.list("users") {
		all = append(all, u.(map[string]any)["username"].(string))
	}
	if len(all) != 7 || everyone.body["next"] != "" {
		t.Fatalf("every user: %v, next %v", all, everyone.body["next"])
	}
	slices.Sort(all)

	var paged []string
	pages := 0
	for next := adminPathUser + "?limit=2"; next != ""; pages++ {
		if pages > 4 {
			t.Fatalf("no last page after %v", paged)
		}
		r := f.admin.do("GET", next, nil)
		want(t, r, http.StatusOK, "")
		if n := len(r.list("users")); n == 0 || n > 2 {
			t.Fatalf("%s: %d users", next, n)
		}
		for _, u := range r.list("users") {
			paged = append(paged, u.(map[string]any)["username"].(string))
		}
		next, _ = r.body["next"].(string)
	}
	if !slices.Equal(paged, all) || pages != 4 {
		t.Fatalf("%d pages of %v; want 4 of %v", pages, paged, all)
	}

	r := f.admin.do("GET", adminPathUser+"?q=UM", nil)
	want(t, r, http.StatusOK, "")
	var found []string
	for _, u := range r.list("users") {
		found = append(found, u.(map[string]any)["username"].(string))
	}
	if !slices.Equal(found, []string{"uma", "umberto"}) || r.body["next"] != "" {
		t.Fatalf("q=UM: %v, next %v", found, r.body["next"])
	}
	for _, bad := range []string{"limit=0", "limit=1001", "page=0", "page=100001", "page=two", "sort=username"} {
		want(t, f.admin.do("GET", adminPathUser+"?"+bad, nil), http.StatusBadRequest, "invalid_request")
	}
}

// TestListsOfEveryUserCrossPages: the list of every user and the group list
// read the users a page at a time (500); over several pages they are the
// same users, in the same order, as the paged search lists, and the groups
// hold each member once.
func TestListsOfEveryUserCrossPages(t *testing.T) {
	f := newFixture(t)
	const many = 1_100 // with the fixture's three: three pages
	now := time.Now()
	for i := range many {
		name := fmt.Sprintf("member-%04d", i)
		groups := []string{fmt.Sprint("team-", i%3)}
		if err := f.node.Store.CreateUser(t.Context(), store.User{ID: name, Username: name, PasswordHash: "unused",
			Groups: groups, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	everyone := f.admin.do("GET", adminPathUser, nil)
	want(t, everyone, http.StatusOK, "")
	var all []string
	for _, u := range everyone.list("users") {
		all = append(all, u.(map[string]any)["username"].(string))
	}
	var paged []string
	for next := adminPathUser + "?limit=1000"; next != ""; {
		r := f.admin.do("GET", next, nil)
		want(t, r, http.StatusOK, "")
		for _, u := range r.list("users") {
			paged = append(paged, u.(map[string]any)["username"].(string))
		}
		next, _ = r.body["next"].(string)
	}
	if len(all) != many+3 || !slices.Equal(all, paged) || everyone.body["next"] != "" {
		t.Fatalf("every user: %d (next %v); the paged search: %d; want %d, the same", len(all), everyone.body["next"], len(paged), many+3)
	}

	r := f.admin.do("GET", "/rest/gatehouse/latest/groups", nil)
	want(t, r, http.StatusOK, "")
	members := map[string][]string{}
	for _, g := range r.list("groups") {
		m := g.(map[string]any)
		members[m["name"].(string)] = anyStrings(m["members"])
	}
	for team := range 3 {
		var want []string
		for i := team; i < many; i += 3 {
			want = append(want, fmt.Sprintf("member-%04d", i))
		}
		if got := members[fmt.Sprint("team-", team)]; !slices.Equal(got, want) {
			t.Errorf("team-%d: %d members, want %d", team, len(got), len(want))
		}
	}
	if len(members) != 5 { // and the fixture's admins and staff
		t.Errorf("groups: %d, want 5", len(members))
	}
}
