// Package storetest is the conformance suite every store.Store backend must
// pass. Each case builds its own fixtures in a fresh store and runs on a fixed
// clock, so results never depend on timing.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Run runs the suite. open must return a new, empty store on every call and
// close it with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	cases := []struct {
		name string
		test func(t *testing.T, s store.Store)
	}{
		{"Users", testUsers},
		{"SearchUsers", testSearchUsers},
		{"UserGroups", testUserGroups},
		{"GroupNames", testGroupNames},
		{"UserSessionsAfter", testUserSessionsAfter},
		{"LastSystemAdmin", testLastSystemAdmin},
		{"ConcurrentMutualDemotion", testConcurrentMutualDemotion},
		{"ConcurrentUserEdits", testConcurrentUserEdits},
		{"DisableRevokesTokens", testDisableRevokesTokens},
		{"DisableInBatches", testDisableInBatches},
		{"DisableCutShort", testDisableCutShort},
		{"Clients", testClients},
		{"ClientLimit", testClientLimit},
		{"DeleteClient", testDeleteClient},
		{"DeleteClientInBatches", testDeleteClientInBatches},
		{"DeleteClientCutShort", testDeleteClientCutShort},
		{"ClientLogo", testClientLogo},
		{"ClientUpdateRefused", testClientUpdateRefused},
		{"ClientNames", testClientNames},
		{"Codes", testCodes},
		{"CodeExpired", testCodeExpired},
		{"DropCodes", testDropCodes},
		{"Rotate", testRotate},
		{"RotateGrace", testRotateGrace},
		{"RotateNoGrace", testRotateNoGrace},
		{"RotateNotFound", testRotateNotFound},
		{"RefreshCap", testRefreshCap},
		{"TokenWithUser", testTokenWithUser},
		{"RevokeToken", testRevokeToken},
		{"RevokeGrant", testRevokeGrant},
		{"RevokeGrantRacesRotation", testRevokeGrantRacesRotation},
		{"DisableRacesNewTokens", testDisableRacesNewTokens},
		{"DeleteClientRacesNewTokens", testDeleteClientRacesNewTokens},
		{"DisableRacesDeleteClient", testDisableRacesDeleteClient},
		{"ListActiveTokens", testListActiveTokens},
		{"ClientUsage", testClientUsage},
		{"Sessions", testSessions},
		{"DecideConsent", testDecideConsent},
		{"ConcurrentDecideConsent", testConcurrentDecideConsent},
		{"DecideConsentDisabledUser", testDecideConsentDisabledUser},
		{"DisableRacesDecideConsent", testDisableRacesDecideConsent},
		{"DecidedConsentsPurged", testDecidedConsentsPurged},
		{"Throttle", testThrottle},
		{"ConcurrentThrottle", testConcurrentThrottle},
		{"TryLock", testTryLock},
		{"KeyCheck", testKeyCheck},
		{"Integrations", testIntegrations},
		{"IntegrationLease", testIntegrationLease},
		{"IntegrationsDue", testIntegrationsDue},
		{"ConcurrentIntegrationClaims", testConcurrentIntegrationClaims},
		{"IntegrationAuths", testIntegrationAuths},
		{"ConcurrentTakeIntegrationAuth", testConcurrentTakeIntegrationAuth},
		{"Purge", testPurge},
		{"PurgeKeepsWhatDetectsAReplay", testPurgeKeepsWhatDetectsAReplay},
		{"PurgeBatches", testPurgeBatches},
		{"PurgeAuditRetention", testPurgeAuditRetention},
		{"Audit", testAudit},
		{"PendingEvent", testPendingEvent},
		{"AuditPaging", testAuditPaging},
		{"AuditLimit", testAuditLimit},
		{"ConcurrentRedeem", testConcurrentRedeem},
		{"ConcurrentRotateNoGrace", testConcurrentRotateNoGrace},
		{"ConcurrentRotateGrace", testConcurrentRotateGrace},
		{"ConcurrentClientLimit", testConcurrentClientLimit},
		{"ConcurrentClientRotateAndEdit", testConcurrentClientRotateAndEdit},
		{"ConcurrentClientEdits", testConcurrentClientEdits},
		{"ConcurrentRefreshCap", testConcurrentRefreshCap},
		{"MailServers", testMailServers},
		{"ConcurrentMailServerEdits", testConcurrentMailServerEdits},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.test(t, open(t)) })
	}
}

// t0 is the suite's fixed "now": 2026-01-01T00:00:00Z.
var t0 = time.UnixMilli(1_767_225_600_000).UTC()

func at(d time.Duration) time.Time { return t0.Add(d) }

// hash names a token or code by a readable label.
func hash(label string) []byte {
	sum := sha256.Sum256([]byte(label))
	return sum[:]
}

func accessOf(name string) []byte  { return hash(name + "/access") }
func refreshOf(name string) []byte { return hash(name + "/refresh") }

// pair is an access and refresh token named name, issued at created.
func pair(name, grant, client, user string, created time.Time) store.Issue {
	access := store.Token{
		Hash: accessOf(name), Kind: store.KindAccess, GrantID: grant, ClientID: client, UserID: user,
		Scope: "read write", GrantedAt: t0, CreatedAt: created, ExpiresAt: created.Add(time.Hour),
	}
	refresh := store.Token{
		Hash: refreshOf(name), Kind: store.KindRefresh, GrantID: grant, ClientID: client, UserID: user,
		Scope: "read write", GrantedAt: t0, CreatedAt: created, ExpiresAt: created.Add(30 * 24 * time.Hour),
		AccessHash: accessOf(name),
	}
	return store.Issue{Access: access, Refresh: &refresh}
}

// capped is pair with a refresh cap.
func capped(name, grant, client, user string, created time.Time, limit int) store.Issue {
	issue := pair(name, grant, client, user, created)
	issue.RefreshCap = limit
	return issue
}

func addClient(t *testing.T, s store.Store, id string) {
	t.Helper()
	c := store.Client{ID: id, Name: id, Enabled: true, CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateClient(t.Context(), c, 0); err != nil {
		t.Fatalf("CreateClient(%s): %v", id, err)
	}
}

func issue(t *testing.T, s store.Store, i store.Issue) {
	t.Helper()
	if err := s.IssueTokens(t.Context(), i); err != nil {
		t.Fatalf("IssueTokens: %v", err)
	}
}

func token(t *testing.T, s store.Store, h []byte) store.Token {
	t.Helper()
	tok, err := s.TokenByHash(t.Context(), h)
	if err != nil {
		t.Fatalf("TokenByHash: %v", err)
	}
	return tok
}

func client(t *testing.T, s store.Store, id string) store.Client {
	t.Helper()
	c, err := s.ClientByID(t.Context(), id)
	if err != nil {
		t.Fatalf("ClientByID(%s): %v", id, err)
	}
	return c
}

func setLogo(t *testing.T, s store.Store, id string, data []byte, contentType string) {
	t.Helper()
	if err := s.SetClientLogo(t.Context(), id, data, contentType); err != nil {
		t.Fatalf("SetClientLogo(%s): %v", id, err)
	}
}

// wantLogo checks the client's logo and that ClientByID reports one.
func wantLogo(t *testing.T, s store.Store, id string, data []byte, contentType string) {
	t.Helper()
	got, ct, err := s.ClientLogo(t.Context(), id)
	if err != nil {
		t.Fatalf("ClientLogo(%s): %v", id, err)
	}
	if !bytes.Equal(got, data) || ct != contentType {
		t.Errorf("ClientLogo(%s) = %d bytes of %q, want %d bytes of %q (same bytes: %v)",
			id, len(got), ct, len(data), contentType, bytes.Equal(got, data))
	}
	if !client(t, s, id).HasLogo {
		t.Errorf("ClientByID(%s).HasLogo = false with a logo stored", id)
	}
}

// wantNoLogo checks that the client has no logo and that ClientByID agrees.
func wantNoLogo(t *testing.T, s store.Store, id string) {
	t.Helper()
	_, _, err := s.ClientLogo(t.Context(), id)
	wantErr(t, "ClientLogo("+id+") without a logo", err, store.ErrNotFound)
	if client(t, s, id).HasLogo {
		t.Errorf("ClientByID(%s).HasLogo = true without a logo", id)
	}
}

func record(t *testing.T, s store.Store, e store.AuditEvent) {
	t.Helper()
	if err := s.RecordAudit(t.Context(), e); err != nil {
		t.Fatalf("RecordAudit(%s): %v", e.Kind, err)
	}
}

// listAudit returns the events matching f and checks they come newest first.
func listAudit(t *testing.T, s store.Store, f store.AuditFilter) []store.AuditEvent {
	t.Helper()
	events, err := s.ListAudit(t.Context(), f)
	if err != nil {
		t.Fatalf("ListAudit(%+v): %v", f, err)
	}
	for i, e := range events {
		if e.ID <= 0 {
			t.Errorf("ListAudit(%+v): event %d has ID %d", f, i, e.ID)
		}
		if i > 0 && e.ID >= events[i-1].ID {
			t.Errorf("ListAudit(%+v): event %d (ID %d) does not follow ID %d", f, i, e.ID, events[i-1].ID)
		}
	}
	return events
}

// label is the first word of an event's Detail, which the audit cases use as labels.
func label(e store.AuditEvent) string {
	l, _, _ := strings.Cut(e.Detail, " ")
	return l
}

// details lists the events' labels.
func details(events []store.AuditEvent) []string {
	var ds []string
	for _, e := range events {
		ds = append(ds, label(e))
	}
	return ds
}

// wantActive checks each token's Active state at now.
func wantActive(t *testing.T, s store.Store, now time.Time, want bool, hashes ...[]byte) {
	t.Helper()
	for _, h := range hashes {
		if got := token(t, s, h).Active(now); got != want {
			t.Errorf("token %x active = %v, want %v", h[:4], got, want)
		}
	}
}

// wantMissing checks that no token has any of the hashes.
func wantMissing(t *testing.T, s store.Store, hashes ...[]byte) {
	t.Helper()
	for _, h := range hashes {
		if _, err := s.TokenByHash(t.Context(), h); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("TokenByHash(%x) error = %v, want ErrNotFound", h[:4], err)
		}
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s error = %v, want %v", what, err, want)
	}
}

// everyUser reads every user through SearchUsers, as the lists of every
// user do.
func everyUser(t *testing.T, s store.Store) []store.User {
	t.Helper()
	users, err := s.SearchUsers(t.Context(), store.UserSearch{Limit: 1 << 20})
	if err != nil {
		t.Fatalf("SearchUsers (every user): %v", err)
	}
	return users
}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// activeHashes lists the active tokens matching f at now, newest first.
func activeHashes(t *testing.T, s store.Store, f store.TokenFilter, now time.Time) [][]byte {
	t.Helper()
	toks, err := s.ListActiveTokens(t.Context(), f, now)
	if err != nil {
		t.Fatalf("ListActiveTokens: %v", err)
	}
	var hs [][]byte
	for _, tok := range toks {
		hs = append(hs, tok.Hash)
	}
	return hs
}

// race runs fn n times at once and returns the errors by index.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts nil errors and errors matching want, and reports any other.
func tally(t *testing.T, errs []error, want error) (ok, matched int) {
	t.Helper()
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, want):
			matched++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	return ok, matched
}

func testUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready on a new store = %v", err)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers on empty store = %d, %v; want 0, nil", n, err)
	}
	alice := store.User{
		ID: "u1", Username: "alice", DisplayName: "Alice", Email: "alice@example.com",
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", Level: store.LevelAdmin,
		Groups: []string{"dev"}, CreatedAt: t0, UpdatedAt: t0,
	}
	bob := store.User{ID: "u2", Username: "bob", CreatedAt: at(time.Minute), UpdatedAt: at(time.Minute)}
	for _, u := range []store.User{alice, bob} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser(%s): %v", u.Username, err)
		}
	}

	got, err := s.UserByID(ctx, "u1")
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	diff(t, "UserByID", alice, got)
	got, err = s.UserByUsername(ctx, "bob")
	if err != nil {
		t.Fatalf("UserByUsername: %v", err)
	}
	diff(t, "UserByUsername", bob, got)

	err = s.CreateUser(ctx, store.User{ID: "u3", Username: "alice"})
	wantErr(t, "CreateUser with a taken username", err, store.ErrConflict)
	err = s.CreateUser(ctx, store.User{ID: "u1", Username: "carol"})
	wantErr(t, "CreateUser with a taken ID", err, store.ErrConflict)
	_, err = s.UserByID(ctx, "nobody")
	wantErr(t, "UserByID(unknown)", err, store.ErrNotFound)
	_, err = s.UserByUsername(ctx, "nobody")
	wantErr(t, "UserByUsername(unknown)", err, store.ErrNotFound)

	byID := cmpopts.SortSlices(func(a, b store.User) bool { return a.ID < b.ID })
	if d := cmp.Diff([]store.User{alice, bob}, everyUser(t, s), byID, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("every user: mismatch (-want +got):\n%s", d)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 2 {
		t.Errorf("CountUsers = %d, %v; want 2, nil", n, err)
	}

	// UpdateUser replaces the mutable fields only.
	update := store.User{
		ID: "u1", Username: "mallory", DisplayName: "Alice A.", Email: "a@example.org",
		PasswordHash: "$argon2id$new", Level: store.LevelSystemAdmin, Disabled: true,
		CreatedAt: at(time.Hour), UpdatedAt: at(2 * time.Hour),
	}
	updated, err := s.UpdateUser(ctx, "u1", func(u *store.User) error { *u = update; return nil })
	if err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	want := update
	want.Username, want.CreatedAt = alice.Username, alice.CreatedAt
	got, err = s.UserByID(ctx, "u1")
	if err != nil {
		t.Fatalf("UserByID after update: %v", err)
	}
	diff(t, "updated user", want, got)
	diff(t, "UpdateUser's result", want, updated)
	_, err = s.UpdateUser(ctx, "nobody", func(*store.User) error { return nil })
	wantErr(t, "UpdateUser(unknown)", err, store.ErrNotFound)

	// A change's own error is returned as it is and writes nothing.
	refusal := errors.New("refused")
	_, err = s.UpdateUser(ctx, "u1", func(u *store.User) error { u.DisplayName = "changed"; return refusal })
	if err != refusal {
		t.Errorf("UpdateUser with a refusing change = %v; want the change's error", err)
	}
	if got, _ := s.UserByID(ctx, "u1"); got.DisplayName != want.DisplayName {
		t.Errorf("a refused change was written: display name %q", got.DisplayName)
	}
}

// replaceUser writes u's mutable fields over the stored user's.
func replaceUser(ctx context.Context, s store.Store, u store.User) error {
	_, err := s.UpdateUser(ctx, u.ID, func(stored *store.User) error { *stored = u; return nil })
	return err
}

func testUserGroups(t *testing.T, s store.Store) {
	ctx := t.Context()
	groups := []string{"jira-users", "Ops, \"night\" shift", "開発", ""}
	u := store.User{ID: "u1", Username: "alice", Groups: groups, CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	got, err := s.UserByID(ctx, "u1")
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	diff(t, "groups", groups, got.Groups)

	u.Groups = []string{"admins"}
	if err := replaceUser(ctx, s, u); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	got, err = s.UserByUsername(ctx, "alice")
	if err != nil {
		t.Fatalf("UserByUsername: %v", err)
	}
	diff(t, "updated groups", u.Groups, got.Groups)

	u.Groups = nil
	if err := replaceUser(ctx, s, u); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	got, err = s.UserByID(ctx, "u1")
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	if len(got.Groups) != 0 {
		t.Errorf("groups after clearing = %q, want none", got.Groups)
	}
}

func testGroupNames(t *testing.T, s store.Store) {
	ctx := t.Context()
	names := func(what string, want []string) {
		t.Helper()
		got, err := s.GroupNames(ctx)
		if err != nil {
			t.Fatalf("GroupNames: %v", err)
		}
		if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s: GroupNames mismatch (-want +got):\n%s", what, d)
		}
	}
	names("no users", nil)
	for i, groups := range [][]string{
		{"ops", "開発", "Ops, \"night\" shift"},
		{"dev", "ops"},
		{"dev", "ops"}, // the same list again
		nil,
		{"ops", "dev"}, // the same names in another order
	} {
		u := store.User{ID: fmt.Sprint("u", i), Username: fmt.Sprint("user", i), Groups: groups, CreatedAt: t0, UpdatedAt: t0}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
	}
	names("five users", []string{"Ops, \"night\" shift", "dev", "ops", "開発"})
	// A group whose last member leaves is gone.
	u, err := s.UserByID(ctx, "u0")
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	u.Groups = []string{"ops"}
	if err := replaceUser(ctx, s, u); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	names("after an edit", []string{"dev", "ops"})
}

func testUserSessionsAfter(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := store.User{ID: "u1", Username: "alice", SessionsAfter: at(-time.Hour), CreatedAt: t0, UpdatedAt: t0}
	bob := store.User{ID: "u2", Username: "bob", CreatedAt: t0, UpdatedAt: t0}
	for _, u := range []store.User{alice, bob} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser(%s): %v", u.Username, err)
		}
	}
	check := func(what string, want ...store.User) {
		t.Helper()
		for _, u := range want {
			got, err := s.UserByID(ctx, u.ID)
			if err != nil {
				t.Fatalf("UserByID(%s): %v", u.ID, err)
			}
			diff(t, what+": UserByID("+u.ID+")", u, got)
			got, err = s.UserByUsername(ctx, u.Username)
			if err != nil {
				t.Fatalf("UserByUsername(%s): %v", u.Username, err)
			}
			diff(t, what+": UserByUsername("+u.Username+")", u, got)
		}
		byID := cmpopts.SortSlices(func(a, b store.User) bool { return a.ID < b.ID })
		if d := cmp.Diff(want, everyUser(t, s), byID, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s: every user: mismatch (-want +got):\n%s", what, d)
		}
	}
	check("created", alice, bob)
	if !bob.SessionsAfter.IsZero() {
		t.Fatal("fixture: bob must start without SessionsAfter")
	}

	// "Sign out everywhere" sets it; UpdateUser may also move it back or clear it.
	bob.SessionsAfter, bob.UpdatedAt = at(2*time.Hour), at(2*time.Hour)
	alice.SessionsAfter, alice.UpdatedAt = time.Time{}, at(3*time.Hour)
	for _, u := range []store.User{alice, bob} {
		if err := replaceUser(ctx, s, u); err != nil {
			t.Fatalf("UpdateUser(%s): %v", u.Username, err)
		}
	}
	check("updated", alice, bob)

	// Updates of other fields carry it along.
	bob.DisplayName, bob.UpdatedAt = "Bob", at(4*time.Hour)
	if err := replaceUser(ctx, s, bob); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	check("renamed", alice, bob)
}

func testClients(t *testing.T, s store.Store) {
	ctx := t.Context()
	confidential := store.Client{
		ID: "c1", Name: "Jira", Description: "issue tracker",
		SecretHash: hash("secret"), SecretSealed: []byte("sealed\x00bytes"),
		RequirePKCE: true, Enabled: true,
		RedirectURIs: []string{"https://jira.example.com/cb", "http://127.0.0.1/cb"},
		Scopes:       []string{"READ", "WRITE"}, Grants: []string{"authorization_code", "refresh_token"},
		SubscriberUsers: []string{"alice"}, SubscriberGroups: []string{"dev"},
		AllowedIPs: []string{"10.0.0.0/8", "::1/128"}, IntrospectAny: true,
		CreatedAt: t0, UpdatedAt: t0,
	}
	public := store.Client{ID: "c2", Name: "CLI", Public: true, CreatedAt: at(time.Minute), UpdatedAt: at(time.Minute)}
	for _, c := range []store.Client{confidential, public} {
		if err := s.CreateClient(ctx, c, 0); err != nil {
			t.Fatalf("CreateClient(%s): %v", c.ID, err)
		}
	}
	for _, want := range []store.Client{confidential, public} {
		got, err := s.ClientByID(ctx, want.ID)
		if err != nil {
			t.Fatalf("ClientByID(%s): %v", want.ID, err)
		}
		diff(t, "ClientByID("+want.ID+")", want, got)
	}
	got, err := s.ClientByID(ctx, "c2")
	if err != nil {
		t.Fatalf("ClientByID: %v", err)
	}
	if got.SecretHash != nil || got.SecretSealed != nil {
		t.Errorf("public client secrets = %q, %q; want nil", got.SecretHash, got.SecretSealed)
	}

	err = s.CreateClient(ctx, store.Client{ID: "c1", Name: "again"}, 0)
	wantErr(t, "CreateClient with a taken ID", err, store.ErrConflict)
	_, err = s.ClientByID(ctx, "nope")
	wantErr(t, "ClientByID(unknown)", err, store.ErrNotFound)

	list, err := s.ListClients(ctx)
	if err != nil {
		t.Fatalf("ListClients: %v", err)
	}
	byID := cmpopts.SortSlices(func(a, b store.Client) bool { return a.ID < b.ID })
	if d := cmp.Diff([]store.Client{confidential, public}, list, byID, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("ListClients mismatch (-want +got):\n%s", d)
	}

	// UpdateClient writes every field but ID, CreatedAt and HasLogo.
	update := store.Client{
		ID: "c1", Name: "Jira DC", Description: "", Public: true, RequirePKCE: false, Enabled: false,
		RedirectURIs: []string{"https://jira2.example.com/cb"}, Scopes: []string{"READ"},
		Grants: []string{"authorization_code"}, AllowedIPs: []string{"192.0.2.0/24"},
		CreatedAt: at(time.Hour), UpdatedAt: at(2 * time.Hour),
	}
	var seen store.Client
	answered, err := s.UpdateClient(ctx, "c1", func(c *store.Client) error {
		seen, *c = *c, update
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateClient: %v", err)
	}
	diff(t, "client given to the change", confidential, seen)
	want := update
	want.CreatedAt = confidential.CreatedAt
	diff(t, "UpdateClient's answer", want, answered)
	got, err = s.ClientByID(ctx, "c1")
	if err != nil {
		t.Fatalf("ClientByID after update: %v", err)
	}
	diff(t, "updated client", want, got)
	_, err = s.UpdateClient(ctx, "nope", func(*store.Client) error { return nil })
	wantErr(t, "UpdateClient(unknown)", err, store.ErrNotFound)
	err = s.DeleteClient(ctx, "nope", nil)
	wantErr(t, "DeleteClient(unknown)", err, store.ErrNotFound)
}

func testClientLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, id := range []string{"c1", "c2"} {
		if err := s.CreateClient(ctx, store.Client{ID: id, Name: id, CreatedAt: t0}, 2); err != nil {
			t.Fatalf("CreateClient(%s) under limit: %v", id, err)
		}
	}
	err := s.CreateClient(ctx, store.Client{ID: "c3", Name: "c3", CreatedAt: t0}, 2)
	wantErr(t, "CreateClient over limit", err, store.ErrLimit)
	_, err = s.ClientByID(ctx, "c3")
	wantErr(t, "ClientByID of the refused client", err, store.ErrNotFound)

	if err := s.CreateClient(ctx, store.Client{ID: "c3", Name: "c3", CreatedAt: t0}, 0); err != nil {
		t.Fatalf("CreateClient without limit: %v", err)
	}
	err = s.CreateClient(ctx, store.Client{ID: "c4", Name: "c4", CreatedAt: t0}, 3)
	wantErr(t, "CreateClient at limit 3 with 3 clients", err, store.ErrLimit)
}

