package adminapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/adminapi"
	"github.com/gatehouse/gatehouse/internal/app"
)

func TestGrants(t *testing.T) {
	f := newFixture(t)
	in := f.newIntrospector()
	umaToken := f.accessToken("uma", userPassword, "READ")
	c, secretValue := f.createClient(app.Registration{Name: "Robot", Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}})
	robotToken, _ := f.tokenRequest(url.Values{"grant_type": {"client_credentials"}, "scope": {"READ"}}, c.ID, secretValue).body["access_token"].(string)

	// By user.
	r := f.admin.do("GET", "/rest/gatehouse/latest/grants?username=UMA", nil)
	want(t, r, http.StatusOK, "")
	grants := r.list("grants")
	if len(grants) != 1 {
		t.Fatalf("uma's grants: %s", r.raw)
	}
	g := grants[0].(map[string]any)
	if g["username"] != "uma" || g["client_name"] != "token for uma" || g["active_tokens"] != float64(2) ||
		len(g["scopes"].([]any)) != 1 || g["granted_at"] == nil || g["last_used"] == nil {
		t.Fatalf("grant: %v", g)
	}

	// By application; client credentials have no user.
	r = f.admin.do("GET", "/rest/gatehouse/latest/grants?client_id="+c.ID, nil)
	want(t, r, http.StatusOK, "")
	if l := r.list("grants"); len(l) != 1 || l[0].(map[string]any)["username"] != nil || l[0].(map[string]any)["client_id"] != c.ID {
		t.Fatalf("robot's grants: %s", r.raw)
	}

	// All: the fixture's two, uma's and the robot's.
	all := f.admin.do("GET", "/rest/gatehouse/latest/grants", nil)
	if l := all.list("grants"); len(l) != 4 || all.body["total"] != float64(4) {
		t.Fatalf("%d grants, total %v; want 4, 4", len(l), all.body["total"])
	}
	// limit: the most recently used, with the total.
	lastUsed := func(g any) time.Time {
		at, err := time.Parse(time.RFC3339Nano, g.(map[string]any)["last_used"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	var newestUse time.Time
	for _, g := range all.list("grants") {
		if at := lastUsed(g); at.After(newestUse) {
			newestUse = at
		}
	}
	newest := f.admin.do("GET", "/rest/gatehouse/latest/grants?limit=1", nil)
	want(t, newest, http.StatusOK, "")
	if l := newest.list("grants"); len(l) != 1 || !lastUsed(l[0]).Equal(newestUse) || newest.body["total"] != float64(4) {
		t.Fatalf("limit=1: %s; want the grant last used at %v", newest.raw, newestUse)
	}
	if l := f.admin.do("GET", "/rest/gatehouse/latest/grants?limit=1000&username=uma", nil).list("grants"); len(l) != 1 {
		t.Fatalf("uma's grants with a limit: %v", l)
	}
	for _, bad := range []string{"0", "1001", "-1", "ten"} {
		want(t, f.admin.do("GET", "/rest/gatehouse/latest/grants?limit="+bad, nil), http.StatusBadRequest, "invalid_request")
	}
	want(t, f.admin.do("GET", "/rest/gatehouse/latest/grants?username=nobody", nil), http.StatusNotFound, "not_found")
	want(t, f.admin.do("GET", "/rest/gatehouse/latest/grants?client_id=nope", nil), http.StatusNotFound, "not_found")

	// Revoke: every token of the grant ends at once.
	if !in.active(umaToken) || !in.active(robotToken) {
		t.Fatal("tokens inactive before revocation")
	}
	want(t, f.admin.do("DELETE", "/rest/gatehouse/latest/grants/"+g["id"].(string), nil), http.StatusNoContent, "")
	if in.active(umaToken) {
		t.Fatal("uma's token is active after its grant was revoked")
	}
	if !in.active(robotToken) {
		t.Fatal("another grant's token was revoked")
	}
	if l := f.admin.do("GET", "/rest/gatehouse/latest/grants?username=uma", nil).list("grants"); len(l) != 0 {
		t.Fatalf("revoked grant still listed: %v", l)
	}
	want(t, f.admin.do("DELETE", "/rest/gatehouse/latest/grants/"+g["id"].(string), nil), http.StatusNotFound, "not_found")
	want(t, f.admin.do("DELETE", "/rest/gatehouse/latest/grants/nope", nil), http.StatusNotFound, "not_found")

	r = f.admin.do("GET", "/rest/gatehouse/latest/audit?kind=grant.revoke", nil)
	if ev := r.list("events"); len(ev) != 1 || ev[0].(map[string]any)["username"] != "uma" || ev[0].(map[string]any)["actor"] != "ada" {
		t.Fatalf("revocation audit: %s", r.raw)
	}
}

// TestGrantListsReadInSlices: a grant list is read a few grants at a time
// and written out as it goes; across those reads it is the same list, in
// the same order, as one read gives, and still one JSON document.
func TestGrantListsReadInSlices(t *testing.T) {
	f := newFixture(t)
	c, secretValue := f.createClient(app.Registration{Name: "Robot", Grants: []string{app.GrantClientCredentials}, RedirectURIs: []string{}})
	for range 7 {
		r := f.tokenRequest(url.Values{"grant_type": {"client_credentials"}, "scope": {"READ"}}, c.ID, secretValue)
		want(t, r, http.StatusOK, "")
	}
	const whole = 9 // the robot's seven, and the fixture's two
	list := func(query string) result {
		t.Helper()
		r := f.admin.do("GET", "/rest/gatehouse/latest/grants"+query, nil)
		want(t, r, http.StatusOK, "")
		return r
	}
	ids := func(r result) []string {
		var out []string
		for _, g := range r.list("grants") {
			out = append(out, g.(map[string]any)["id"].(string))
		}
		return out
	}
	queries := []string{"", "?limit=1000", "?client_id=" + c.ID}
	oneRead := map[string][]string{}
	for _, query := range queries {
		oneRead[query] = ids(list(query))
	}
	if len(oneRead[""]) != whole || len(oneRead["?client_id="+c.ID]) != whole-2 {
		t.Fatalf("in one read: %v", oneRead)
	}
	adminapi.SetGrantsPerRead(t, 2)
	for _, query := range queries {
		sliced := list(query)
		if got := ids(sliced); !slices.Equal(got, oneRead[query]) || sliced.body["total"] != float64(len(got)) {
			t.Errorf("read two at a time%s: %v (total %v); in one read: %v", query, got, sliced.body["total"], oneRead[query])
		}
	}
	for _, limit := range []int{1, 2, 3, 5} {
		if got := ids(list("?limit=" + strconv.Itoa(limit))); !slices.Equal(got, oneRead[""][:limit]) {
			t.Errorf("limit=%d, read two at a time: %v; want the first %d of %v", limit, got, limit, oneRead[""])
		}
	}
	if r := list("?username=uma"); r.raw != `{"grants":[],"total":0}`+"\n" {
		t.Errorf("an empty list: %q", r.raw)
	}

	// The list's order is the most recently used first, as it always was.
	var prev time.Time
	for i, g := range list("").list("grants") {
		at, err := time.Parse(time.RFC3339Nano, g.(map[string]any)["last_used"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && at.After(prev) {
			t.Fatalf("grant %d used at %v after the one before it (%v)", i, at, prev)
		}
		prev = at
	}
}
