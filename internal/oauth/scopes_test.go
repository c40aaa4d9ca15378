package oauth

import (
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/store"
)

func TestEffectiveScopes(t *testing.T) {
	s, _, _ := newTestServer(t)
	every := []string{"READ", "WRITE", "ADMIN", "SYSTEM_ADMIN", scope.IntegrationToken}
	level := func(l store.Level) *store.Level { return &l }
	cases := []struct {
		names         []string
		app           []string     // the application's scopes now
		level         *store.Level // nil: a client's own token
		kept, dropped []string
	}{
		{[]string{"READ"}, every, level(store.LevelUser), []string{"READ"}, nil},
		{[]string{"READ", "WRITE"}, every, level(store.LevelUser), []string{"READ", "WRITE"}, nil},
		{[]string{"ADMIN"}, every, level(store.LevelUser), []string{"WRITE"}, []string{"ADMIN"}},
		{[]string{"READ", "ADMIN"}, every, level(store.LevelUser), []string{"READ", "WRITE"}, []string{"ADMIN"}},
		{[]string{"WRITE", "SYSTEM_ADMIN"}, every, level(store.LevelUser), []string{"WRITE"}, []string{"SYSTEM_ADMIN"}},
		{[]string{"SYSTEM_ADMIN"}, every, level(store.LevelAdmin), []string{"ADMIN"}, []string{"SYSTEM_ADMIN"}},
		{[]string{"SYSTEM_ADMIN"}, every, level(store.LevelSystemAdmin), []string{"SYSTEM_ADMIN"}, nil},
		// The application narrowed since the grant: what it no longer may
		// ask for is dropped, for users and the application's own tokens.
		{[]string{"READ", "ADMIN"}, []string{"READ"}, level(store.LevelAdmin), []string{"READ"}, []string{"ADMIN"}},
		{[]string{"READ", "ADMIN"}, []string{"READ", "WRITE"}, level(store.LevelAdmin), []string{"READ", "WRITE"}, []string{"ADMIN"}},
		{[]string{"WRITE"}, []string{"READ"}, nil, []string{"READ"}, []string{"WRITE"}},
		{[]string{"READ", scope.IntegrationToken}, []string{"READ"}, level(store.LevelSystemAdmin), []string{"READ"}, []string{scope.IntegrationToken}},
		{[]string{scope.IntegrationToken}, []string{"READ"}, nil, nil, []string{scope.IntegrationToken}},
		// What the application's scopes imply is still within its reach.
		{[]string{"READ"}, []string{"ADMIN"}, level(store.LevelUser), []string{"READ"}, nil},
		// Both bounds at once: the application's list and the level.
		{[]string{"SYSTEM_ADMIN"}, []string{"WRITE"}, level(store.LevelAdmin), []string{"WRITE"}, []string{"SYSTEM_ADMIN"}},
	}
	for _, c := range cases {
		kept, dropped := s.effectiveScopes(c.names, store.Client{Scopes: c.app}, c.level)
		if !slices.Equal(kept, c.kept) || !slices.Equal(dropped, c.dropped) {
			t.Errorf("effectiveScopes(%v, app %v, level %v) = %v, %v; want %v, %v", c.names, c.app, c.level, kept, dropped, c.kept, c.dropped)
		}
	}
}
