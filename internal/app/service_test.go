package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/token"
)

func newService(t *testing.T, limit int) *Service {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, _ := secret.New([]byte(strings.Repeat("k", secret.KeySize)))
	catalogue, _ := scope.Builtin("atlassian")
	return NewService(st, keys, token.NewMinter(keys, nil), catalogue, Options{Limit: limit})
}

func valid() Registration {
	return Registration{Name: "App", RedirectURIs: []string{"https://app.example.com/cb"}, Scopes: []string{"read", "WRITE"}}
}

func TestCreateRevealRotate(t *testing.T) {
	s := newService(t, 0)
	ctx := context.Background()
	c, first, err := s.Create(ctx, valid())
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ID) != 32 || !strings.HasPrefix(first, "gcs_") || c.Scopes[0] != "READ" {
		t.Fatalf("unexpected client %+v secret %q", c, first)
	}
	if strings.Contains(string(c.SecretHash), first) || strings.Contains(string(c.SecretSealed), first) {
		t.Fatal("the secret is stored in clear")
	}
	if got, err := s.Reveal(c); err != nil || got != first {
		t.Fatalf("Reveal = %q, %v", got, err)
	}
	if !s.CheckSecret(c, first) || s.CheckSecret(c, first+"x") || s.CheckSecret(c, "") {
		t.Fatal("CheckSecret is wrong")
	}
	second, err := s.RotateSecret(ctx, c.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _ = s.Get(ctx, c.ID)
	if s.CheckSecret(c, first) || !s.CheckSecret(c, second) {
		t.Fatal("rotation did not replace the secret")
	}
}

func TestPublicClientHasNoSecretAndRequiresPKCE(t *testing.T) {
	s := newService(t, 0)
	r := valid()
	r.Public = true
	c, secretValue, err := s.Create(context.Background(), r)
	if err != nil || secretValue != "" || !c.RequirePKCE || c.SecretHash != nil {
		t.Fatalf("public client %+v %q %v", c, secretValue, err)
	}
	if _, err := s.RotateSecret(context.Background(), c.ID, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("RotateSecret(public) = %v", err)
	}
}

