package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// raceRounds is how many times each revocation is raced against a write
// that adds tokens: a lost revocation shows in a few rounds of forty.
const raceRounds = 40

// wantRevokedIfStored checks that the tokens of each named pair, where
// stored, are inactive at now.
func wantRevokedIfStored(t *testing.T, s store.Store, now time.Time, what string, names ...string) {
	t.Helper()
	for _, name := range names {
		for _, h := range [][]byte{accessOf(name), refreshOf(name)} {
			tok, err := s.TokenByHash(t.Context(), h)
			if err != nil {
				continue // never stored: the write lost the race
			}
			if tok.Active(now) {
				t.Errorf("%s: token %s %x stays active", what, name, h[:4])
			}
		}
	}
}

// testRevokeGrantRacesRotation: a grant revoked while one of its refresh
// tokens rotates leaves no live token of the grant, whichever commits first.
func testRevokeGrantRacesRotation(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	now := at(time.Minute)
	for round := range raceRounds {
		grant, old, next := fmt.Sprint("g", round), fmt.Sprint("old", round), fmt.Sprint("new", round)
		issue(t, s, pair(old, grant, "c1", "u1", t0))
		errs := race(2, func(i int) error {
			if i == 0 {
				return s.RotateRefreshToken(ctx, refreshOf(old), now, store.ReuseGrace{}, pair(next, grant, "c1", "u1", now))
			}
			_, err := s.RevokeGrant(ctx, grant, now)
			return err
		})
		tally(t, errs, store.ErrNotFound)
		wantRevokedIfStored(t, s, now, fmt.Sprint("round ", round), old, next)
	}
}

// testDisableRacesNewTokens: a user disabled while a refresh token of theirs
// rotates, or a code of theirs is redeemed, keeps no live token, so enabling
// them again revives none.
func testDisableRacesNewTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	addClient(t, s, "c1")
	if err := s.CreateUser(ctx, store.User{ID: "u1", Username: "u1", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	setDisabled := func(disabled bool, now time.Time) error {
		_, err := s.UpdateUser(ctx, "u1", func(u *store.User) error { u.Disabled, u.UpdatedAt = disabled, now; return nil })
		return err
	}
	now := at(time.Minute)
	for round := range raceRounds {
		old, next, redeemed := fmt.Sprint("old", round), fmt.Sprint("new", round), fmt.Sprint("redeemed", round)
		issue(t, s, pair(old, fmt.Sprint("g", round), "c1", "u1", t0))
		code := store.Code{Hash: hash(redeemed), ClientID: "c1", UserID: "u1", GrantID: fmt.Sprint("gc", round), CreatedAt: t0, ExpiresAt: at(time.Hour)}
		if err := s.CreateCode(ctx, code); err != nil {
			t.Fatalf("CreateCode: %v", err)
		}
		errs := race(3, func(i int) error {
			switch i {
			case 0:
				return s.RotateRefreshToken(ctx, refreshOf(old), now, store.ReuseGrace{}, pair(next, fmt.Sprint("g", round), "c1", "u1", now))
			case 1:
				return s.RedeemCode(ctx, code.Hash, now, pair(redeemed, code.GrantID, "c1", "u1", now))
			}
			return setDisabled(true, now)
		})
		tally(t, errs, store.ErrNotFound)
		if err := setDisabled(false, now); err != nil {
			t.Fatalf("enable: %v", err)
		}
		wantRevokedIfStored(t, s, now, fmt.Sprint("round ", round), old, next, redeemed)
	}
}

// testDeleteClientRacesNewTokens: an application deleted while one of its
// refresh tokens rotates, or a client-credentials token is issued to it,
// is deleted with every token, and the racing write either lands before
// and goes with it or finds the application gone (ErrNotFound).
func testDeleteClientRacesNewTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := at(time.Minute)
	for round := range raceRounds {
		client := fmt.Sprint("c", round)
		old, next, machine := fmt.Sprint("old", round), fmt.Sprint("new", round), fmt.Sprint("machine", round)
		addClient(t, s, client)
		issue(t, s, pair(old, fmt.Sprint("g", round), client, "u1", t0))
		errs := race(3, func(i int) error {
			switch i {
			case 0:
				return s.RotateRefreshToken(ctx, refreshOf(old), now, store.ReuseGrace{}, pair(next, fmt.Sprint("g", round), client, "u1", now))
			case 1:
				return s.IssueTokens(ctx, store.Issue{Access: pair(machine, "", client, "", now).Access})
			}
			return s.DeleteClient(ctx, client, nil)
		})
		tally(t, errs, store.ErrNotFound)
		if errs[2] != nil {
			t.Fatalf("round %d: DeleteClient: %v", round, errs[2])
		}
		wantMissing(t, s, accessOf(old), refreshOf(old), accessOf(next), refreshOf(next), accessOf(machine))
	}
}

// testDisableRacesDeleteClient: a user disabled while one of their
// applications is deleted. Both delete the user's codes for it and change
// their tokens for it; in opposite orders, PostgreSQL aborted one of them
// as a deadlock in most rounds. Both succeed, and nothing is left.
func testDisableRacesDeleteClient(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := at(time.Minute)
	const pairs = 12
	for round := range raceRounds / 2 {
		client, user := fmt.Sprint("c", round), fmt.Sprint("u", round)
		addClient(t, s, client)
		if err := s.CreateUser(ctx, store.User{ID: user, Username: user, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		var names []string
		for i := range pairs {
			name := fmt.Sprintf("r%d-%d", round, i)
			issue(t, s, pair(name, fmt.Sprintf("g%d-%d", round, i), client, user, t0))
			names = append(names, name)
			code := store.Code{Hash: hash(name), ClientID: client, UserID: user, GrantID: fmt.Sprintf("gc%d-%d", round, i), CreatedAt: t0, ExpiresAt: at(time.Hour)}
			if err := s.CreateCode(ctx, code); err != nil {
				t.Fatalf("CreateCode: %v", err)
			}
		}
		errs := race(2, func(i int) error {
			if i == 0 {
				return s.DeleteClient(ctx, client, nil)
			}
			_, err := s.UpdateUser(ctx, user, func(u *store.User) error { u.Disabled, u.UpdatedAt = true, now; return nil })
			return err
		})
		for i, what := range []string{"DeleteClient", "disable"} {
			if errs[i] != nil {
				t.Fatalf("round %d: %s: %v", round, what, errs[i])
			}
		}
		for _, name := range names {
			wantMissing(t, s, accessOf(name), refreshOf(name))
		}
	}
}
