package e2e

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
)

// An administrator's change to an application racing a system
// administrator's giving it INTEGRATION_TOKEN lands before it or is
// refused: the permission is checked again on the row the change replaces,
// so no administrator below system administrator rotates the secret of,
// edits or deletes an application that already has the scope.
func TestAdminChangeRacingTheIntegrationScope(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	reg := func(name string, scopes ...string) app.Registration {
		return app.Registration{Name: name, Scopes: scopes, Grants: []string{app.GrantClientCredentials}, KeepEnabled: true}
	}
	for round := range 40 {
		name := fmt.Sprintf("fetcher %d", round)
		c, _, err := e.node.Admin.CreateApp(ctx, rootActor, reg(name, "READ"))
		if err != nil {
			t.Fatal(err)
		}
		raceAgainstARaise(t, e, round, store.AuditFilter{ClientID: c.ID}, audit.ClientUpdate,
			func() error {
				_, _, err := e.node.Admin.UpdateApp(ctx, rootActor, c.ID, reg(name, "READ", "INTEGRATION_TOKEN"))
				return err
			},
			func() error {
				switch round % 3 {
				case 0:
					_, err := e.node.Admin.RotateSecret(ctx, admActor, c.ID)
					return err
				case 1:
					_, _, err := e.node.Admin.UpdateApp(ctx, admActor, c.ID, reg(name+" renamed", "READ"))
					return err
				}
				return e.node.Admin.DeleteApp(ctx, admActor, c.ID)
			})
	}
}

// An administrator's password reset racing a system administrator's
// raising the user to system administrator lands before it or is refused:
// otherwise the administrator would set a system administrator's password.
func TestPasswordResetRacingARaise(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	raised := store.LevelSystemAdmin
	for round := range 40 {
		name := fmt.Sprintf("newhire%d", round)
		e.createUser(name, "first-password-1", store.LevelUser)
		raceAgainstARaise(t, e, round, store.AuditFilter{Username: name}, audit.UserUpdate,
			func() error {
				_, err := e.node.Admin.UpdateUser(ctx, rootActor, name, admin.UserChange{Level: &raised})
				return err
			},
			func() error { return e.node.Admin.ResetPassword(ctx, admActor, name, "chosen-by-adm-1") })
	}
}

var (
	rootActor = admin.Actor{Username: "root", Level: store.LevelSystemAdmin}
	admActor  = admin.Actor{Username: "adm", Level: store.LevelAdmin}
)

// raceAgainstARaise runs raise (rootActor's change, after which admActor
// may no longer act on the subject) and act (admActor's) at once: act must
// be refused as above the administrator's level, or have committed first —
// its audit event, among those filter finds, before raise's (raiseKind).
func raceAgainstARaise(t *testing.T, e *env, round int, filter store.AuditFilter, raiseKind string, raise, act func() error) {
	t.Helper()
	var raiseErr, actErr error
	var wg sync.WaitGroup
	wg.Go(func() { raiseErr = raise() })
	wg.Go(func() { actErr = act() })
	wg.Wait()
	if errors.Is(raiseErr, store.ErrNotFound) && actErr == nil {
		return // act deleted the subject first
	}
	if raiseErr != nil {
		t.Fatalf("round %d: the system administrator's change: %v", round, raiseErr)
	}
	if actErr != nil {
		if !errors.Is(actErr, admin.ErrAboveLevel) {
			t.Fatalf("round %d: the administrator's change failed otherwise: %v", round, actErr)
		}
		return
	}
	events, err := e.node.Admin.Audit(context.Background(), filter)
	if err != nil {
		t.Fatal(err)
	}
	var raisedAt, actedAt int64
	for _, ev := range events {
		switch {
		case ev.Actor == rootActor.Username && ev.Kind == raiseKind:
			raisedAt = ev.ID
		case ev.Actor == admActor.Username:
			actedAt = ev.ID
		}
	}
	if raisedAt == 0 || actedAt == 0 || actedAt > raisedAt {
		t.Fatalf("round %d: the administrator's change (event %d) landed after the system administrator's (event %d)", round, actedAt, raisedAt)
	}
}

// An application deleted while it is renamed is audited under the name it
// had when deleted: the deletion names it as its own transaction finds it.
func TestDeleteRacingARenameAuditsTheNameDeleted(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for round := range 40 {
		before, after := fmt.Sprintf("payroll %d", round), fmt.Sprintf("billing %d", round)
		c, _, err := e.node.Admin.CreateApp(ctx, rootActor, app.Registration{Name: before, Scopes: []string{"READ"}, Grants: []string{app.GrantClientCredentials}})
		if err != nil {
			t.Fatal(err)
		}
		var renameErr, deleteErr error
		var wg sync.WaitGroup
		wg.Go(func() {
			_, _, renameErr = e.node.Admin.UpdateApp(ctx, rootActor, c.ID, app.Registration{Name: after, Scopes: []string{"READ"}, Grants: []string{app.GrantClientCredentials}, KeepEnabled: true})
		})
		wg.Go(func() { deleteErr = e.node.Admin.DeleteApp(ctx, admActor, c.ID) })
		wg.Wait()
		if deleteErr != nil || renameErr != nil && !errors.Is(renameErr, store.ErrNotFound) {
			t.Fatalf("round %d: delete %v, rename %v", round, deleteErr, renameErr)
		}
		want := before
		if renameErr == nil {
			want = after // the rename committed first
		}
		events, err := e.node.Admin.Audit(ctx, store.AuditFilter{ClientID: c.ID, Kind: audit.ClientDelete})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].Detail != want {
			t.Fatalf("round %d: the deletion's events %+v, want one naming %q", round, events, want)
		}
	}
}