func testDeleteClient(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "gone")
	addClient(t, s, "kept")
	for _, c := range []string{"gone", "kept"} {
		issue(t, s, pair(c, "g-"+c, c, "u1", t0))
		code := store.Code{Hash: hash("code-" + c), ClientID: c, UserID: "u1", GrantID: "g2-" + c, CreatedAt: t0, ExpiresAt: at(time.Minute)}
		if err := s.CreateCode(ctx, code); err != nil {
			t.Fatalf("CreateCode: %v", err)
		}
		setLogo(t, s, c, []byte("logo of "+c), "image/png")
	}
	// allow sees the stored client; its refusal is returned and deletes nothing.
	refusal := errors.New("not this one")
	var seen store.Client
	err := s.DeleteClient(ctx, "gone", func(c store.Client) error { seen = c; return refusal })
	if !errors.Is(err, refusal) || seen.ID != "gone" || seen.Name != "gone" {
		t.Fatalf("DeleteClient with a refusing allow = %v, allow saw %q %q", err, seen.ID, seen.Name)
	}
	wantActive(t, s, t0, true, accessOf("gone"), refreshOf("gone"))
	wantLogo(t, s, "gone", []byte("logo of gone"), "image/png")
	if err := s.DeleteClient(ctx, "gone", func(store.Client) error { return nil }); err != nil {
		t.Fatalf("DeleteClient: %v", err)
	}
	_, err = s.ClientByID(ctx, "gone")
	wantErr(t, "ClientByID after delete", err, store.ErrNotFound)
	_, err = s.CodeByHash(ctx, hash("code-gone"))
	wantErr(t, "CodeByHash of deleted client", err, store.ErrNotFound)
	wantMissing(t, s, accessOf("gone"), refreshOf("gone"))

	if _, err := s.ClientByID(ctx, "kept"); err != nil {
		t.Errorf("ClientByID(kept): %v", err)
	}
	if _, err := s.CodeByHash(ctx, hash("code-kept")); err != nil {
		t.Errorf("CodeByHash(kept): %v", err)
	}
	wantActive(t, s, t0, true, accessOf("kept"), refreshOf("kept"))
	wantLogo(t, s, "kept", []byte("logo of kept"), "image/png")

	// Writes for the deleted client — another node's cache still held it —
	// find it gone rather than fail as the database's error.
	err = s.IssueTokens(ctx, pair("gone", "g-late", "gone-late", "u1", t0))
	wantErr(t, "IssueTokens for a deleted client", err, store.ErrNotFound)
	late := store.Code{Hash: hash("code-late"), ClientID: "gone", UserID: "u1", GrantID: "g3", CreatedAt: t0, ExpiresAt: at(time.Minute)}
	err = s.DecideConsent(ctx, hash("consent-late"), at(time.Minute), &late, nil)
	wantErr(t, "DecideConsent with a code for a deleted client", err, store.ErrNotFound)

	// The logo went with the client: a new client of the same ID has none.
	_, _, err = s.ClientLogo(ctx, "gone")
	wantErr(t, "ClientLogo of deleted client", err, store.ErrNotFound)
	addClient(t, s, "gone")
	if c := client(t, s, "gone"); c.HasLogo {
		t.Error("a client re-created under a deleted one's ID has a logo")
	}
	_, _, err = s.ClientLogo(ctx, "gone")
	wantErr(t, "ClientLogo of re-created client", err, store.ErrNotFound)
}

func testClientLogo(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, c := range []string{"c1", "c2"} {
		addClient(t, s, c)
	}
	wantNoLogo(t, s, "c1")

	// A few hundred KiB of every byte value, NULs included.
	png := make([]byte, 300<<10)
	for i := range png {
		png[i] = byte(i * 7)
	}
	setLogo(t, s, "c1", png, "image/png")
	wantLogo(t, s, "c1", png, "image/png")
	wantNoLogo(t, s, "c2")
	hasLogo := func(what string, want map[string]bool) {
		t.Helper()
		list, err := s.ListClients(ctx)
		if err != nil {
			t.Fatalf("ListClients: %v", err)
		}
		got := map[string]bool{}
		for _, c := range list {
			got[c.ID] = c.HasLogo
		}
		diff(t, what+": HasLogo in ListClients", want, got)
	}
	hasLogo("c1 with a logo", map[string]bool{"c1": true, "c2": false})

	// Setting again replaces both the data and the content type.
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)
	setLogo(t, s, "c1", svg, "image/svg+xml")
	wantLogo(t, s, "c1", svg, "image/svg+xml")
	setLogo(t, s, "c2", png[:1], "image/gif")
	wantLogo(t, s, "c2", png[:1], "image/gif")
	hasLogo("both with logos", map[string]bool{"c1": true, "c2": true})

	// HasLogo is read-only: UpdateClient and CreateClient neither clear nor set a logo.
	if _, err := s.UpdateClient(ctx, "c1", func(c *store.Client) error {
		c.HasLogo, c.Name, c.UpdatedAt = false, "renamed", at(time.Hour)
		return nil
	}); err != nil {
		t.Fatalf("UpdateClient: %v", err)
	}
	wantLogo(t, s, "c1", svg, "image/svg+xml")
	if err := s.CreateClient(ctx, store.Client{ID: "c3", Name: "c3", HasLogo: true, CreatedAt: at(time.Minute)}, 0); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	wantNoLogo(t, s, "c3")
	if _, err := s.UpdateClient(ctx, "c3", func(c *store.Client) error { c.HasLogo = true; return nil }); err != nil {
		t.Fatalf("UpdateClient: %v", err)
	}
	wantNoLogo(t, s, "c3")

	// nil or empty data removes the logo; removing none is no error.
	setLogo(t, s, "c1", nil, "")
	wantNoLogo(t, s, "c1")
	setLogo(t, s, "c1", nil, "")
	wantNoLogo(t, s, "c1")
	setLogo(t, s, "c2", []byte{}, "image/png")
	wantNoLogo(t, s, "c2")
	hasLogo("logos removed", map[string]bool{"c1": false, "c2": false, "c3": false})
	setLogo(t, s, "c1", png, "image/png")
	wantLogo(t, s, "c1", png, "image/png")

	// Unknown clients.
	err := s.SetClientLogo(ctx, "nope", svg, "image/svg+xml")
	wantErr(t, "SetClientLogo(unknown)", err, store.ErrNotFound)
	err = s.SetClientLogo(ctx, "nope", nil, "")
	wantErr(t, "SetClientLogo(unknown, nil)", err, store.ErrNotFound)
	_, _, err = s.ClientLogo(ctx, "nope")
	wantErr(t, "ClientLogo(unknown)", err, store.ErrNotFound)
	_, err = s.ClientByID(ctx, "nope")
	wantErr(t, "ClientByID after SetClientLogo(unknown)", err, store.ErrNotFound)
}

func testCodes(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	code := store.Code{
		Hash: hash("code"), ClientID: "c1", UserID: "u1", RedirectURI: "https://app.example.com/cb",
		Scope: "READ", Challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", ChallengeMethod: "S256",
		GrantID: "g1", CreatedAt: t0, ExpiresAt: at(10 * time.Minute),
	}
	if err := s.CreateCode(ctx, code); err != nil {
		t.Fatalf("CreateCode: %v", err)
	}
	got, err := s.CodeByHash(ctx, code.Hash)
	if err != nil {
		t.Fatalf("CodeByHash: %v", err)
	}
	diff(t, "CodeByHash", code, got)
	_, err = s.CodeByHash(ctx, hash("other"))
	wantErr(t, "CodeByHash(unknown)", err, store.ErrNotFound)

	redeemed := at(time.Minute)
	if err := s.RedeemCode(ctx, code.Hash, redeemed, pair("first", "g1", "c1", "u1", redeemed)); err != nil {
		t.Fatalf("RedeemCode: %v", err)
	}
	got, err = s.CodeByHash(ctx, code.Hash)
	if err != nil {
		t.Fatalf("CodeByHash after redeem: %v", err)
	}
	if !got.UsedAt.Equal(redeemed) {
		t.Errorf("UsedAt = %v, want %v", got.UsedAt, redeemed)
	}
	wantActive(t, s, redeemed, true, accessOf("first"), refreshOf("first"))

	// A second redemption is a replay: it fails and revokes the first one's tokens.
	replay := at(2 * time.Minute)
	err = s.RedeemCode(ctx, code.Hash, replay, pair("second", "g1", "c1", "u1", replay))
	wantErr(t, "second RedeemCode", err, store.ErrCodeReused)
	wantActive(t, s, replay, false, accessOf("first"), refreshOf("first"))
	if r := token(t, s, accessOf("first")).RevokedAt; !r.Equal(replay) {
		t.Errorf("RevokedAt = %v, want %v", r, replay)
	}
	wantMissing(t, s, accessOf("second"), refreshOf("second"))

	// A replay seen before the exchange (the code read as used) stores
	// nothing and revokes all the same.
	again := store.Code{Hash: hash("again"), ClientID: "c1", UserID: "u1", GrantID: "g4", CreatedAt: t0, ExpiresAt: at(time.Hour)}
	if err := s.CreateCode(ctx, again); err != nil {
		t.Fatalf("CreateCode: %v", err)
	}
	if err := s.RedeemCode(ctx, again.Hash, redeemed, pair("fourth", "g4", "c1", "u1", redeemed)); err != nil {
		t.Fatalf("RedeemCode: %v", err)
	}
	err = s.RedeemCode(ctx, again.Hash, replay, store.Issue{})
	wantErr(t, "a replay that stores nothing", err, store.ErrCodeReused)
	wantActive(t, s, replay, false, accessOf("fourth"), refreshOf("fourth"))

	err = s.RedeemCode(ctx, hash("other"), replay, pair("third", "g3", "c1", "u1", replay))
	wantErr(t, "RedeemCode(unknown)", err, store.ErrNotFound)
	wantMissing(t, s, accessOf("third"))
}

