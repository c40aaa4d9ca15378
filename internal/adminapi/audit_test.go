package adminapi_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
)

// auditFixture makes a fixture with seven client.create events by ada.
func auditFixture(t *testing.T) *fixture {
	f := newFixture(t)
	for i := range 7 {
		f.newClient(fmt.Sprintf("App %d", i), nil)
	}
	return f
}

func TestAuditPagination(t *testing.T) {
	f := auditFixture(t)
	var ids []float64
	var names []string
	next := "/rest/gatehouse/latest/audit?kind=client.create&user=ada&limit=3"
	pages := 0
	for next != "" {
		r := f.admin.do("GET", next, nil)
		want(t, r, http.StatusOK, "")
		if _, ok := r.body["next"].(string); !ok {
			t.Fatalf("no next field: %s", r.raw)
		}
		for _, e := range r.list("events") {
			ev := e.(map[string]any)
			ids = append(ids, ev["id"].(float64))
			names = append(names, ev["detail"].(string))
			if ev["kind"] != "client.create" || ev["actor"] != "ada" || ev["at"] == nil {
				t.Fatalf("event %v", ev)
			}
		}
		next = r.str("next")
		if next != "" && (!strings.Contains(next, "limit=3") || !strings.Contains(next, "kind=client.create") || !strings.HasPrefix(next, "/rest/gatehouse/latest/audit?")) {
			t.Fatalf("next %q does not keep the filter", next)
		}
		pages++
	}
	if pages != 3 || len(ids) != 7 {
		t.Fatalf("%d pages, %d events, want 3 and 7", pages, len(ids))
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] >= ids[i-1] {
			t.Fatalf("not newest first: %v", ids)
		}
	}
	if names[0] != "App 6" || names[6] != "App 0" {
		t.Fatalf("order %v", names)
	}

	// Default page size, and filters.
	r := f.admin.do("GET", "/rest/gatehouse/latest/audit", nil)
	if r.str("next") != "" || len(r.list("events")) < 7 {
		t.Fatalf("default page: %s", r.raw)
	}
	today := time.Now().UTC().Format("2006-01-02")
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
	for query, n := range map[string]int{
		"kind=client.&user=ada":                7,
		"kind=client.&user=ADA":                7, // usernames are case-insensitive
		"kind=client.&user=+Ada+":              7,
		"kind=client.create&since=" + today:    7,
		"kind=client.create&since=" + tomorrow: 0,
		"kind=client.create&until=" + today:    7,
		"kind=client.create&until=2000-01-01":  0,
		"kind=consent.allow&user=root":         1,
		"kind=client.create&since=" + url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339)): 7,
	} {
		r := f.admin.do("GET", "/rest/gatehouse/latest/audit?"+query, nil)
		want(t, r, http.StatusOK, "")
		if got := len(r.list("events")); got != n {
			t.Errorf("%s: %d events, want %d", query, got, n)
		}
	}
}

func TestAuditBadQueries(t *testing.T) {
	f := newFixture(t)
	for _, q := range []string{"since=yesterday", "until=2024-13-45", "before=abc", "before=-3", "limit=0", "limit=1001", "limit=x",
		"since=2027-01-01&since=2026-01-01", "limit=1&limit=2", "user=a&user=b"} {
		t.Run(q, func(t *testing.T) {
			want(t, f.admin.do("GET", "/rest/gatehouse/latest/audit?"+q, nil), http.StatusBadRequest, "invalid_request")
		})
	}
}

func TestAuditExport(t *testing.T) {
	f := auditFixture(t)
	r := f.admin.do("GET", "/rest/gatehouse/latest/audit?kind=client.create", nil, "Accept", "application/x-ndjson")
	want(t, r, http.StatusOK, "")
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-ndjson") {
		t.Fatalf("Content-Type %q", ct)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(r.raw))
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, ev)
	}
	if len(lines) != 7 {
		t.Fatalf("%d lines, want 7:\n%s", len(lines), r.raw)
	}
	for i, ev := range lines {
		if ev["kind"] != "client.create" || ev["detail"] != fmt.Sprintf("App %d", 6-i) {
			t.Fatalf("line %d: %v", i, ev)
		}
	}
	// limit and before bound the export too; an Accept list with other types still picks NDJSON.
	r = f.admin.do("GET", fmt.Sprintf("/rest/gatehouse/latest/audit?kind=client.create&limit=2&before=%.0f", lines[2]["id"].(float64)), nil,
		"Accept", "application/json;q=0.5, application/x-ndjson")
	if n := strings.Count(r.raw, "\n"); n != 2 || !strings.Contains(r.raw, `"App 3"`) || !strings.Contains(r.raw, `"App 2"`) {
		t.Fatalf("bounded export:\n%s", r.raw)
	}
	// NDJSON refused with q=0 (RFC 9110 §12.4.2) is not chosen.
	r = f.admin.do("GET", "/rest/gatehouse/latest/audit?kind=client.create", nil, "Accept", "application/x-ndjson;q=0, application/json")
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || len(r.list("events")) != 7 {
		t.Fatalf("NDJSON at q=0: %q %s", ct, r.raw)
	}
	// Nor is it when JSON weighs more (and */* does not outweigh JSON named).
	for _, accept := range []string{"application/json, application/x-ndjson;q=0.1", "application/x-ndjson;q=0.5, */*;q=0.9", "application/json;q=0.9, application/x-ndjson;q=0.8, */*",
		"application/x-ndjson;q=NaN, application/json"} {
		r = f.admin.do("GET", "/rest/gatehouse/latest/audit?kind=client.create", nil, "Accept", accept)
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("Accept %q: %q %s", accept, ct, r.raw)
		}
	}
	// An empty export is an empty body, not an error.
	r = f.admin.do("GET", "/rest/gatehouse/latest/audit?kind=nothing.", nil, "Accept", "application/x-ndjson")
	if r.status != http.StatusOK || r.raw != "" {
		t.Fatalf("empty export: %d %q", r.status, r.raw)
	}
	want(t, f.admin.do("GET", "/rest/gatehouse/latest/audit?limit=100001", nil, "Accept", "application/x-ndjson"), http.StatusBadRequest, "invalid_request")
	want(t, f.admin.do("GET", "/rest/gatehouse/latest/audit?limit=5000", nil, "Accept", "application/x-ndjson"), http.StatusOK, "")
}