func TestRegistrationValidation(t *testing.T) {
	cases := map[string]func(*Registration){
		"no name":                 func(r *Registration) { r.Name = " " },
		"unknown scope":           func(r *Registration) { r.Scopes = []string{"EVERYTHING"} },
		"no scope":                func(r *Registration) { r.Scopes = nil },
		"http redirect":           func(r *Registration) { r.RedirectURIs = []string{"http://app.example.com/cb"} },
		"no redirect":             func(r *Registration) { r.RedirectURIs = nil },
		"unknown grant":           func(r *Registration) { r.Grants = []string{"password"} },
		"public with client cred": func(r *Registration) { r.Public = true; r.Grants = []string{GrantClientCredentials} },
		"public introspecting":    func(r *Registration) { r.Public = true; r.IntrospectAny = true },
		"bad CIDR":                func(r *Registration) { r.AllowedIPs = []string{"10.0.0.0/99"} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			r := valid()
			mutate(&r)
			if _, _, err := newService(t, 0).Create(context.Background(), r); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Create = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestApplicationLimit(t *testing.T) {
	s := newService(t, 2)
	ctx := context.Background()
	create := func(name string) error {
		r := valid()
		r.Name = name
		_, _, err := s.Create(ctx, r)
		return err
	}
	for _, name := range []string{"First", "Second"} {
		if err := create(name); err != nil {
			t.Fatal(err)
		}
	}
	if err := create("Third"); !errors.Is(err, ErrLimit) {
		t.Fatalf("third Create = %v, want ErrLimit", err)
	}
}

func TestGetRefusesMalformedIDs(t *testing.T) {
	s := newService(t, 0)
	for _, id := range []string{"", "x", strings.Repeat("z", 32), strings.Repeat("0", 33)} {
		if _, err := s.Get(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%q) = %v", id, err)
		}
	}
}

// Two nodes share one database, each with its own application cache (1 s
// TTL), as in a cluster. An edit saved on node B just after a rotation on
// node A, while B still caches the application from before it, must keep the
// new secret: the edit applies to the row as stored, not to B's copy.
func TestEditOnAnotherNodeKeepsTheRotatedSecret(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	now := time.UnixMilli(1_767_225_600_000)
	clock := func() time.Time { return now }
	node := func() (*Service, store.Store) {
		st, err := sqlstore.OpenSQLite(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		cached := store.NewClientCache(st, time.Second, clock)
		keys, _ := secret.New([]byte(strings.Repeat("k", secret.KeySize)))
		catalogue, _ := scope.Builtin("atlassian")
		return NewService(cached, keys, token.NewMinter(keys, nil), catalogue, Options{Now: clock}), st
	}
	a, _ := node()
	b, shared := node()

	c, first, err := a.Create(ctx, valid())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, c.ID); err != nil { // B serves a request: the application is in its cache
		t.Fatal(err)
	}
	second, err := a.RotateSecret(ctx, c.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	edit := valid()
	edit.Name = "Edited on B"
	if _, _, err := b.Update(ctx, c.ID, edit, nil); err != nil {
		t.Fatal(err)
	}
	stored, err := shared.ClientByID(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.CheckSecret(stored, first) || !b.CheckSecret(stored, second) {
		t.Fatal("the edit on node B brought the old secret back")
	}
	if revealed, _ := b.Reveal(stored); revealed != second {
		t.Fatal("the sealed copy is not the new secret's")
	}
	if stored.Name != "Edited on B" {
		t.Fatalf("the edit was lost: name %q", stored.Name)
	}
}

// Enabling or disabling changes nothing else, whatever the node caches.
func TestSetEnabledKeepsOtherChanges(t *testing.T) {
	s := newService(t, 0)
	ctx := context.Background()
	c, _, err := s.Create(ctx, valid())
	if err != nil {
		t.Fatal(err)
	}
	edit := valid()
	edit.Name, edit.IntrospectAny = "Renamed", true
	if _, _, err := s.Update(ctx, c.ID, edit, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.SetEnabled(ctx, c.ID, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Enabled || got.Name != "Renamed" || !got.IntrospectAny || !s.CheckSecret(got, mustReveal(t, s, got)) {
		t.Fatalf("after disabling: %+v", got)
	}
	edit.KeepEnabled = true
	if got, _, err = s.Update(ctx, c.ID, edit, nil); err != nil || got.Enabled {
		t.Fatalf("an update keeping the state re-enabled the application: %+v, %v", got, err)
	}
}

func mustReveal(t *testing.T, s *Service, c store.Client) string {
	t.Helper()
	v, err := s.Reveal(c)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// An Allow that refuses the application as the change reads it refuses the
// change with its own error, and nothing is written.
func TestAllowRefusesTheChange(t *testing.T) {
	s := newService(t, 0)
	ctx := context.Background()
	c, first, err := s.Create(ctx, valid())
	if err != nil {
		t.Fatal(err)
	}
	refusal := errors.New("not this one")
	var seen []string
	refuse := func(got store.Client) error {
		seen = append(seen, got.Name)
		return refusal
	}
	edit := valid()
	edit.Name = "Renamed"
	_, _, errUpdate := s.Update(ctx, c.ID, edit, refuse)
	_, errEnable := s.SetEnabled(ctx, c.ID, false, refuse)
	_, errRotate := s.RotateSecret(ctx, c.ID, refuse)
	for what, err := range map[string]error{"Update": errUpdate, "SetEnabled": errEnable, "RotateSecret": errRotate} {
		if !errors.Is(err, refusal) {
			t.Errorf("%s = %v, want the Allow's refusal", what, err)
		}
	}
	if len(seen) != 3 || seen[0] != "App" {
		t.Errorf("the Allow saw %v, want the stored application three times", seen)
	}
	after, err := s.Get(ctx, c.ID)
	if err != nil || after.Name != "App" || !after.Enabled || !s.CheckSecret(after, first) {
		t.Fatalf("a refused change was written: %+v, %v", after, err)
	}
}

// TestInsecureRedirects lists what only development mode allows, and not a
// URI stored before a later rule refused it, which a production start would
// otherwise refuse for the wrong reason.
func TestInsecureRedirects(t *testing.T) {
	s := newService(t, 0)
	ctx := context.Background()
	c, _, err := s.Create(ctx, valid())
	if err != nil {
		t.Fatal(err)
	}
	for name, uri := range map[string]string{"Plain http": "http://app.example.com/cb", "Older rules": "https://app_1.example/cb"} {
		stored := c
		stored.ID, stored.Name, stored.RedirectURIs = "id-"+strings.ReplaceAll(name, " ", "-"), name, []string{uri}
		if err := s.store.CreateClient(ctx, stored, 0); err != nil {
			t.Fatal(err)
		}
	}
	bad, err := s.InsecureRedirects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || !strings.Contains(bad[0], "http://app.example.com/cb") {
		t.Fatalf("InsecureRedirects = %q, want only the plain http one", bad)
	}
}

// Names that only a page's rendering tells apart are one name: white space
// runs collapse (a no-break space is a space), and invisible characters are
// refused, so the consent page's name tells applications apart.
func TestLookalikeNamesAreOneName(t *testing.T) {
	s := newService(t, 0)
	ctx := context.Background()
	r := valid()
	r.Name = "Race  Name "
	c, _, err := s.Create(ctx, r)
	if err != nil || c.Name != "Race Name" {
		t.Fatalf("Create = %q, %v; want the name with its spaces collapsed", c.Name, err)
	}
	for _, name := range []string{"Race Name", "race\u00a0name", "Race\u3000Name", "Race\u2028Name"} {
		r.Name = name
		if _, _, err := s.Create(ctx, r); !errors.Is(err, store.ErrConflict) {
			t.Errorf("Create(%q) = %v; want the name taken", name, err)
		}
	}
	for _, name := range []string{"\u200b", "Race\u200bName", "Race\ufeffName"} {
		r.Name = name
		if _, _, err := s.Create(ctx, r); !errors.Is(err, ErrInvalid) {
			t.Errorf("Create(%q) = %v; want it refused", name, err)
		}
	}
}

// A deletion deletes an application's tokens in batches; the caller hanging
// up after the first one does not cut the rest short.
func TestDeletionOutlivesTheCallersHangUp(t *testing.T) {
	s := newService(t, 0)
	ctx := t.Context()
	c, _, err := s.Create(ctx, Registration{Name: "Job", Grants: []string{GrantClientCredentials}, Scopes: []string{"READ"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := range store.BulkBatch * 2 {
		tok := store.Token{Hash: fmt.Appendf(nil, "token-%05d", i), Kind: store.KindAccess, GrantID: fmt.Sprint("g", i), ClientID: c.ID,
			Scope: "READ", GrantedAt: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.store.IssueTokens(ctx, store.Issue{Access: tok}); err != nil {
			t.Fatal(err)
		}
	}
	caller, hangUp := context.WithCancel(ctx)
	defer hangUp()
	batches := 0
	if err := s.Delete(store.WithBatchObserver(caller, func(int64) { batches++; hangUp() }), c.ID, nil); err != nil {
		t.Fatalf("deleting, the caller gone after the first batch: %v", err)
	}
	if _, err := s.store.ClientByID(ctx, c.ID); batches < 2 || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("%d batches, the application after: %v; want it gone, past the hang-up", batches, err)
	}
}