func testDropCodes(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	addClient(t, s, "c2")
	codes := map[string]store.Code{}
	for _, c := range []struct{ name, client, user string }{
		{"held", "c1", "u1"}, {"held too", "c1", "u1"}, {"redeemed", "c1", "u1"}, {"another user's", "c1", "u2"}, {"another client's", "c2", "u1"},
	} {
		code := store.Code{Hash: hash(c.name), ClientID: c.client, UserID: c.user, GrantID: "g-" + c.name, CreatedAt: t0, ExpiresAt: at(10 * time.Minute)}
		if err := s.CreateCode(ctx, code); err != nil {
			t.Fatalf("CreateCode(%s): %v", c.name, err)
		}
		codes[c.name] = code
	}
	if _, err := s.CodeByHash(ctx, hash("held")); err != nil { // read once: a cache may hold it now
		t.Fatal(err)
	}
	if err := s.RedeemCode(ctx, hash("redeemed"), at(time.Minute), pair("redeemed", "g-redeemed", "c1", "u1", at(time.Minute))); err != nil {
		t.Fatal(err)
	}
	n, err := s.DropCodes(ctx, "u1", "c1")
	if err != nil || n != 2 {
		t.Fatalf("DropCodes = %d, %v; want 2, nil", n, err)
	}
	for _, name := range []string{"held", "held too"} {
		_, err := s.CodeByHash(ctx, hash(name))
		wantErr(t, "CodeByHash of a dropped code", err, store.ErrNotFound)
		err = s.RedeemCode(ctx, hash(name), at(2*time.Minute), pair(name, "g-"+name, "c1", "u1", at(2*time.Minute)))
		wantErr(t, "RedeemCode of a dropped code", err, store.ErrNotFound)
	}
	for _, name := range []string{"redeemed", "another user's", "another client's"} {
		if _, err := s.CodeByHash(ctx, hash(name)); err != nil {
			t.Errorf("CodeByHash(%s) after DropCodes: %v", name, err)
		}
	}
	// The redeemed code is still there to catch a replay.
	err = s.RedeemCode(ctx, hash("redeemed"), at(3*time.Minute), store.Issue{})
	wantErr(t, "a replay after DropCodes", err, store.ErrCodeReused)
}

func testCodeExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	issue(t, s, pair("earlier", "g1", "c1", "u1", t0))
	code := store.Code{Hash: hash("code"), ClientID: "c1", UserID: "u1", GrantID: "g1", CreatedAt: t0, ExpiresAt: at(time.Minute)}
	if err := s.CreateCode(ctx, code); err != nil {
		t.Fatalf("CreateCode: %v", err)
	}
	err := s.RedeemCode(ctx, code.Hash, code.ExpiresAt, pair("late", "g1", "c1", "u1", code.ExpiresAt))
	wantErr(t, "RedeemCode at expiry", err, store.ErrNotFound)
	wantMissing(t, s, accessOf("late"))
	got, err := s.CodeByHash(ctx, code.Hash)
	if err != nil {
		t.Fatalf("CodeByHash: %v", err)
	}
	if !got.UsedAt.IsZero() {
		t.Errorf("expired code marked used at %v", got.UsedAt)
	}
	// Expiry is no replay: the grant's tokens stay valid.
	wantActive(t, s, t0, true, accessOf("earlier"), refreshOf("earlier"))
}

func testRotate(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	issue(t, s, pair("r1", "g1", "c1", "u1", t0))

	now := at(time.Minute)
	if err := s.RotateRefreshToken(ctx, refreshOf("r1"), now, store.ReuseGrace{}, pair("r2", "g1", "c1", "u1", now)); err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}
	old := token(t, s, refreshOf("r1"))
	if !old.RotatedAt.Equal(now) || !old.RevokedAt.IsZero() {
		t.Errorf("old refresh rotated %v revoked %v; want rotated %v, not revoked", old.RotatedAt, old.RevokedAt, now)
	}
	wantActive(t, s, now, false, refreshOf("r1"), accessOf("r1"))
	if r := token(t, s, accessOf("r1")).RevokedAt; !r.Equal(now) {
		t.Errorf("old access RevokedAt = %v, want %v", r, now)
	}
	wantActive(t, s, now, true, refreshOf("r2"), accessOf("r2"))

	later := at(2 * time.Minute)
	if err := s.RotateRefreshToken(ctx, refreshOf("r2"), later, store.ReuseGrace{}, pair("r3", "g1", "c1", "u1", later)); err != nil {
		t.Fatalf("second RotateRefreshToken: %v", err)
	}
	wantActive(t, s, later, true, refreshOf("r3"), accessOf("r3"))
	wantActive(t, s, later, false, refreshOf("r2"), accessOf("r2"))
}

func testRotateGrace(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	issue(t, s, pair("r1", "g1", "c1", "u1", t0))
	grace := store.ReuseGrace{Window: 10 * time.Second, Max: 2}
	rotated := at(time.Minute)
	if err := s.RotateRefreshToken(ctx, refreshOf("r1"), rotated, grace, pair("r2", "g1", "c1", "u1", rotated)); err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}

	// A pair minted in the window must belong to the same grant.
	if err := s.RotateRefreshToken(ctx, refreshOf("r1"), rotated, grace, pair("stray", "g-other", "c1", "u1", rotated)); err == nil {
		t.Error("a reuse minting a pair of another grant succeeded")
	}
	wantMissing(t, s, refreshOf("stray"))

	// Retries up to the end of the window get sibling pairs, Max times.
	retry := rotated.Add(grace.Window)
	for _, name := range []string{"r2b", "r2c"} {
		if err := s.RotateRefreshToken(ctx, refreshOf("r1"), retry, grace, pair(name, "g1", "c1", "u1", retry)); err != nil {
			t.Fatalf("RotateRefreshToken within grace: %v", err)
		}
	}
	wantActive(t, s, retry, true, refreshOf("r2"), accessOf("r2"), refreshOf("r2b"), accessOf("r2b"), refreshOf("r2c"))
	wantActive(t, s, retry, false, refreshOf("r1"))

	// One reuse more than Max, even inside the window, is a replay: the whole grant goes.
	err := s.RotateRefreshToken(ctx, refreshOf("r1"), retry, grace, pair("r2d", "g1", "c1", "u1", retry))
	wantErr(t, "RotateRefreshToken past the reuse count", err, store.ErrTokenReused)
	wantMissing(t, s, refreshOf("r2d"))
	if got := activeHashes(t, s, store.TokenFilter{}, retry); len(got) != 0 {
		t.Errorf("%d tokens still active after reuse, want 0", len(got))
	}
	for _, h := range [][]byte{refreshOf("r2"), accessOf("r2"), refreshOf("r2b"), accessOf("r2b")} {
		if r := token(t, s, h).RevokedAt; !r.Equal(retry) {
			t.Errorf("token %x RevokedAt = %v, want %v", h[:4], r, retry)
		}
	}

	// Past the window, the first reuse is a replay.
	issue(t, s, pair("q1", "g2", "c1", "u1", t0))
	if err := s.RotateRefreshToken(ctx, refreshOf("q1"), rotated, grace, pair("q2", "g2", "c1", "u1", rotated)); err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}
	late := rotated.Add(grace.Window + time.Millisecond)
	err = s.RotateRefreshToken(ctx, refreshOf("q1"), late, grace, pair("q2b", "g2", "c1", "u1", late))
	wantErr(t, "RotateRefreshToken past the window", err, store.ErrTokenReused)
	wantActive(t, s, late, false, refreshOf("q2"), accessOf("q2"))

	// A retry inside the window of a token whose own (idle) expiry passed
	// since its rotation is an expired token, not a replay: refused, and
	// the grant it rotated into stays.
	idle := pair("e1", "g3", "c1", "u1", t0)
	idle.Refresh.ExpiresAt = rotated.Add(time.Second)
	issue(t, s, idle)
	if err := s.RotateRefreshToken(ctx, refreshOf("e1"), rotated, grace, pair("e2", "g3", "c1", "u1", rotated)); err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}
	retry = rotated.Add(2 * time.Second) // inside the window, past e1's expiry
	err = s.RotateRefreshToken(ctx, refreshOf("e1"), retry, grace, pair("e2b", "g3", "c1", "u1", retry))
	wantErr(t, "a retry in the window of a token expired since", err, store.ErrNotFound)
	wantMissing(t, s, refreshOf("e2b"))
	wantActive(t, s, retry, true, refreshOf("e2"), accessOf("e2"))
}

func testRotateNoGrace(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	issue(t, s, pair("r1", "g1", "c1", "u1", t0))
	issue(t, s, pair("other", "g2", "c1", "u1", t0))
	now := at(time.Minute)
	if err := s.RotateRefreshToken(ctx, refreshOf("r1"), now, store.ReuseGrace{}, pair("r2", "g1", "c1", "u1", now)); err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}
	// With no grace even an immediate retry is a replay.
	err := s.RotateRefreshToken(ctx, refreshOf("r1"), now, store.ReuseGrace{}, pair("r2b", "g1", "c1", "u1", now))
	wantErr(t, "immediate re-rotation", err, store.ErrTokenReused)
	wantActive(t, s, now, false, refreshOf("r2"), accessOf("r2"))
	wantMissing(t, s, refreshOf("r2b"))
	wantActive(t, s, now, true, refreshOf("other"), accessOf("other"))

	// Later replays of the rotated, now revoked, token still report reuse.
	err = s.RotateRefreshToken(ctx, refreshOf("r1"), at(time.Hour), store.ReuseGrace{}, pair("r2c", "g1", "c1", "u1", at(time.Hour)))
	wantErr(t, "later replay", err, store.ErrTokenReused)
}

func testRotateNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	issue(t, s, pair("revoked", "g1", "c1", "u1", t0))
	issue(t, s, pair("expiring", "g2", "c1", "u1", t0))
	if err := s.RevokeToken(ctx, refreshOf("revoked"), at(time.Minute)); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	expired := token(t, s, refreshOf("expiring")).ExpiresAt
	cases := []struct {
		name string
		old  []byte
		now  time.Time
	}{
		{"unknown", hash("nothing"), at(time.Minute)},
		{"revoked", refreshOf("revoked"), at(2 * time.Minute)},
		{"expired", refreshOf("expiring"), expired},
		{"access token", accessOf("expiring"), at(time.Minute)},
	}
	for i, c := range cases {
		name := fmt.Sprint("new", i)
		err := s.RotateRefreshToken(ctx, c.old, c.now, store.ReuseGrace{Window: time.Minute, Max: 5}, pair(name, "g", "c1", "u1", c.now))
		wantErr(t, "RotateRefreshToken("+c.name+")", err, store.ErrNotFound)
		wantMissing(t, s, refreshOf(name), accessOf(name))
	}
	// Not found is no replay: nothing else was revoked.
	wantActive(t, s, at(2*time.Minute), true, accessOf("revoked"), accessOf("expiring"))
}

