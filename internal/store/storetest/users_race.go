package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// testLastSystemAdmin: no update leaves the directory without an enabled
// system administrator, however many run at once.
func testLastSystemAdmin(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, id := range []string{"a", "b"} {
		if err := s.CreateUser(ctx, store.User{ID: id, Username: id, Level: store.LevelSystemAdmin, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
	}
	demote := func(u *store.User) error { u.Level = store.LevelAdmin; return nil }
	disable := func(u *store.User) error { u.Disabled = true; return nil }
	if _, err := s.UpdateUser(ctx, "a", demote); err != nil {
		t.Fatalf("demoting one of two: %v", err)
	}
	for name, change := range map[string]func(*store.User) error{"demoting": demote, "disabling": disable} {
		_, err := s.UpdateUser(ctx, "b", change)
		wantErr(t, name+" the last system administrator", err, store.ErrLastSystemAdmin)
	}
	if u, _ := s.UserByID(ctx, "b"); u.Level != store.LevelSystemAdmin || u.Disabled {
		t.Errorf("the refused change was written: %+v", u)
	}
	// A disabled system administrator does not count.
	if err := s.CreateUser(ctx, store.User{ID: "c", Username: "c", Level: store.LevelSystemAdmin, Disabled: true, CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	_, err := s.UpdateUser(ctx, "b", demote)
	wantErr(t, "demoting the last enabled one", err, store.ErrLastSystemAdmin)
	// Other changes of the last one go through.
	if _, err := s.UpdateUser(ctx, "b", func(u *store.User) error { u.DisplayName = "B"; return nil }); err != nil {
		t.Errorf("renaming the last system administrator: %v", err)
	}
}

// testConcurrentMutualDemotion: two system administrators demoting each other
// at once leave one of them.
func testConcurrentMutualDemotion(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := []string{"a", "b"}
	for _, id := range ids {
		if err := s.CreateUser(ctx, store.User{ID: id, Username: id, Level: store.LevelSystemAdmin, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
	}
	errs := race(2, func(i int) error {
		_, err := s.UpdateUser(ctx, ids[i], func(u *store.User) error { u.Level = store.LevelUser; return nil })
		return err
	})
	if ok, refused := tally(t, errs, store.ErrLastSystemAdmin); ok != 1 || refused != 1 {
		t.Errorf("%d demotions succeeded, %d refused; want 1 and 1", ok, refused)
	}
	if n := enabledSystemAdmins(t, s); n != 1 {
		t.Errorf("%d enabled system administrators left; want 1", n)
	}
}

func enabledSystemAdmins(t *testing.T, s store.Store) int {
	t.Helper()
	n := 0
	for _, u := range everyUser(t, s) {
		if u.Level == store.LevelSystemAdmin && !u.Disabled {
			n++
		}
	}
	return n
}

// testConcurrentUserEdits: changes of different fields made at once are all kept.
func testConcurrentUserEdits(t *testing.T, s store.Store) {
	ctx := t.Context()
	if err := s.CreateUser(ctx, store.User{ID: "u1", Username: "alice", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	const n = 12
	errs := race(n, func(i int) error {
		_, err := s.UpdateUser(ctx, "u1", func(u *store.User) error {
			if i == 0 {
				u.Disabled = true
				return nil
			}
			u.Groups = append(u.Groups, fmt.Sprint("g", i))
			return nil
		})
		return err
	})
	if ok, _ := tally(t, errs, nil); ok != n {
		t.Fatalf("%d of %d updates succeeded", ok, n)
	}
	u, err := s.UserByID(ctx, "u1")
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	if !u.Disabled || len(u.Groups) != n-1 {
		t.Errorf("after %d concurrent edits: disabled=%v, %d groups; want true and %d (lost updates)", n, u.Disabled, len(u.Groups), n-1)
	}
}

// testDisableRevokesTokens: disabling a user revokes every token of theirs,
// and enabling them again revives none.
func testDisableRevokesTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	for _, id := range []string{"u1", "u2"} {
		if err := s.CreateUser(ctx, store.User{ID: id, Username: id, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
	}
	issue(t, s, pair("mine", "g1", "c1", "u1", t0))
	issue(t, s, pair("theirs", "g2", "c1", "u2", t0))
	pending := store.Code{Hash: hash("pending"), ClientID: "c1", UserID: "u1", GrantID: "g4", CreatedAt: t0, ExpiresAt: at(time.Hour)}
	if err := s.CreateCode(ctx, pending); err != nil {
		t.Fatalf("CreateCode: %v", err)
	}
	now := at(time.Minute)
	if _, err := s.UpdateUser(ctx, "u1", func(u *store.User) error { u.Disabled, u.UpdatedAt = true, now; return nil }); err != nil {
		t.Fatalf("disable: %v", err)
	}
	wantActive(t, s, now, false, accessOf("mine"), refreshOf("mine"))
	wantActive(t, s, now, true, accessOf("theirs"), refreshOf("theirs"))
	if _, err := s.UpdateUser(ctx, "u1", func(u *store.User) error { u.Disabled = false; return nil }); err != nil {
		t.Fatalf("enable: %v", err)
	}
	wantActive(t, s, now, false, accessOf("mine"), refreshOf("mine"))
	if r := token(t, s, accessOf("mine")).RevokedAt; !r.Equal(now) {
		t.Errorf("RevokedAt = %v; want %v", r, now)
	}
	err := s.RedeemCode(ctx, pending.Hash, now, pair("late", pending.GrantID, "c1", "u1", now))
	wantErr(t, "redeeming a code issued before the user was disabled", err, store.ErrNotFound)
	// A refused disable revokes nothing.
	if err := s.CreateUser(ctx, store.User{ID: "root", Username: "root", Level: store.LevelSystemAdmin, CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	issue(t, s, pair("roots", "g3", "c1", "root", t0))
	_, err = s.UpdateUser(ctx, "root", func(u *store.User) error { u.Disabled = true; return nil })
	if !errors.Is(err, store.ErrLastSystemAdmin) {
		t.Fatalf("disabling the last system administrator = %v", err)
	}
	wantActive(t, s, now, true, accessOf("roots"), refreshOf("roots"))
}
