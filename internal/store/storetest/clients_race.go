package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// widen makes a change take a while, as a real one may, so that a backend
// which reads the row outside the writing transaction loses updates here
// every time rather than once in a while.
func widen() { time.Sleep(2 * time.Millisecond) }

// testClientUpdateRefused: a change that fails writes nothing and its error
// comes back as it is; what UpdateClient does not write stays as stored.
func testClientUpdateRefused(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	setLogo(t, s, "c1", []byte("png"), "image/png")
	before := client(t, s, "c1")
	refusal := errors.New("refused by the change")
	_, err := s.UpdateClient(ctx, "c1", func(c *store.Client) error {
		c.Name, c.Enabled = "half-done", false
		return refusal
	})
	if err != refusal {
		t.Fatalf("UpdateClient error = %v, want the change's own error", err)
	}
	diff(t, "client after a refused change", before, client(t, s, "c1"))

	got, err := s.UpdateClient(ctx, "c1", func(c *store.Client) error {
		c.ID, c.CreatedAt, c.HasLogo, c.Name = "other", at(time.Hour), false, "renamed"
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateClient: %v", err)
	}
	want := before
	want.Name = "renamed"
	diff(t, "UpdateClient's answer", want, got)
	diff(t, "stored client", want, client(t, s, "c1"))
	_, err = s.ClientByID(ctx, "other")
	wantErr(t, "ClientByID of the ID a change tried to set", err, store.ErrNotFound)
}

// testConcurrentClientRotateAndEdit: a secret rotation and an edit of
// another field race, as when one administrator regenerates the secret on
// one node while another saves the form on a second node. Both must be
// kept: the edit must never write the old secret back.
func testConcurrentClientRotateAndEdit(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := store.Client{ID: "c1", Name: "name-0", SecretHash: hash("secret-0"), SecretSealed: []byte("sealed-0"), Enabled: true, CreatedAt: t0}
	if err := s.CreateClient(ctx, c, 0); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	for round := 1; round <= 10; round++ {
		secretHash, sealed, name := hash(fmt.Sprint("secret-", round)), []byte(fmt.Sprint("sealed-", round)), fmt.Sprint("name-", round)
		errs := race(2, func(i int) error {
			_, err := s.UpdateClient(ctx, "c1", func(c *store.Client) error {
				widen()
				if i == 0 {
					c.SecretHash, c.SecretSealed = secretHash, sealed
				} else {
					c.Name = name
				}
				return nil
			})
			return err
		})
		if ok, _ := tally(t, errs, nil); ok != 2 {
			t.Fatalf("round %d: %d of 2 changes succeeded", round, ok)
		}
		got := client(t, s, "c1")
		if string(got.SecretHash) != string(secretHash) || string(got.SecretSealed) != string(sealed) {
			t.Fatalf("round %d: the edit wrote an old secret back (sealed copy %q, want %q)", round, got.SecretSealed, sealed)
		}
		if got.Name != name {
			t.Fatalf("round %d: the rotation wrote an old name back: %q, want %q", round, got.Name, name)
		}
	}
}

// testConcurrentClientEdits: concurrent changes of different fields, and
// concurrent read-modify-writes of one list, are all kept.
func testConcurrentClientEdits(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	const n = 16
	errs := race(n, func(i int) error {
		_, err := s.UpdateClient(ctx, "c1", func(c *store.Client) error {
			widen()
			// Every change adds its own entry to one list, so any update
			// applied to a stale copy drops another's entry.
			c.RedirectURIs = append(c.RedirectURIs, fmt.Sprintf("https://app.example/cb%d", i))
			switch i {
			case 0:
				c.Description = "described"
			case 1:
				c.AllowedIPs = []string{"192.0.2.0/24"}
			case 2:
				c.IntrospectAny = true
			case 3:
				c.Enabled = false
			}
			return nil
		})
		return err
	})
	if ok, _ := tally(t, errs, nil); ok != n {
		t.Fatalf("%d of %d changes succeeded", ok, n)
	}
	got := client(t, s, "c1")
	for i := range n {
		if uri := fmt.Sprintf("https://app.example/cb%d", i); !slices.Contains(got.RedirectURIs, uri) {
			t.Errorf("change %d was lost: %s is missing from %v", i, uri, got.RedirectURIs)
		}
	}
	if len(got.RedirectURIs) != n {
		t.Errorf("%d redirect URIs, want %d: %v", len(got.RedirectURIs), n, got.RedirectURIs)
	}
	if got.Description != "described" || !slices.Equal(got.AllowedIPs, []string{"192.0.2.0/24"}) || !got.IntrospectAny || got.Enabled {
		t.Errorf("a change of one field was lost: description %q, allowed IPs %v, introspect any %v, enabled %v",
			got.Description, got.AllowedIPs, got.IntrospectAny, got.Enabled)
	}
}

// testClientNames: no two applications share a name up to case (users tell
// them apart on the consent page by name), checked in the writing
// transaction so that concurrent creations and renames on any node cannot
// both pass. An application keeps its own name in another case.
func testClientNames(t *testing.T, s store.Store) {
	ctx := t.Context()
	named := func(id, name string) store.Client {
		return store.Client{ID: id, Name: name, Enabled: true, CreatedAt: t0, UpdatedAt: t0}
	}
	if err := s.CreateClient(ctx, named("c1", "Payroll"), 0); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	wantErr(t, "CreateClient with another's name in other case", s.CreateClient(ctx, named("c2", "PAYROLL"), 0), store.ErrConflict)
	if _, err := s.ClientByID(ctx, "c2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused creation was stored: %v", err)
	}
	addClient(t, s, "c2")
	before := client(t, s, "c2")
	_, err := s.UpdateClient(ctx, "c2", func(c *store.Client) error { c.Name, c.Description = "payroll", "changed"; return nil })
	wantErr(t, "UpdateClient to another's name", err, store.ErrConflict)
	diff(t, "client after a refused rename", before, client(t, s, "c2"))
	if _, err := s.UpdateClient(ctx, "c1", func(c *store.Client) error { c.Name = "PayRoll"; return nil }); err != nil {
		t.Fatalf("UpdateClient to its own name in other case: %v", err)
	}

	// Concurrent creations of one name, and concurrent renames to one name.
	const n = 8
	errs := race(n, func(i int) error {
		return s.CreateClient(ctx, named(fmt.Sprint("new", i), fmt.Sprint([]string{"Ledger", "ledger"}[i%2])), 0)
	})
	if ok, taken := tally(t, errs, store.ErrConflict); ok != 1 || taken != n-1 {
		t.Errorf("concurrent creations of one name: %d succeeded, %d refused; want 1 and %d", ok, taken, n-1)
	}
	for i := range n {
		addClient(t, s, fmt.Sprint("r", i))
	}
	errs = race(n, func(i int) error {
		_, err := s.UpdateClient(ctx, fmt.Sprint("r", i), func(c *store.Client) error { widen(); c.Name = "Billing"; return nil })
		return err
	})
	if ok, taken := tally(t, errs, store.ErrConflict); ok != 1 || taken != n-1 {
		t.Errorf("concurrent renames to one name: %d succeeded, %d refused; want 1 and %d", ok, taken, n-1)
	}
	list, err := s.ListClients(ctx)
	if err != nil {
		t.Fatalf("ListClients: %v", err)
	}
	seen := map[string]string{}
	for _, c := range list {
		key := strings.ToLower(c.Name)
		if other, dup := seen[key]; dup {
			t.Errorf("clients %s and %s share the name %q", other, c.ID, c.Name)
		}
		seen[key] = c.ID
	}
}
