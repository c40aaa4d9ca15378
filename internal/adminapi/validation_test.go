package adminapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// The admin service refuses what users could not tell apart or what names
// nobody: a second application of the same name (whatever its case),
// subscribers and groups that do not exist, a wildcard redirect host, a
// group name outside its character set.
func TestRegistrationRefusals(t *testing.T) {
	f := newFixture(t)
	f.newClient("Wiki", nil)
	app := func(extra map[string]any) map[string]any {
		body := map[string]any{"name": "Other", "redirect_uris": []string{callback}, "scopes": []string{"READ"}}
		for k, v := range extra {
			body[k] = v
		}
		return body
	}
	cases := []struct {
		name string
		body map[string]any
		want string
	}{
		{"same name, other case", app(map[string]any{"name": "  wIKI "}), "another application is named"},
		{"unknown subscriber", app(map[string]any{"subscriber_users": []string{"uma", "ghost"}}), `"ghost" is not a user`},
		{"unknown group", app(map[string]any{"subscriber_groups": []string{"staff", "nobody-here"}}), `"nobody-here" has no members`},
		{"wildcard host", app(map[string]any{"redirect_uris": []string{"https://*.example.com/cb"}}), "wildcard hosts are not allowed"},
		{"port above 65535", app(map[string]any{"redirect_uris": []string{"https://x.example:99999/cb"}}), "a port must be a number from 1 to 65535"},
		{"empty port", app(map[string]any{"redirect_uris": []string{"https://x.example:/cb"}}), "a port must be a number from 1 to 65535"},
		{"double quote in the host", app(map[string]any{"redirect_uris": []string{`https://x.example"/cb`}}), "U+0022, which a URI may not hold"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.admin.do("POST", pathClients, tc.body)
			want(t, r, http.StatusBadRequest, "invalid_request")
			if !strings.Contains(r.str("message"), tc.want) {
				t.Fatalf("message %q lacks %q", r.str("message"), tc.want)
			}
		})
	}
	// Existing subscribers and groups are fine, and so is keeping one's own name.
	ok := f.newClient("Tracker", map[string]any{"subscriber_users": []string{"UMA"}, "subscriber_groups": []string{"staff"}})
	body := app(map[string]any{"name": "tracker"})
	want(t, f.admin.do("PUT", pathClients+"/"+ok.str("client_id"), body), http.StatusOK, "")

	for _, group := range []string{"ops,dev", `night "shift"`, "a/b", "x\u202e"} {
		r := f.admin.do("PATCH", adminPathUser+"/uma", map[string]any{"groups": []string{group}})
		want(t, r, http.StatusBadRequest, "invalid_request")
	}
	want(t, f.admin.do("PATCH", adminPathUser+"/uma", map[string]any{"groups": []string{"開発 チーム", "ops-2", "a.b_c+d@e"}}), http.StatusOK, "")
}