func testRefreshCap(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, c := range []string{"c1", "c2"} {
		addClient(t, s, c)
	}
	issue(t, s, capped("u1-c2", "g-x", "c2", "u1", t0, 3))
	issue(t, s, capped("u2-c1", "g-y", "c1", "u2", t0, 3))
	withUserActive := func(h []byte, now time.Time) bool { // the hot paths' read, which a node may serve from memory
		t.Helper()
		tok, _, err := s.TokenWithUser(ctx, h)
		if err != nil {
			t.Fatalf("TokenWithUser: %v", err)
		}
		return tok.Active(now)
	}
	for i := range 4 {
		name := fmt.Sprint("t", i)
		if i == 3 && (!withUserActive(refreshOf("t0"), t0) || !withUserActive(accessOf("t0"), t0)) {
			t.Fatal("t0's tokens are not active before the cap is reached")
		}
		issue(t, s, capped(name, "g-"+name, "c1", "u1", at(time.Duration(i+1)*time.Minute), 3))
	}
	now := at(5 * time.Minute)
	wantActive(t, s, now, false, refreshOf("t0"), accessOf("t0"))
	if withUserActive(refreshOf("t0"), now) || withUserActive(accessOf("t0"), now) {
		t.Error("a token the cap revoked is still active when read with its user")
	}
	wantActive(t, s, now, true, refreshOf("t1"), refreshOf("t2"), refreshOf("t3"), accessOf("t3"))
	wantActive(t, s, now, true, refreshOf("u1-c2"), refreshOf("u2-c1"))

	// The cap applies to tokens stored by RedeemCode too.
	code := store.Code{Hash: hash("code"), ClientID: "c1", UserID: "u1", GrantID: "g-code", CreatedAt: now, ExpiresAt: at(time.Hour)}
	if err := s.CreateCode(ctx, code); err != nil {
		t.Fatalf("CreateCode: %v", err)
	}
	if err := s.RedeemCode(ctx, code.Hash, now, capped("code", "g-code", "c1", "u1", now, 3)); err != nil {
		t.Fatalf("RedeemCode: %v", err)
	}
	wantActive(t, s, now, false, refreshOf("t1"), accessOf("t1"))
	wantActive(t, s, now, true, refreshOf("t2"), refreshOf("t3"), refreshOf("code"))

	// Tokens without a user (client credentials) are never capped.
	for i := range 4 {
		name := fmt.Sprint("cc", i)
		issue(t, s, capped(name, "g-"+name, "c2", "", at(time.Duration(i)*time.Second), 3))
		issue(t, s, store.Issue{Access: store.Token{Hash: hash(name + "/solo"), Kind: store.KindAccess, ClientID: "c2", CreatedAt: t0}, RefreshCap: 3})
		wantActive(t, s, now, true, hash(name+"/solo"))
	}
	for i := range 4 {
		wantActive(t, s, now, true, refreshOf(fmt.Sprint("cc", i)), accessOf(fmt.Sprint("cc", i)))
	}
}

func testTokenWithUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	alice := store.User{
		ID: "u1", Username: "alice", DisplayName: "Alice", Email: "alice@example.com", PasswordHash: "phc",
		Level: store.LevelAdmin, Groups: []string{"dev", "開発"}, SessionsAfter: at(time.Second),
		CreatedAt: t0, UpdatedAt: at(time.Minute),
	}
	if err := s.CreateUser(ctx, alice); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	issue(t, s, pair("p1", "g1", "c1", "u1", t0))
	// Her tokens are read with her user row as it is now.
	alice.Disabled = true
	if _, err := s.UpdateUser(ctx, "u1", func(u *store.User) error { u.Disabled = true; return nil }); err != nil {
		t.Fatalf("disable: %v", err)
	}
	err := s.IssueTokens(ctx, pair("p2", "g4", "c1", "u1", t0))
	wantErr(t, "IssueTokens for a disabled user", err, store.ErrNotFound)
	issue(t, s, pair("machine", "g2", "c1", "", t0))
	issue(t, s, pair("orphan", "g3", "c1", "gone", t0))

	tok, u, err := s.TokenWithUser(ctx, accessOf("p1"))
	if err != nil {
		t.Fatalf("TokenWithUser: %v", err)
	}
	diff(t, "token", token(t, s, accessOf("p1")), tok)
	if u == nil {
		t.Fatal("TokenWithUser: no user for a user's token")
	}
	diff(t, "user", alice, *u)

	for _, name := range []string{"machine", "orphan"} {
		tok, u, err := s.TokenWithUser(ctx, refreshOf(name))
		if err != nil || u != nil {
			t.Errorf("TokenWithUser(%s) = user %v, %v; want no user, nil", name, u, err)
		}
		diff(t, name, token(t, s, refreshOf(name)), tok)
	}
	if _, _, err := s.TokenWithUser(ctx, hash("missing")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TokenWithUser(missing) error = %v, want ErrNotFound", err)
	}

	// CachedTokenWithUser may know nothing, but what it answers is current.
	if ct, cu, ok := s.CachedTokenWithUser(accessOf("p1")); ok {
		diff(t, "cached token", tok, ct)
		if cu == nil {
			t.Fatal("CachedTokenWithUser: no user for a user's token")
		}
		diff(t, "cached user", alice, *cu)
	}
	if _, _, ok := s.CachedTokenWithUser(hash("missing")); ok {
		t.Error("CachedTokenWithUser found a token never issued")
	}
	revokedAt := at(time.Hour)
	if err := s.RevokeToken(ctx, accessOf("p1"), revokedAt); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	if ct, _, ok := s.CachedTokenWithUser(accessOf("p1")); ok && !ct.RevokedAt.Equal(revokedAt) {
		t.Errorf("CachedTokenWithUser after a revocation: RevokedAt %v, want %v", ct.RevokedAt, revokedAt)
	}
	s.TokenWithUser(ctx, refreshOf("p1")) //nolint:errcheck // a read that a cache may keep
	if _, err := s.UpdateUser(ctx, "u1", func(u *store.User) error { u.Level = store.LevelUser; return nil }); err != nil {
		t.Fatalf("lower level: %v", err)
	}
	if _, cu, ok := s.CachedTokenWithUser(refreshOf("p1")); ok && (cu == nil || cu.Level != store.LevelUser) {
		t.Errorf("CachedTokenWithUser after the user's level was lowered: %+v", cu)
	}
}

func testRevokeToken(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	issue(t, s, pair("p", "g1", "c1", "u1", t0))
	now := at(time.Minute)
	if err := s.RevokeToken(ctx, accessOf("p"), now); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	if r := token(t, s, accessOf("p")).RevokedAt; !r.Equal(now) {
		t.Errorf("RevokedAt = %v, want %v", r, now)
	}
	wantActive(t, s, now, true, refreshOf("p"))
	if err := s.RevokeToken(ctx, accessOf("p"), at(time.Hour)); err != nil {
		t.Errorf("RevokeToken of a revoked token: %v", err)
	}
	wantActive(t, s, at(time.Hour), false, accessOf("p"))
	err := s.RevokeToken(ctx, hash("nothing"), now)
	wantErr(t, "RevokeToken(unknown)", err, store.ErrNotFound)
}

func testRevokeGrant(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	issue(t, s, pair("a", "g1", "c1", "u1", t0))
	issue(t, s, pair("b", "g1", "c1", "u1", t0))
	issue(t, s, pair("other", "g2", "c1", "u1", t0))
	if err := s.RevokeToken(ctx, accessOf("a"), t0); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	now := at(time.Minute)
	n, err := s.RevokeGrant(ctx, "g1", now)
	if err != nil || n != 3 {
		t.Errorf("RevokeGrant = %d, %v; want 3, nil", n, err)
	}
	wantActive(t, s, now, false, refreshOf("a"), accessOf("b"), refreshOf("b"))
	wantActive(t, s, now, true, accessOf("other"), refreshOf("other"))
	if n, err := s.RevokeGrant(ctx, "g1", now); err != nil || n != 0 {
		t.Errorf("second RevokeGrant = %d, %v; want 0, nil", n, err)
	}
	if n, err := s.RevokeGrant(ctx, "unknown", now); err != nil || n != 0 {
		t.Errorf("RevokeGrant(unknown) = %d, %v; want 0, nil", n, err)
	}
}

func testListActiveTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, c := range []string{"c1", "c2"} {
		addClient(t, s, c)
	}
	issue(t, s, pair("c1u1", "g1", "c1", "u1", at(1*time.Minute)))
	issue(t, s, pair("c1u2", "g2", "c1", "u2", at(2*time.Minute)))
	issue(t, s, pair("c2u1", "g3", "c2", "u1", at(3*time.Minute)))
	issue(t, s, store.Issue{Access: store.Token{Hash: hash("cc"), Kind: store.KindAccess, ClientID: "c2", CreatedAt: at(4 * time.Minute)}})
	// Neither expired, revoked nor rotated tokens are listed.
	expired := pair("expired", "g4", "c1", "u1", at(-2*time.Hour))
	issue(t, s, store.Issue{Access: expired.Access})
	issue(t, s, pair("revoked", "g5", "c1", "u1", at(5*time.Minute)))
	if _, err := s.RevokeGrant(ctx, "g5", at(6*time.Minute)); err != nil {
		t.Fatalf("RevokeGrant: %v", err)
	}
	issue(t, s, pair("old", "g6", "c1", "u1", at(7*time.Minute)))
	if err := s.RotateRefreshToken(ctx, refreshOf("old"), at(8*time.Minute), store.ReuseGrace{}, pair("new", "g6", "c1", "u1", at(8*time.Minute))); err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}

	now := at(10 * time.Minute)
	both := func(names ...string) [][]byte {
		var hs [][]byte
		for _, n := range names {
			hs = append(hs, accessOf(n), refreshOf(n))
		}
		return hs
	}
	cases := []struct {
		filter store.TokenFilter
		want   [][]byte
	}{
		{store.TokenFilter{}, append(both("new", "c2u1", "c1u2", "c1u1"), hash("cc"))},
		{store.TokenFilter{ClientID: "c1"}, both("new", "c1u2", "c1u1")},
		{store.TokenFilter{UserID: "u1"}, both("new", "c2u1", "c1u1")},
		{store.TokenFilter{Kind: store.KindRefresh}, [][]byte{refreshOf("new"), refreshOf("c2u1"), refreshOf("c1u2"), refreshOf("c1u1")}},
		{store.TokenFilter{ClientID: "c1", UserID: "u1", Kind: store.KindAccess}, [][]byte{accessOf("new"), accessOf("c1u1")}},
		{store.TokenFilter{GrantIDs: []string{"g6"}}, both("new")},
		{store.TokenFilter{GrantIDs: []string{"g6", "g1", "g5"}}, both("new", "c1u1")}, // g5 is revoked
		{store.TokenFilter{UserID: "u2", GrantIDs: []string{"g1"}}, nil},
		{store.TokenFilter{ClientID: "nobody"}, nil},
	}
	sortHashes := cmpopts.SortSlices(func(a, b []byte) bool { return string(a) < string(b) })
	for _, c := range cases {
		toks, err := s.ListActiveTokens(ctx, c.filter, now)
		if err != nil {
			t.Fatalf("ListActiveTokens(%+v): %v", c.filter, err)
		}
		var got [][]byte
		for i, tok := range toks {
			got = append(got, tok.Hash)
			// A pair shares created_at, so only newest-first is checked, not the order of ties.
			if i > 0 && tok.CreatedAt.After(toks[i-1].CreatedAt) {
				t.Errorf("ListActiveTokens(%+v): token %d is newer than the one before", c.filter, i)
			}
		}
		if d := cmp.Diff(c.want, got, sortHashes, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("ListActiveTokens(%+v) mismatch (-want +got):\n%s", c.filter, d)
		}
	}

	// The same tokens' grants, most recently used first: g6 rotated at 8
	// minutes, the client-credentials token (no grant ID here) at 4, g3 at 3…
	grantCases := []struct {
		filter store.TokenFilter
		limit  int
		want   []string
		total  int
	}{
		{store.TokenFilter{}, 0, []string{"g6", "", "g3", "g2", "g1"}, 5},
		{store.TokenFilter{}, 2, []string{"g6", ""}, 5},
		{store.TokenFilter{ClientID: "c1"}, 1, []string{"g6"}, 3},
		{store.TokenFilter{UserID: "u1", Kind: store.KindRefresh}, 10, []string{"g6", "g3", "g1"}, 3},
		{store.TokenFilter{ClientID: "c1", GrantIDs: []string{"g1", "g3", "g5"}}, 0, []string{"g1"}, 1},
		{store.TokenFilter{UserID: "nobody"}, 10, nil, 0},
	}
	for _, c := range grantCases {
		ids, total, err := s.ActiveGrants(ctx, c.filter, now, c.limit)
		if err != nil {
			t.Fatalf("ActiveGrants(%+v, %d): %v", c.filter, c.limit, err)
		}
		if d := cmp.Diff(c.want, ids, cmpopts.EquateEmpty()); d != "" || total != c.total {
			t.Errorf("ActiveGrants(%+v, %d) = %d in all, want %d; IDs (-want +got):\n%s", c.filter, c.limit, total, c.total, d)
		}
	}
}