// TestListQueriesAreReadStrictly: a list's query that cannot be read, names
// a parameter the route does not take, or repeats one is refused. Go's
// url.Query drops a pair it cannot decode, so "username=bob%zz" listed every
// user's grants — a list a script might then revoke.
func TestListQueriesAreReadStrictly(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{
		"/rest/gatehouse/latest/grants?username=bob%zz",
		"/rest/gatehouse/latest/grants?username=ada&username=uma",
		"/rest/gatehouse/latest/grants?user=uma",
		"/rest/gatehouse/latest/users?q=a&q=b",
		"/rest/gatehouse/latest/users?name=carol",
		"/rest/gatehouse/latest/audit?kind=client.%zz",
		"/rest/gatehouse/latest/audit?limit=1%zz",
		"/rest/gatehouse/latest/audit?users=uma",
		"/rest/oauth2/latest/client?q=%zz",
		"/rest/oauth2/latest/client?q=a&q=b",
		"/rest/oauth2/latest/client?name=a",
	} {
		t.Run(path, func(t *testing.T) {
			want(t, f.admin.do("GET", path, nil), http.StatusBadRequest, "invalid_request")
		})
	}
	// Lists without filters refuse one rather than list everything.
	for _, path := range []string{
		"/rest/gatehouse/latest/groups?name=ops",
		"/rest/gatehouse/latest/integrations?provider=google",
		"/rest/gatehouse/latest/mailservers?q=m",
	} {
		t.Run(path, func(t *testing.T) {
			want(t, f.root.do("GET", path, nil), http.StatusBadRequest, "invalid_request")
		})
	}
	for _, path := range []string{
		"/rest/gatehouse/latest/grants?username=uma&client_id=",
		"/rest/gatehouse/latest/audit?kind=client.create&limit=5",
		"/rest/oauth2/latest/client?q=app",
	} {
		want(t, f.admin.do("GET", path, nil), http.StatusOK, "")
	}
}

// TestWrongConfirmationPasswordsAreAudited: a wrong password at the
// credentials view or at a password reset is counted like a failed sign-in
// and is in the audit log as one, with what was tried, as the console's
// re-authentication is.
func TestWrongConfirmationPasswordsAreAudited(t *testing.T) {
	f := newFixture(t)
	id := f.newClient("Wiki", nil).str("client_id")
	want(t, f.admin.do("POST", pathClients+"/"+id+"/credentials", map[string]string{"password": "not-adas-password"}), http.StatusForbidden, "invalid_password")
	want(t, f.admin.do("POST", adminPathUser+"/uma/password", map[string]string{"password": "uma-new-password-1", "your_password": "not-adas-password"}), http.StatusForbidden, "invalid_password")
	r := f.root.do("GET", "/rest/gatehouse/latest/audit?kind=signin.failure&user=ada", nil)
	want(t, r, http.StatusOK, "")
	events := r.list("events")
	if len(events) != 2 {
		t.Fatalf("%d sign-in failures of ada audited, want 2: %s", len(events), r.raw)
	}
	for _, e := range events {
		if ev := e.(map[string]any); ev["actor"] != "ada" || ev["detail"] != "re-authentication" {
			t.Errorf("event %v", ev)
		}
	}
}

// TestAPIDocListsEveryAuditKind: docs/api.md's list of audit kinds is the
// code's, so a script filtering by kind finds each one there.
func TestAPIDocListsEveryAuditKind(t *testing.T) {
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range audit.Kinds {
		if !strings.Contains(string(doc), "`"+kind+"`") {
			t.Errorf("docs/api.md does not list the audit kind %s", kind)
		}
	}
}
