package e2e

import (
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testnode"
	"github.com/gatehouse/gatehouse/internal/user"
)

// A password hashed with other parameters than the node's (an older
// default) is hashed again with the node's at its owner's next sign-in
// through the page, and signs in as before afterwards; a wrong password
// moves nothing.
func TestSignInMovesAnOlderHashToTheNodesParameters(t *testing.T) {
	e := newEnv(t)
	alice := e.createUser("alice", "alice-password", store.LevelUser)
	older, err := user.NewHasher(user.Argon2Params{MemoryKiB: 128, Time: 2, Threads: 1}, 1).Hash(t.Context(), "alice-password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.node.Store.UpdateUser(t.Context(), alice.ID, func(u *store.User) error { u.PasswordHash = older; return nil }); err != nil {
		t.Fatal(err)
	}
	stored := func() string {
		t.Helper()
		u, err := e.node.Store.UserByUsername(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		return u.PasswordHash
	}
	if p := e.newBrowser().signIn("alice", "not-alice-password"); p.status != http.StatusUnauthorized {
		t.Fatalf("a wrong password: status %d", p.status)
	}
	if stored() != older {
		t.Fatal("a wrong password changed the hash")
	}
	if p := e.newBrowser().signIn("alice", "alice-password"); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in with the older hash: status %d", p.status)
	}
	if now := stored(); now == older || user.NewHasher(testnode.FastArgon2, 1).Outdated(now) {
		t.Fatalf("after a sign-in the hash is %s; want one with the node's parameters %+v", now, testnode.FastArgon2)
	}
	if p := e.newBrowser().signIn("alice", "alice-password"); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in with the new hash: status %d", p.status)
	}
}
