package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// testPendingEvent: a write made with a pending audit event stores the
// event in its own transaction — both or neither — and only once.
func testPendingEvent(t *testing.T, s store.Store) {
	ctx := t.Context()
	pending := func(label string) (context.Context, *store.PendingEvent) {
		p := &store.PendingEvent{Event: store.AuditEvent{At: t0, Kind: "user.create", Actor: "root", Detail: label}}
		return store.WithEvent(ctx, p), p
	}
	wantEvents := func(want ...string) {
		t.Helper()
		got := details(listAudit(t, s, store.AuditFilter{}))
		slices.Reverse(got)
		diff(t, "audit events", want, got)
	}
	user := func(id string) store.User {
		return store.User{ID: id, Username: id, CreatedAt: t0, UpdatedAt: t0}
	}

	created, p := pending("created")
	if err := s.CreateUser(created, user("u1")); err != nil {
		t.Fatal(err)
	}
	if !p.Stored() {
		t.Fatal("the event of a committed write is not marked stored")
	}
	// A second write with the same context does not store the event again.
	if _, err := s.UpdateUser(created, "u1", func(u *store.User) error { u.DisplayName = "One"; return nil }); err != nil {
		t.Fatal(err)
	}
	wantEvents("created")

	// A write that fails stores no event.
	dup, p := pending("duplicate")
	if err := s.CreateUser(dup, user("u1")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second u1 = %v; want ErrConflict", err)
	}
	refusedErr := errors.New("refused")
	refused, q := pending("refused")
	if _, err := s.UpdateUser(refused, "u1", func(*store.User) error { return refusedErr }); !errors.Is(err, refusedErr) {
		t.Fatalf("a refused update = %v", err)
	}
	if p.Stored() || q.Stored() {
		t.Fatal("the event of a failed write is marked stored")
	}
	wantEvents("created")

	// A change function completes the event it commits with.
	updated, p := pending("")
	if _, err := s.UpdateUser(updated, "u1", func(u *store.User) error {
		p.Event.Detail = "renamed from " + u.DisplayName
		u.DisplayName = "Uno"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	events := listAudit(t, s, store.AuditFilter{})
	if len(events) != 2 || events[0].Detail != "renamed from One" || events[0].Actor != "root" {
		t.Fatalf("the update's event = %+v", events)
	}

	// Writes of every shape take it: a client's creation, logo and deletion.
	for _, write := range []struct {
		label string
		do    func(ctx context.Context) error
	}{
		{"client", func(ctx context.Context) error {
			return s.CreateClient(ctx, store.Client{ID: "c1", Name: "c1", Enabled: true, CreatedAt: t0, UpdatedAt: t0}, 0)
		}},
		{"logo", func(ctx context.Context) error { return s.SetClientLogo(ctx, "c1", []byte("GIF89a"), "image/gif") }},
		{"deleted", func(ctx context.Context) error { return s.DeleteClient(ctx, "c1", nil) }},
	} {
		ctx, p := pending(write.label)
		if err := write.do(ctx); err != nil {
			t.Fatalf("%s: %v", write.label, err)
		}
		if !p.Stored() {
			t.Fatalf("%s: the event is not marked stored", write.label)
		}
	}
	wantEvents("created", "renamed", "client", "logo", "deleted")

	// A write that finds nothing to do (a grant revoked already, a mail
	// server deleted already: the loser of two concurrent requests) stores
	// no event either.
	nothing, p := pending("nothing")
	if n, err := s.RevokeGrant(nothing, "no-such-grant", t0); err != nil || n != 0 {
		t.Fatalf("RevokeGrant(unknown) = %d, %v; want 0, nil", n, err)
	}
	if err := s.DeleteMailServer(nothing, "no-such-server"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteMailServer(unknown) = %v; want ErrNotFound", err)
	}
	if err := s.DeleteClient(nothing, "c1", nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteClient(deleted) = %v; want ErrNotFound", err)
	}
	if p.Stored() {
		t.Fatal("a write that did nothing stored its event")
	}
	wantEvents("created", "renamed", "client", "logo", "deleted")

	// Concurrent writes, batched together or not, each commit their own
	// event with them: of two creations of each user, one event each.
	errs := race(16, func(i int) error {
		ctx, _ := pending(fmt.Sprintf("race%d", i%8))
		return s.CreateUser(ctx, user(fmt.Sprintf("r%d", i%8)))
	})
	if ok, _ := tally(t, errs, store.ErrConflict); ok != 8 {
		t.Fatalf("%d of the 8 users were created", ok)
	}
	raced := listAudit(t, s, store.AuditFilter{})[:8]
	seen := map[string]bool{}
	for _, e := range raced {
		seen[label(e)] = true
	}
	if len(seen) != 8 || len(listAudit(t, s, store.AuditFilter{})) != 5+8 {
		t.Fatalf("concurrent creations left events %v", details(listAudit(t, s, store.AuditFilter{})))
	}
}
