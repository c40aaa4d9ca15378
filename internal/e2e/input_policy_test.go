package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
)

// hostileText is what the input policy refuses in any text field.
var hostileText = map[string]string{
	"NUL":                 "a\x00b",
	"control character":   "a\x01b",
	"invalid UTF-8":       "ab\xffcd",
	"bidi override":       "ab\u202ecd",
	"over 200 characters": strings.Repeat("é", 201), // 402 bytes: never cut in half
}

// TestHostileTextThroughEveryDoor feeds the same hostile values through the
// sign-in form, the console and the admin API, on SQLite and PostgreSQL: each
// answers 4xx with a clear message, writes nothing, and never 500s (a NUL
// used to be stored on SQLite and a 500 on PostgreSQL).
func TestHostileTextThroughEveryDoor(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, e *env) {
		b := e.signedInRoot()
		csrf := b.csrf()
		counts := func() (users, clients int) {
			us, err := e.node.Store.SearchUsers(t.Context(), store.UserSearch{Limit: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			cs, err := e.node.Store.ListClients(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			return len(us), len(cs)
		}
		users0, clients0 := counts()
		for name, value := range hostileText {
			doors := map[string]func() (int, string){
				"sign-in username": func() (int, string) {
					p := e.newBrowser().signIn(value, "whatever-password")
					return p.status, p.body
				},
				"console user display name": func() (int, string) {
					p := b.post("/admin/users/new", pageForm("new user", url.Values{"csrf_token": {csrf}, "username": {"carol"}, "password": {"carol-password"}, "level": {"user"}, "display_name": {value}}))
					return p.status, p.body
				},
				"console user group": func() (int, string) {
					p := b.post("/admin/users/new", pageForm("new user", url.Values{"csrf_token": {csrf}, "username": {"carol"}, "password": {"carol-password"}, "level": {"user"}, "groups": {value}}))
					return p.status, p.body
				},
				"console application name": func() (int, string) {
					p := b.post("/admin/apps/new", pageForm("app", url.Values{"csrf_token": {csrf}, "name": {value}, "redirect_uris": {callback}, "scope": {"READ"}, "grant": {"authorization_code"}, "type": {"confidential"}}))
					return p.status, p.body
				},
				"API user email": func() (int, string) {
					r := e.jsonAs(b, "POST", "/rest/gatehouse/latest/users", fmt.Sprintf(`{"username":"dave","password":"dave-password","email":%q}`, value))
					return r.status, r.raw
				},
				"API application name": func() (int, string) {
					r := e.jsonAs(b, "POST", "/rest/oauth2/latest/client", fmt.Sprintf(`{"name":%q,"redirect_uris":[%q],"scopes":["READ"]}`, value, callback))
					return r.status, r.raw
				},
				"API subscriber group": func() (int, string) {
					r := e.jsonAs(b, "POST", "/rest/oauth2/latest/client", fmt.Sprintf(`{"name":"ok","redirect_uris":[%q],"scopes":["READ"],"subscriber_groups":[%q]}`, callback, value))
					return r.status, r.raw
				},
				"API user path": func() (int, string) {
					r := e.jsonAs(b, "GET", "/rest/gatehouse/latest/users/"+url.PathEscape(value), "")
					return r.status, r.raw
				},
				"API audit filter": func() (int, string) {
					r := e.jsonAs(b, "GET", "/rest/gatehouse/latest/audit?"+url.Values{"user": {value}}.Encode(), "")
					return r.status, r.raw
				},
				"console audit filter": func() (int, string) {
					p := b.get("/admin/audit?" + url.Values{"user": {value}}.Encode())
					return p.status, p.body
				},
			}
			for door, try := range doors {
				status, body := try()
				if name == "over 200 characters" && strings.Contains(door, "path") || name == "bidi override" && strings.Contains(door, "filter") {
					continue // a search for text no name holds simply finds nothing
				}
				if status < 400 || status >= 500 || status == http.StatusForbidden {
					t.Errorf("%s with a %s: %d, want 4xx: %.300s", door, name, status, body)
				}
			}
		}
		if users, clients := counts(); users != users0 || clients != clients0 {
			t.Errorf("after the refusals: %d users and %d applications, want %d and %d", users, clients, users0, clients0)
		}
	})
}

// TestStrictJSON: the admin API matches member names exactly, refuses a
// repeated member and refuses text that is not UTF-8, rather than guessing.
func TestStrictJSON(t *testing.T) {
	e := newEnv(t)
	e.createUser("root", "root-password", store.LevelSystemAdmin)
	b := e.newBrowser()
	b.signIn("root", "root-password")
	for _, body := range []string{
		`{"USERNAME":"eve","Password":"eve-password","Level":"admin"}`,
		`{"username":"eve","password":"eve-password","level":"user","level":"system-admin"}`,
		`{"username":"eve","password":"eve-password","display_name":"\ud800"}`,
		"{\"username\":\"eve\",\"password\":\"eve-password\",\"display_name\":\"\xff\"}",
	} {
		r := e.jsonAs(b, "POST", "/rest/gatehouse/latest/users", body)
		if r.status != http.StatusBadRequest {
			t.Errorf("%q: %d %s, want 400", body, r.status, r.raw)
		}
	}
	if _, err := e.node.Users.ByUsername(t.Context(), "eve"); err == nil {
		t.Fatal("a refused body created a user")
	}
}

// TestListLimits: lists have a maximum count, and going over it is refused
// with the limit named, in linear time.
func TestListLimits(t *testing.T) {
	e := newEnv(t)
	e.createUser("root", "root-password", store.LevelSystemAdmin)
	e.createUser("uma", "uma-password", store.LevelUser)
	b := e.newBrowser()
	b.signIn("root", "root-password")
	groups := make([]string, 100000)
	for i := range groups {
		groups[i] = fmt.Sprintf("%q", fmt.Sprint("g", i))
	}
	r := e.jsonAs(b, "PATCH", "/rest/gatehouse/latest/users/uma", `{"groups":[`+strings.Join(groups, ",")+`]}`)
	if r.status != http.StatusBadRequest || !strings.Contains(r.raw, "at most 100") {
		t.Fatalf("100,000 groups: %d %.200s", r.status, r.raw)
	}
	r = e.jsonAs(b, "PATCH", "/rest/gatehouse/latest/users/uma", `{"groups":["`+strings.Repeat("g", 101)+`"]}`)
	if r.status != http.StatusBadRequest || !strings.Contains(r.raw, "at most 100 characters") {
		t.Fatalf("a 101-character group: %d %.200s (it used to be dropped silently)", r.status, r.raw)
	}
	if u, _ := e.node.Users.ByUsername(t.Context(), "uma"); len(u.Groups) != 0 {
		t.Fatalf("uma's groups changed: %v", u.Groups)
	}
}

// jsonAs calls the admin API with b's session, sending body as JSON.
func (e *env) jsonAs(b *browser, method, path, body string) tokenResult {
	e.t.Helper()
	var req *http.Request
	if body == "" {
		req, _ = http.NewRequest(method, e.base+path, nil)
	} else {
		req, _ = http.NewRequest(method, e.base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin") // as a browser on the console sends it
	p := b.do(req)
	return tokenResult{status: p.status, header: p.header, raw: p.body}
}

// TestHostileTextThroughTheCLI: the command line goes through the same
// services, so it refuses the same values with the same message, and
// writes nothing.
func TestHostileTextThroughTheCLI(t *testing.T) {
	bin := buildBinary(t)
	dir := migratedDir(t, bin)
	for name, value := range hostileText {
		if strings.ContainsRune(value, 0) {
			continue // no argument can hold a NUL
		}
		_, stderr, err := runCLI(bin, dir, "client", "create", "--name", value, "--redirect-uri", callback, "--scope", "READ")
		if err == nil || !strings.Contains(stderr, "name") {
			t.Errorf("client create --name with a %s: %v, %q; want a refusal naming the field", name, err, stderr)
		}
		_, stderr, err = runCLIStdin(bin, dir, "eve-password\n", "user", "create", "--username", "eve", "--password-stdin", "--group", value)
		if err == nil || !strings.Contains(stderr, "groups") {
			t.Errorf("user create --group with a %s: %v, %q; want a refusal naming the field", name, err, stderr)
		}
	}
	if out := cli(t, bin, dir, "client", "list", "--json"); strings.Contains(out, "client_id") {
		t.Fatalf("a refused command created an application: %s", out)
	}
	if names := usernames(t, bin, dir); len(names) != 0 {
		t.Fatalf("a refused command created users: %v", names)
	}
}

// TestHostilePathSegments: an ID in a path that is no text — a NUL, bytes
// that are not UTF-8, an overlong or surrogate encoding — is a 4xx on every
// route, the anonymous logo route included, on SQLite and PostgreSQL (which
// refuses such bytes with an error that became a 500 on some routes).
func TestHostilePathSegments(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, e *env) {
		b := e.signedInRoot()
		routes := []struct{ method, path, body string }{
			{"PUT", "/rest/oauth2/latest/client/%s", `{"name":"x","redirect_uris":["http://127.0.0.1:1/cb"],"scopes":["READ"]}`},
			{"GET", "/rest/oauth2/latest/client/%s", ""},
			{"GET", "/rest/gatehouse/latest/integrations/%s", ""},
			{"GET", "/rest/gatehouse/latest/integrations/%s/token", ""},
			{"GET", "/rest/gatehouse/latest/mailservers/%s", ""},
			{"GET", "/rest/gatehouse/latest/users/%s", ""},
			{"DELETE", "/rest/gatehouse/latest/grants/%s", ""},
			{"GET", "/admin/integrations/%s", ""},
			{"GET", "/admin/mail/%s", ""},
			{"GET", "/admin/apps/%s", ""},
			{"GET", "/logo/%s", ""},
		}
		for _, id := range []string{"%00", "%FF", "a%00b", "%C0%AF", "%ED%A0%80"} {
			for _, rt := range routes {
				path := strings.Replace(rt.path, "%s", id, 1)
				r := e.jsonAs(b, rt.method, path, rt.body)
				if r.status < 400 || r.status >= 500 {
					t.Errorf("%s %s: %d, want 4xx: %.200s", rt.method, path, r.status, r.raw)
				}
			}
		}
	})
}

// TestApplicationDeletedByAnotherNode: a node may hold an application in
// its cache for a second after another node deleted it (documented). A token
// request or a consent decision in that second is refused as for an unknown
// application — 401 invalid_client, the consent's "no longer valid" page —
// not a 500 from the database's foreign key, on SQLite and PostgreSQL.
func TestApplicationDeletedByAnotherNode(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, e *env) {
		e.createUser("alice", "alice-password", store.LevelUser)
		c, secretValue := e.createClient(app.Registration{Name: "Doomed", Grants: []string{app.GrantAuthorizationCode, app.GrantClientCredentials}})
		if r := e.token(form("grant_type", "client_credentials", "scope", "READ"), c.ID, secretValue); r.status != http.StatusOK {
			t.Fatalf("a token before the deletion: %d %s", r.status, r.raw)
		}
		alice := e.newBrowser()
		alice.signIn("alice", "alice-password")
		consent := alice.authorize(authParams(c, "READ"))
		decision := formFields(consent.body)
		if decision.Get("consent_id") == "" {
			t.Fatalf("no consent page: %d", consent.status)
		}
		// Another node deletes it: through the database, past this node's cache.
		behind := e.node.Store.(*store.ClientCache).Store
		if err := behind.DeleteClient(context.Background(), c.ID, nil); err != nil {
			t.Fatal(err)
		}
		r := e.token(form("grant_type", "client_credentials", "scope", "READ"), c.ID, secretValue)
		if r.status != http.StatusUnauthorized || r.str("error") != "invalid_client" || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("a token for the application deleted elsewhere: %d %s", r.status, r.raw)
		}
		decision.Set("decision", "allow")
		if p := alice.post("/plugins/servlet/oauth2/consent", decision); p.status != http.StatusBadRequest {
			t.Errorf("Allow for the application deleted elsewhere: %d", p.status)
		}
	})
}

// onEachDatabase runs test against a fresh node on SQLite and on a fresh
// PostgreSQL database.
func onEachDatabase(t *testing.T, test func(t *testing.T, e *env)) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			var mutate []func(*config.Config)
			if db == "postgres" {
				dbURL, _ := freshDatabase(t)
				mutate = append(mutate, func(c *config.Config) { c.Database.URL = dbURL })
			}
			test(t, newEnv(t, mutate...))
		})
	}
}

// signedInRoot is a browser signed in as root, a system administrator it creates.
func (e *env) signedInRoot() *browser {
	e.t.Helper()
	e.createUser("root", "root-password", store.LevelSystemAdmin)
	b := e.newBrowser()
	if p := b.signIn("root", "root-password"); p.status != http.StatusSeeOther {
		e.t.Fatalf("sign-in: %d", p.status)
	}
	return b
}
