package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
	"github.com/gatehouse/gatehouse/internal/web"
)

var (
	auditKindCell = regexp.MustCompile(`<td class="kind"[^>]*><span class="kind-label">([^<]*)</span> <code>([^<]*)</code></td>`)
	kindOption    = regexp.MustCompile(`<option value="([^"]+)" title="([^"]*)"( selected)?>([^<]*)</option>`)
)

// TestAuditKindsAreLabelled: the audit page names each event's kind in the
// page's language, with the kind itself beside it; the kind filter's options
// are labelled the same way and filter by the kind. A kind without a label
// (recorded by another version) shows as itself.
func TestAuditKindsAreLabelled(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	if _, err := s.gh.Users.Create(ctx, user.NewUser{Username: "root", Password: "root-password", Level: store.LevelSystemAdmin}); err != nil {
		t.Fatal(err)
	}
	const unknownKind = "client.teleport"
	at := time.Now()
	for _, kind := range append(slices.Clone(audit.Kinds), unknownKind) {
		if err := s.gh.Store.RecordAudit(ctx, store.AuditEvent{At: at, Kind: kind, Actor: "root"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, lang := range web.Languages {
		t.Run(lang, func(t *testing.T) {
			b := s.browser(lang)
			b.signIn("root", "root-password")
			a := b.get("/admin/audit")
			if a.status != http.StatusOK {
				t.Fatalf("audit page: %d", a.status)
			}
			labels := map[string]string{}
			for _, m := range auditKindCell.FindAllStringSubmatch(a.body, -1) {
				labels[html.UnescapeString(m[2])] = html.UnescapeString(m[1])
			}
			for _, kind := range audit.Kinds {
				want := s.msgs.T(lang, "audit.kind."+kind)
				if got, ok := labels[kind]; !ok || got != want {
					t.Errorf("the %s row is labelled %q, want %q", kind, got, want)
				}
			}
			if got := labels[unknownKind]; got != unknownKind {
				t.Errorf("a kind without a label is shown as %q, want %q", got, unknownKind)
			}
			if got, want := labels[audit.ClientSecretView], map[string]string{"en": "Credentials viewed", "ja": "認証情報の表示"}[lang]; got != want {
				t.Errorf("credential views are labelled %q, want %q", got, want)
			}

			options := map[string]string{}
			for _, m := range kindOption.FindAllStringSubmatch(a.body, -1) {
				if m[1] != m[2] {
					t.Errorf("the option %s has the title %q", m[1], m[2])
				}
				options[m[1]] = html.UnescapeString(m[4])
			}
			for _, kind := range audit.Kinds {
				if got, want := options[kind], s.msgs.T(lang, "audit.kind."+kind); got != want {
					t.Errorf("the filter option %s says %q, want %q", kind, got, want)
				}
			}

			// Filtering by a kind keeps its option selected and shows only its events.
			filtered := b.get("/admin/audit?" + url.Values{"kind": {audit.ClientSecretView}}.Encode())
			var selected []string
			for _, m := range kindOption.FindAllStringSubmatch(filtered.body, -1) {
				if m[3] != "" {
					selected = append(selected, m[1])
				}
			}
			if !slices.Equal(selected, []string{audit.ClientSecretView}) {
				t.Errorf("selected options %v, want %s", selected, audit.ClientSecretView)
			}
			rows := auditKindCell.FindAllStringSubmatch(filtered.body, -1)
			if len(rows) != 1 || rows[0][2] != audit.ClientSecretView || rows[0][1] != s.msgs.T(lang, "audit.kind.client.secret.view") {
				t.Errorf("filtered rows %q, want the one credential view", rows)
			}
		})
	}
}

// The audit log's page and export refuse a filter they cannot read, in the
// page's language, as the admin API does, rather than show the log unfiltered.
func TestAuditRefusesUnreadableFilters(t *testing.T) {
	s := newSite(t)
	if _, err := s.gh.Users.Create(context.Background(), user.NewUser{Username: "root", Password: "root-password", Level: store.LevelSystemAdmin}); err != nil {
		t.Fatal(err)
	}
	for _, lang := range web.Languages {
		b := s.browser(lang)
		b.signIn("root", "root-password")
		for q, key := range map[string][]any{
			"since=garbage": {"refusal.admin.audit_since"}, "until=2026-13-45": {"refusal.admin.audit_until"},
			"before=abc": {"refusal.admin.audit_before"}, "before=-3": {"refusal.admin.audit_before"},
			"since=2027-01-01&since=2026-01-01": {"refusal.admin.query_repeated", "since"}, "kind=a&kind=b": {"refusal.admin.query_repeated", "kind"},
			"user=bob%zz": {"refusal.admin.query_encoding", `invalid URL escape "%zz"`},
		} {
			for _, path := range []string{"/admin/audit?", "/admin/audit/export?"} {
				a := b.get(path + q)
				if a.status != http.StatusBadRequest {
					t.Errorf("%s %s%s: %d, want 400", lang, path, q, a.status)
					continue
				}
				if got, _ := element(a.body, `role="alert"`); got != s.msgs.T(lang, key[0].(string), key[1:]...) {
					t.Errorf("%s %s%s says %q", lang, path, q, got)
				}
			}
		}
		if a := b.get("/admin/audit?since=2026-01-01&until=" + url.QueryEscape("2099-01-01T00:00:00Z")); a.status != http.StatusOK {
			t.Errorf("%s: a readable filter: %d", lang, a.status)
		}
	}
}

var pageLink = regexp.MustCompile(`<a class="button" href="([^"]*)">([^<]*)</a>`)

// TestAuditPagesBothWays: the audit page shows 50 events, an "older" link
// past them that keeps the filter, and once paged back a link to the newest
// events with the same filter; the first page has no such link.
func TestAuditPagesBothWays(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	if _, err := s.gh.Users.Create(ctx, user.NewUser{Username: "root", Password: "root-password", Level: store.LevelSystemAdmin}); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	for i := range 120 {
		if err := s.gh.Store.RecordAudit(ctx, store.AuditEvent{At: at.Add(time.Duration(i) * time.Millisecond), Kind: audit.ClientSecretView, Actor: "root"}); err != nil {
			t.Fatal(err)
		}
	}
	b := s.browser("en")
	b.signIn("root", "root-password")
	links := func(path string) map[string]string {
		t.Helper()
		a := b.get(path)
		if a.status != http.StatusOK {
			t.Fatalf("%s: %d", path, a.status)
		}
		out := map[string]string{}
		for _, m := range pageLink.FindAllStringSubmatch(a.body, -1) {
			out[html.UnescapeString(m[2])] = html.UnescapeString(m[1])
		}
		return out
	}
	first := "/admin/audit?" + url.Values{"kind": {audit.ClientSecretView}}.Encode()
	page := links(first)
	older, newest := s.msgs.T("en", "admin.older"), s.msgs.T("en", "admin.newest")
	if _, ok := page[newest]; ok || page[older] == "" {
		t.Fatalf("the first page's links: %v", page)
	}
	second := links(page[older])
	if second[newest] != first || second[older] == "" {
		t.Fatalf("the second page's links: %v, want %q to %s", second, newest, first)
	}
	if third := links(second[older]); third[newest] != first || third[older] != "" {
		t.Fatalf("the last page's links: %v", third)
	}
	if unfiltered := links(links("/admin/audit")[older]); unfiltered[newest] != "/admin/audit" {
		t.Fatalf("an unfiltered second page's links: %v", unfiltered)
	}
}