func testClientUsage(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, c := range []string{"c1", "c2", "idle", "stale"} {
		addClient(t, s, c)
	}
	solo := func(name, client string, created, expires time.Time) {
		t.Helper()
		issue(t, s, store.Issue{Access: store.Token{Hash: hash(name), Kind: store.KindAccess, GrantID: "g-" + name, ClientID: client, CreatedAt: created, ExpiresAt: expires}})
	}
	now := at(10 * time.Minute)

	// c1: 8 active tokens, and inactive ones of every kind.
	issue(t, s, pair("a", "g-a", "c1", "u1", at(1*time.Minute))) // 2 active
	issue(t, s, pair("old", "g-old", "c1", "u1", at(2*time.Minute)))
	// Rotation: old's refresh is rotated, its access revoked; new's pair is active (+2).
	if err := s.RotateRefreshToken(ctx, refreshOf("old"), at(3*time.Minute), store.ReuseGrace{}, pair("new", "g-old", "c1", "u1", at(3*time.Minute))); err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}
	// Refresh tokens that never expire (no refresh lifetime is configured):
	// live (+2 with its access token), revoked, and rotated into a pair
	// whose access token expires (+2).
	forever := func(name, grant string, created time.Time) store.Issue {
		i := pair(name, grant, "c1", "u1", created)
		i.Refresh.ExpiresAt = time.Time{}
		return i
	}
	issue(t, s, forever("forever", "g-forever", at(5*time.Minute)))
	issue(t, s, forever("forever-revoked", "g-forever-revoked", at(5*time.Minute)))
	if _, err := s.RevokeGrant(ctx, "g-forever-revoked", at(5*time.Minute)); err != nil {
		t.Fatalf("RevokeGrant: %v", err)
	}
	issue(t, s, forever("forever-old", "g-forever-old", at(2*time.Minute)))
	if err := s.RotateRefreshToken(ctx, refreshOf("forever-old"), at(4*time.Minute), store.ReuseGrace{}, pair("forever-new", "g-forever-old", "c1", "u1", at(4*time.Minute))); err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}
	solo("expired", "c1", at(-2*time.Hour), at(-time.Hour))
	solo("expiring-now", "c1", at(-50*time.Minute), now)
	// The newest token, revoked at once.
	issue(t, s, pair("revoked", "g-rev", "c1", "u1", at(9*time.Minute)))
	if _, err := s.RevokeGrant(ctx, "g-rev", at(9*time.Minute)); err != nil {
		t.Fatalf("RevokeGrant: %v", err)
	}
	// c2: one pair and one revoked access token.
	issue(t, s, pair("c2", "g-c2", "c2", "u2", at(6*time.Minute)))
	solo("c2-revoked", "c2", at(4*time.Minute), at(time.Hour))
	if err := s.RevokeToken(ctx, hash("c2-revoked"), at(4*time.Minute)); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	// stale: no active token left, but it has issued one.
	solo("stale", "stale", at(-3*time.Hour), at(-2*time.Hour))
	// idle has never had a token: it is absent.

	usage := func(now time.Time, want map[string]store.Usage) {
		t.Helper()
		got, err := s.ClientUsage(ctx, now)
		if err != nil {
			t.Fatalf("ClientUsage: %v", err)
		}
		diff(t, fmt.Sprintf("ClientUsage at %v", now.Sub(t0)), want, got)
	}
	usage(now, map[string]store.Usage{
		"c1":    {ActiveTokens: 8, LastIssued: at(9 * time.Minute)},
		"c2":    {ActiveTokens: 2, LastIssued: at(6 * time.Minute)},
		"stale": {ActiveTokens: 0, LastIssued: at(-3 * time.Hour)},
	})
	// An hour later the access tokens have expired; the live refresh tokens remain.
	usage(at(2*time.Hour), map[string]store.Usage{
		"c1":    {ActiveTokens: 4, LastIssued: at(9 * time.Minute)},
		"c2":    {ActiveTokens: 1, LastIssued: at(6 * time.Minute)},
		"stale": {ActiveTokens: 0, LastIssued: at(-3 * time.Hour)},
	})
	// Earlier the expired tokens were active still; revoked and rotated ones never are.
	usage(at(-150*time.Minute), map[string]store.Usage{
		"c1":    {ActiveTokens: 10, LastIssued: at(9 * time.Minute)},
		"c2":    {ActiveTokens: 2, LastIssued: at(6 * time.Minute)},
		"stale": {ActiveTokens: 1, LastIssued: at(-3 * time.Hour)},
	})

	// A deleted client's tokens are gone with it.
	if err := s.DeleteClient(ctx, "c2", nil); err != nil {
		t.Fatalf("DeleteClient: %v", err)
	}
	got, err := s.ClientUsage(ctx, now)
	if err != nil {
		t.Fatalf("ClientUsage: %v", err)
	}
	if _, ok := got["c2"]; ok {
		t.Error("ClientUsage reports a deleted client")
	}
}

func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	find := func(token string, now time.Time) ([]byte, bool) {
		t.Helper()
		data, found, err := s.FindSession(ctx, token, now)
		if err != nil {
			t.Fatalf("FindSession: %v", err)
		}
		return data, found
	}
	if _, found := find("s1", t0); found {
		t.Error("FindSession found a session never committed")
	}
	if err := s.CommitSession(ctx, "s1", []byte("one"), at(time.Hour)); err != nil {
		t.Fatalf("CommitSession: %v", err)
	}
	if data, found := find("s1", t0); !found || string(data) != "one" {
		t.Errorf("FindSession = %q, %v; want \"one\", true", data, found)
	}
	if _, found := find("s1", at(time.Hour)); found {
		t.Error("FindSession found a session at its expiry")
	}
	if err := s.CommitSession(ctx, "s1", []byte("two"), at(2*time.Hour)); err != nil {
		t.Fatalf("CommitSession again: %v", err)
	}
	if data, found := find("s1", at(time.Hour)); !found || string(data) != "two" {
		t.Errorf("FindSession after recommit = %q, %v; want \"two\", true", data, found)
	}
	if err := s.CommitSession(ctx, "empty", nil, at(time.Hour)); err != nil {
		t.Fatalf("CommitSession with no data: %v", err)
	}
	if data, found := find("empty", t0); !found || len(data) != 0 {
		t.Errorf("FindSession(empty) = %q, %v; want empty, true", data, found)
	}
	for _, c := range []struct {
		now  time.Time
		want int
	}{{t0, 2}, {at(time.Hour), 1}, {at(2 * time.Hour), 0}} {
		if n, err := s.CountSessions(ctx, c.now); err != nil || n != c.want {
			t.Errorf("CountSessions(%v) = %d, %v; want %d", c.now, n, err, c.want)
		}
	}
	if err := s.DeleteSession(ctx, "s1"); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	if _, found := find("s1", t0); found {
		t.Error("FindSession found a deleted session")
	}
	if err := s.DeleteSession(ctx, "never"); err != nil {
		t.Errorf("DeleteSession(unknown): %v", err)
	}
	// UpdateSession writes only a session that is still there: a request
	// that loaded it before a sign-out deleted it must not bring it back.
	if found, err := s.UpdateSession(ctx, "s1", []byte("back"), at(3*time.Hour)); err != nil || found {
		t.Errorf("UpdateSession(deleted) = %v, %v; want false", found, err)
	}
	if _, found := find("s1", t0); found {
		t.Error("UpdateSession brought a deleted session back")
	}
	if err := s.CommitSession(ctx, "s2", []byte("one"), at(time.Hour)); err != nil {
		t.Fatalf("CommitSession: %v", err)
	}
	if found, err := s.UpdateSession(ctx, "s2", []byte("two"), at(2*time.Hour)); err != nil || !found {
		t.Errorf("UpdateSession(s2) = %v, %v; want true", found, err)
	}
	if data, found := find("s2", at(time.Hour)); !found || string(data) != "two" {
		t.Errorf("FindSession after UpdateSession = %q, %v; want \"two\", true", data, found)
	}
}

func testThrottle(t *testing.T, s store.Store) {
	ctx := t.Context()
	const window = 15 * time.Minute
	// add counts an attempt at now and checks the count and the start of the
	// window it was counted in.
	add := func(key string, now time.Time, want int, wantStart time.Time) {
		t.Helper()
		n, start, err := s.AddFailure(ctx, key, now, window)
		if err != nil || n != want || !start.Equal(wantStart) {
			t.Errorf("AddFailure(%s, %v) = %d, window from %v, %v; want %d, from %v",
				key, now.Sub(t0), n, start.Sub(t0), err, want, wantStart.Sub(t0))
		}
	}
	failures := func(key string, now time.Time, want int) {
		t.Helper()
		n, err := s.Failures(ctx, key, now, window)
		if err != nil || n != want {
			t.Errorf("Failures(%s, %v) = %d, %v; want %d", key, now.Sub(t0), n, err, want)
		}
	}
	release := func(key string, windowStart time.Time) {
		t.Helper()
		if err := s.ReleaseFailure(ctx, key, windowStart); err != nil {
			t.Fatalf("ReleaseFailure(%s, window from %v): %v", key, windowStart.Sub(t0), err)
		}
	}
	failures("alice", t0, 0)
	add("alice", t0, 1, t0)
	add("alice", at(time.Minute), 2, t0)
	add("alice", at(14*time.Minute), 3, t0)
	add("bob", at(14*time.Minute), 1, at(14*time.Minute))
	failures("alice", at(14*time.Minute), 3)
	failures("alice", at(window-time.Millisecond), 3)
	// The window that opened at t0 is over at t0+window: a new one starts.
	failures("alice", at(window), 0)
	add("alice", at(window), 1, at(window))
	failures("alice", at(window+time.Minute), 1)
	failures("bob", at(window+time.Minute), 1)

	if err := s.ResetFailures(ctx, "alice"); err != nil {
		t.Fatalf("ResetFailures: %v", err)
	}
	failures("alice", at(window+time.Minute), 0)
	failures("bob", at(window+time.Minute), 1)
	add("alice", at(window+time.Minute), 1, at(window+time.Minute))
	if err := s.ResetFailures(ctx, "nobody"); err != nil {
		t.Errorf("ResetFailures(unknown): %v", err)
	}

	// Releasing takes back one attempt of the window it names, never below 0.
	add("carol", t0, 1, t0)
	add("carol", t0, 2, t0)
	release("carol", t0)
	failures("carol", t0, 1)
	release("carol", t0)
	release("carol", t0)
	failures("carol", t0, 0)
	// An attempt counted late in a window and released after the next one
	// began (a sign-in stalled across the boundary) takes nothing from the
	// new window: else stalled attempts would buy guesses in it.
	add("dave", t0, 1, t0)
	add("dave", at(window), 1, at(window))
	release("dave", t0)
	failures("dave", at(window), 1)
	release("nobody", t0)
	// Concurrent attempts race to open a window: one whose clock read came
	// first may be counted in the window another opened a moment later. Its
	// release must still find that window, or a burst of right passwords
	// leaves phantom failures that lock the account out early.
	add("erin", at(time.Second), 1, at(time.Second))
	add("erin", t0, 2, at(time.Second))
	release("erin", at(time.Second))
	release("erin", at(time.Second))
	failures("erin", at(time.Second), 0)
}

