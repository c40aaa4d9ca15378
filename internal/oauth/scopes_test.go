package oauth

import (
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestEffectiveScopes(t *testing.T) {
	s, _, _ := newTestServer(t)
	cases := []struct {
		names         []string
		level         store.Level
		kept, dropped []string
	}{
		{[]string{"READ"}, store.LevelUser, []string{"READ"}, nil},
		{[]string{"READ", "WRITE"}, store.LevelUser, []string{"READ", "WRITE"}, nil},
		{[]string{"ADMIN"}, store.LevelUser, []string{"WRITE"}, []string{"ADMIN"}},
		{[]string{"READ", "ADMIN"}, store.LevelUser, []string{"READ", "WRITE"}, []string{"ADMIN"}},
		{[]string{"WRITE", "SYSTEM_ADMIN"}, store.LevelUser, []string{"WRITE"}, []string{"SYSTEM_ADMIN"}},
		{[]string{"SYSTEM_ADMIN"}, store.LevelAdmin, []string{"ADMIN"}, []string{"SYSTEM_ADMIN"}},
		{[]string{"SYSTEM_ADMIN"}, store.LevelSystemAdmin, []string{"SYSTEM_ADMIN"}, nil},
	}
	for _, c := range cases {
		kept, dropped := s.effectiveScopes(c.names, c.level)
		if !slices.Equal(kept, c.kept) || !slices.Equal(dropped, c.dropped) {
			t.Errorf("effectiveScopes(%v, %d) = %v, %v; want %v, %v", c.names, c.level, kept, dropped, c.kept, c.dropped)
		}
	}
}