// testConcurrentThrottle: concurrent attempts each get their own count, so a
// burst cannot all see "under the limit".
func testConcurrentThrottle(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 20
	var wg sync.WaitGroup
	counts := make(chan int, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := s.AddFailure(ctx, "burst", t0, 15*time.Minute)
			if err != nil {
				t.Errorf("AddFailure: %v", err)
			}
			counts <- c
		}()
	}
	wg.Wait()
	close(counts)
	seen := map[int]bool{}
	for c := range counts {
		if seen[c] {
			t.Errorf("two concurrent AddFailure calls both returned %d", c)
		}
		seen[c] = true
	}
	for i := 1; i <= n; i++ {
		if !seen[i] {
			t.Errorf("no AddFailure call returned %d", i)
		}
	}
}

func testTryLock(t *testing.T, s store.Store) {
	ctx := t.Context()
	lock := func(name, holder string, now time.Time, want bool) {
		t.Helper()
		got, err := s.TryLock(ctx, name, holder, now, time.Minute)
		if err != nil || got != want {
			t.Errorf("TryLock(%s, %s, %v) = %v, %v; want %v", name, holder, now.Sub(t0), got, err, want)
		}
	}
	lock("janitor", "a", t0, true)
	lock("janitor", "b", at(30*time.Second), false)
	lock("refresher", "b", at(30*time.Second), true)
	// a renews until 1m30s.
	lock("janitor", "a", at(30*time.Second), true)
	lock("janitor", "b", at(70*time.Second), false)
	// Expired: b takes over.
	lock("janitor", "b", at(90*time.Second), true)
	lock("janitor", "a", at(100*time.Second), false)
	// Released by its holder (a node shutting down), it is free at once;
	// released by another, it is not.
	release := func(holder string) {
		t.Helper()
		if err := s.ReleaseLock(ctx, "janitor", holder); err != nil {
			t.Fatalf("ReleaseLock(%s): %v", holder, err)
		}
	}
	release("a")
	lock("janitor", "c", at(100*time.Second), false)
	release("b")
	lock("janitor", "c", at(100*time.Second), true)
	lock("refresher", "c", at(80*time.Second), false) // b still holds its other lease
}

func testPurge(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	now := at(48 * time.Hour)
	policy := store.PurgePolicy{RevokedRetention: 24 * time.Hour, RotatedRetention: time.Hour}
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	solo := func(name string, expires time.Time) {
		issue(t, s, store.Issue{Access: store.Token{Hash: hash(name), Kind: store.KindAccess, GrantID: "g-" + name, ClientID: "c1", CreatedAt: t0, ExpiresAt: expires}})
	}
	gone, kept := [][]byte{}, [][]byte{}

	// Codes go RevokedRetention after they expired (a used one is what
	// detects its replay).
	for _, c := range []struct {
		name    string
		expires time.Time
		keep    bool
	}{{"code-expired", ago(25 * time.Hour), false}, {"code-expired-recent", ago(time.Millisecond), true}, {"code-live", now.Add(time.Minute), true}} {
		code := store.Code{Hash: hash(c.name), ClientID: "c1", GrantID: "g-" + c.name, CreatedAt: t0, ExpiresAt: c.expires}
		if err := s.CreateCode(ctx, code); err != nil {
			t.Fatalf("CreateCode: %v", err)
		}
	}

	// Tokens go once expired or revoked longer than RevokedRetention ago.
	solo("expired-long", ago(25*time.Hour))
	solo("expired-recent", ago(23*time.Hour))
	solo("revoked-long", now.Add(time.Hour))
	solo("revoked-recent", now.Add(time.Hour))
	solo("forever", time.Time{})
	for name, when := range map[string]time.Time{"revoked-long": ago(25 * time.Hour), "revoked-recent": ago(23 * time.Hour)} {
		if err := s.RevokeToken(ctx, hash(name), when); err != nil {
			t.Fatalf("RevokeToken: %v", err)
		}
	}
	gone = append(gone, hash("expired-long"), hash("revoked-long"))
	kept = append(kept, hash("expired-recent"), hash("revoked-recent"), hash("forever"))

	// Rotated refresh tokens go after RotatedRetention; their revoked access
	// tokens and their successors stay.
	for name, rotated := range map[string]time.Time{"rot-long": ago(2 * time.Hour), "rot-recent": ago(30 * time.Minute)} {
		issue(t, s, pair(name, "g-"+name, "c1", "u1", ago(3*time.Hour)))
		if err := s.RotateRefreshToken(ctx, refreshOf(name), rotated, store.ReuseGrace{}, pair(name+"-next", "g-"+name, "c1", "u1", rotated)); err != nil {
			t.Fatalf("RotateRefreshToken: %v", err)
		}
		kept = append(kept, accessOf(name), refreshOf(name+"-next"), accessOf(name+"-next"))
	}
	gone = append(gone, refreshOf("rot-long"))
	kept = append(kept, refreshOf("rot-recent"))

	// Sessions go once expired, throttle counters once their window is over.
	for token, expiry := range map[string]time.Time{"s-expired": ago(time.Second), "s-live": now.Add(time.Hour)} {
		if err := s.CommitSession(ctx, token, []byte(token), expiry); err != nil {
			t.Fatalf("CommitSession: %v", err)
		}
	}
	for key, start := range map[string]time.Time{"k-stale": ago(20 * time.Minute), "k-live": ago(5 * time.Minute)} {
		if _, _, err := s.AddFailure(ctx, key, start, 15*time.Minute); err != nil {
			t.Fatalf("AddFailure: %v", err)
		}
	}

	n, err := s.Purge(ctx, now, policy, 1000)
	if err != nil {
		t.Fatalf("Purge: %v", err)
	}
	// code, 3 tokens, session, throttle counter
	if want := int64(1 + len(gone) + 1 + 1); n != want {
		t.Errorf("Purge removed %d rows, want %d", n, want)
	}
	wantMissing(t, s, gone...)
	for _, h := range kept {
		if _, err := s.TokenByHash(ctx, h); err != nil {
			t.Errorf("TokenByHash(%x) after purge: %v", h[:4], err)
		}
	}
	_, err = s.CodeByHash(ctx, hash("code-expired"))
	wantErr(t, "CodeByHash(expired) after purge", err, store.ErrNotFound)
	for _, name := range []string{"code-live", "code-expired-recent"} {
		if _, err := s.CodeByHash(ctx, hash(name)); err != nil {
			t.Errorf("CodeByHash(%s) after purge: %v", name, err)
		}
	}
	if _, found, err := s.FindSession(ctx, "s-live", now); err != nil || !found {
		t.Errorf("FindSession(live) after purge = %v, %v; want found", found, err)
	}
	if n, err := s.Failures(ctx, "k-live", now, 15*time.Minute); err != nil || n != 1 {
		t.Errorf("Failures(live) after purge = %d, %v; want 1", n, err)
	}
	if n, err := s.Purge(ctx, now, policy, 1000); err != nil || n != 0 {
		t.Errorf("second Purge = %d, %v; want 0, nil", n, err)
	}
}

// testPurgeKeepsWhatDetectsAReplay: a rotated refresh token is kept for
// RotatedRetention even once its own (idle) expiry has passed, and a used
// code for RevokedRetention past its expiry: each is what detects its
// replay, and purging it by the expiry rule let a thief's replay through.
func testPurgeKeepsWhatDetectsAReplay(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	now := at(48 * time.Hour)
	policy := store.PurgePolicy{RevokedRetention: 0, RotatedRetention: time.Hour}
	old := pair("idle", "g-idle", "c1", "u1", now.Add(-2*time.Hour))
	old.Refresh.ExpiresAt = now.Add(-10 * time.Minute) // an idle lifetime, run out
	issue(t, s, old)
	if err := s.RotateRefreshToken(ctx, refreshOf("idle"), now.Add(-30*time.Minute), store.ReuseGrace{}, pair("idle-next", "g-idle", "c1", "u1", now.Add(-30*time.Minute))); err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}
	if _, err := s.Purge(ctx, now, policy, 1000); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if _, err := s.TokenByHash(ctx, refreshOf("idle")); err != nil {
		t.Errorf("a rotated refresh token past its idle expiry was purged within RotatedRetention: %v", err)
	}
	if _, err := s.Purge(ctx, now.Add(time.Hour), policy, 1000); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	wantMissing(t, s, refreshOf("idle"))
}

func testAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Detail's first word labels each event; they are recorded in this order.
	events := []store.AuditEvent{
		{At: t0, Kind: "client.create", Actor: "alice", Address: "192.0.2.1", ClientID: "c1", Detail: "e1"},
		{At: at(1 * time.Minute), Kind: "client.update", Actor: "alice", Address: "192.0.2.1", ClientID: "c1", Detail: "e2"},
		{At: at(2 * time.Minute), Kind: "clients.export", Actor: "alice", Address: "2001:db8::1", Detail: "e3"},
		{At: at(3 * time.Minute), Kind: "consent.allow", Actor: "bob", Address: "198.51.100.7", ClientID: "c2", Username: "bob", Detail: "e4"},
		{At: at(4 * time.Minute), Kind: "signin.failure", Address: "203.0.113.9", Username: "carol", Detail: "e5"},
		{At: at(5 * time.Minute), Kind: "user.disable", Actor: "alice", Username: "bob", Detail: "e6"},
		// Same time as e6: the order between them is the order of recording.
		{At: at(5 * time.Minute), Kind: "client.delete", Actor: "dave", ClientID: "c2", Detail: "e7"},
		{At: at(6 * time.Minute), Kind: "client", Actor: "dave", Detail: "e8"},
		{At: at(7 * time.Minute), Kind: "client.secret.rotate", Actor: "dave", ClientID: "c1", Detail: "e9 — ünïcode, 'quotes' and 100% _wildcards_"},
	}
	for i, e := range events {
		e.ID = 1_000_000 + int64(i) // ignored: the store assigns IDs
		record(t, s, e)
	}

	// Everything comes back, newest first, every field intact.
	all := listAudit(t, s, store.AuditFilter{})
	var want []store.AuditEvent
	for i := len(events) - 1; i >= 0; i-- {
		want = append(want, events[i])
	}
	if d := cmp.Diff(want, all, cmpopts.IgnoreFields(store.AuditEvent{}, "ID")); d != "" {
		t.Errorf("ListAudit() mismatch (-want +got):\n%s", d)
	}
	ids := map[string]int64{}
	for _, e := range all {
		if e.ID >= 1_000_000 {
			t.Errorf("event %s kept the caller's ID %d", label(e), e.ID)
		}
		ids[label(e)] = e.ID
	}

	cases := []struct {
		name   string
		filter store.AuditFilter
		want   []string
	}{
		{"exact kind", store.AuditFilter{Kind: "client.update"}, []string{"e2"}},
		{"exact kind without dot", store.AuditFilter{Kind: "client"}, []string{"e8"}},
		{"kind prefix", store.AuditFilter{Kind: "client."}, []string{"e9", "e7", "e2", "e1"}},
		{"nested kind prefix", store.AuditFilter{Kind: "client.secret."}, []string{"e9"}},
		{"kind prefix is case-sensitive", store.AuditFilter{Kind: "CLIENT."}, nil},
		{"kind prefix is no pattern", store.AuditFilter{Kind: "c_ient."}, nil},
		{"kind prefix is no pattern (%)", store.AuditFilter{Kind: "%."}, nil},
		{"kind prefix of nothing", store.AuditFilter{Kind: "token."}, nil},
		{"exact kind is no prefix", store.AuditFilter{Kind: "client.cre"}, nil},
		{"username as actor or subject", store.AuditFilter{Username: "bob"}, []string{"e6", "e4"}},
		{"username as actor", store.AuditFilter{Username: "alice"}, []string{"e6", "e3", "e2", "e1"}},
		{"username as subject", store.AuditFilter{Username: "carol"}, []string{"e5"}},
		{"unknown username", store.AuditFilter{Username: "mallory"}, nil},
		{"client", store.AuditFilter{ClientID: "c2"}, []string{"e7", "e4"}},
		{"since is inclusive", store.AuditFilter{Since: at(5 * time.Minute)}, []string{"e9", "e8", "e7", "e6"}},
		{"until is exclusive", store.AuditFilter{Until: at(2 * time.Minute)}, []string{"e2", "e1"}},
		{"since and until", store.AuditFilter{Since: at(2 * time.Minute), Until: at(5 * time.Minute)}, []string{"e5", "e4", "e3"}},
		{"empty range", store.AuditFilter{Since: at(3 * time.Minute), Until: at(3 * time.Minute)}, nil},
		{"before ID", store.AuditFilter{BeforeID: ids["e4"]}, []string{"e3", "e2", "e1"}},
		{"before the first", store.AuditFilter{BeforeID: ids["e1"]}, nil},
		{"limit", store.AuditFilter{Limit: 2}, []string{"e9", "e8"}},
		{"limit and before ID", store.AuditFilter{BeforeID: ids["e7"], Limit: 2}, []string{"e6", "e5"}},
		{"kind prefix and client", store.AuditFilter{Kind: "client.", ClientID: "c1"}, []string{"e9", "e2", "e1"}},
		{"every filter", store.AuditFilter{Kind: "client.", Username: "alice", ClientID: "c1", Since: at(time.Minute), Until: at(time.Hour), BeforeID: ids["e9"], Limit: 10}, []string{"e2"}},
	}
	for _, c := range cases {
		diff(t, "ListAudit: "+c.name, c.want, details(listAudit(t, s, c.filter)))
	}

	// Purge keeps the audit log, however old.
	policy := store.PurgePolicy{}
	if _, err := s.Purge(ctx, at(24*365*time.Hour), policy, 1000); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if got := listAudit(t, s, store.AuditFilter{}); len(got) != len(events) {
		t.Errorf("%d audit events after Purge, want %d", len(got), len(events))
	}

	// New events get larger IDs.
	record(t, s, store.AuditEvent{At: t0, Kind: "late", Detail: "e10"})
	if got := listAudit(t, s, store.AuditFilter{Limit: 1}); len(got) != 1 || got[0].Detail != "e10" || got[0].ID <= ids["e9"] {
		t.Errorf("newest event = %+v, want e10 with an ID above %d", got, ids["e9"])
	}
}

func testAuditPaging(t *testing.T, s store.Store) {
	const n = 250
	kinds := []string{"signin.success", "signin.failure", "token.issue"}
	for i := range n {
		record(t, s, store.AuditEvent{At: at(time.Duration(i) * time.Second), Kind: kinds[i%len(kinds)], Actor: "alice", Detail: fmt.Sprint(i)})
	}
	// page walks back from the newest event, limit at a time, until a short page.
	page := func(f store.AuditFilter, limit int) (labels []string, sizes []int) {
		t.Helper()
		f.Limit = limit
		for range n {
			got := listAudit(t, s, f)
			sizes = append(sizes, len(got))
			labels = append(labels, details(got)...)
			if len(got) < limit {
				return labels, sizes
			}
			f.BeforeID = got[len(got)-1].ID
		}
		t.Fatalf("paging %+v does not end", f)
		return nil, nil
	}
	var want []string
	for i := n - 1; i >= 0; i-- {
		want = append(want, fmt.Sprint(i))
	}
	labels, sizes := page(store.AuditFilter{}, 100)
	diff(t, "pages of 100", want, labels)
	diff(t, "page sizes", []int{100, 100, 50}, sizes)

	// The default page is 100 events.
	if got := listAudit(t, s, store.AuditFilter{}); len(got) != 100 || got[0].Detail != fmt.Sprint(n-1) {
		t.Errorf("default page: %d events from %v, want 100 from %d", len(got), details(got[:min(1, len(got))]), n-1)
	}

	// An exact multiple ends with an empty page.
	_, sizes = page(store.AuditFilter{}, 125)
	diff(t, "page sizes of 125", []int{125, 125, 0}, sizes)

	// Paging with filters keeps them on every page.
	var wantFailures []string
	for i := n - 1; i >= 0; i-- {
		if kinds[i%len(kinds)] == "signin.failure" && i >= 60 {
			wantFailures = append(wantFailures, fmt.Sprint(i))
		}
	}
	labels, _ = page(store.AuditFilter{Kind: "signin.failure", Since: at(60 * time.Second)}, 30)
	diff(t, "filtered pages", wantFailures, labels)
	var wantSignins []string
	for i := n - 1; i >= 0; i-- {
		if kinds[i%len(kinds)] != "token.issue" {
			wantSignins = append(wantSignins, fmt.Sprint(i))
		}
	}
	labels, _ = page(store.AuditFilter{Kind: "signin.", Username: "alice"}, 40)
	diff(t, "prefix pages", wantSignins, labels)
}

func testAuditLimit(t *testing.T, s store.Store) {
	// Recorded concurrently: every event gets its own ID.
	const n = 1010
	errs := race(n, func(i int) error {
		return s.RecordAudit(t.Context(), store.AuditEvent{At: t0, Kind: "token.issue", ClientID: "c1", Detail: fmt.Sprint(i)})
	})
	if ok, _ := tally(t, errs, nil); ok != n {
		t.Fatalf("%d of %d concurrent RecordAudit calls succeeded", ok, n)
	}
	for _, c := range []struct{ limit, want int }{
		{0, 100}, {1, 1}, {999, 999}, {1000, 1000}, {1001, 1000}, {1 << 30, 1000},
	} {
		if got := listAudit(t, s, store.AuditFilter{Limit: c.limit}); len(got) != c.want {
			t.Errorf("ListAudit(Limit: %d) returned %d events, want %d", c.limit, len(got), c.want)
		}
	}
	// The cap holds with filters too, and the rest is one page further.
	first := listAudit(t, s, store.AuditFilter{ClientID: "c1", Limit: 5000})
	if len(first) != 1000 {
		t.Fatalf("first page: %d events, want 1000", len(first))
	}
	rest := listAudit(t, s, store.AuditFilter{ClientID: "c1", Limit: 5000, BeforeID: first[len(first)-1].ID})
	seen := map[string]bool{}
	for _, e := range append(first, rest...) {
		if seen[e.Detail] {
			t.Errorf("event %s listed twice", e.Detail)
		}
		seen[e.Detail] = true
	}
	if len(seen) != n {
		t.Errorf("two pages hold %d distinct events, want %d", len(seen), n)
	}
}

func testConcurrentRedeem(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	code := store.Code{Hash: hash("code"), ClientID: "c1", UserID: "u1", GrantID: "g1", CreatedAt: t0, ExpiresAt: at(time.Minute)}
	if err := s.CreateCode(ctx, code); err != nil {
		t.Fatalf("CreateCode: %v", err)
	}
	// Every loser finds the code used, never missing.
	errs := race(16, func(i int) error {
		return s.RedeemCode(ctx, code.Hash, t0, pair(fmt.Sprint("p", i), "g1", "c1", "u1", t0))
	})
	if ok, reused := tally(t, errs, store.ErrCodeReused); ok != 1 || reused != 15 {
		t.Errorf("redeems: %d succeeded, %d reused; want 1 and 15", ok, reused)
	}
	if got := activeHashes(t, s, store.TokenFilter{}, t0); len(got) != 0 {
		t.Errorf("%d tokens active after replays, want 0", len(got))
	}
}

func testConcurrentRotateNoGrace(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	issue(t, s, pair("r", "g1", "c1", "u1", t0))
	now := at(time.Minute)
	errs := race(16, func(i int) error {
		return s.RotateRefreshToken(ctx, refreshOf("r"), now, store.ReuseGrace{}, pair(fmt.Sprint("n", i), "g1", "c1", "u1", now))
	})
	if ok, reused := tally(t, errs, store.ErrTokenReused); ok != 1 || reused != 15 {
		t.Errorf("rotations: %d succeeded, %d reused; want 1 and 15", ok, reused)
	}
	if got := activeHashes(t, s, store.TokenFilter{}, now); len(got) != 0 {
		t.Errorf("%d tokens active after replays, want 0", len(got))
	}
}

// testConcurrentRotateGrace: of 16 simultaneous uses of one refresh token
// with a window admitting one reuse, two (the rotation and its one reuse)
// may win; the third use revokes the grant, whatever the interleaving.
func testConcurrentRotateGrace(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	issue(t, s, pair("r", "g1", "c1", "u1", t0))
	now := at(time.Minute)
	grace := store.ReuseGrace{Window: 10 * time.Second, Max: 1}
	errs := race(16, func(i int) error {
		return s.RotateRefreshToken(ctx, refreshOf("r"), now, grace, pair(fmt.Sprint("n", i), "g1", "c1", "u1", now))
	})
	if ok, reused := tally(t, errs, store.ErrTokenReused); ok > 2 || ok+reused != 16 {
		t.Errorf("%d of 16 rotations within grace succeeded and %d were refused as reuse; want at most 2 and the rest refused", ok, reused)
	}
	if got := activeHashes(t, s, store.TokenFilter{Kind: store.KindRefresh}, now); len(got) != 0 {
		t.Errorf("%d refresh tokens active after a reuse past the count, want 0", len(got))
	}
}

func testConcurrentClientLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	errs := race(8, func(i int) error {
		return s.CreateClient(ctx, store.Client{ID: fmt.Sprint("c", i), Name: fmt.Sprint("c", i), CreatedAt: t0}, 5)
	})
	if ok, limited := tally(t, errs, store.ErrLimit); ok != 5 || limited != 3 {
		t.Errorf("creates: %d succeeded, %d limited; want 5 and 3", ok, limited)
	}
	list, err := s.ListClients(ctx)
	if err != nil {
		t.Fatalf("ListClients: %v", err)
	}
	if len(list) != 5 {
		t.Errorf("%d clients exist, want 5", len(list))
	}
}

func testConcurrentRefreshCap(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	errs := race(8, func(i int) error {
		return s.IssueTokens(ctx, capped(fmt.Sprint("t", i), fmt.Sprint("g", i), "c1", "u1", t0, 3))
	})
	if ok, _ := tally(t, errs, nil); ok != 8 {
		t.Errorf("%d of 8 issues succeeded", ok)
	}
	f := store.TokenFilter{ClientID: "c1", UserID: "u1"}
	for _, kind := range []store.TokenKind{store.KindRefresh, store.KindAccess} {
		f.Kind = kind
		if got := activeHashes(t, s, f, t0); len(got) != 3 {
			t.Errorf("%d %s tokens active, want 3", len(got), kind)
		}
	}
}
