package admin

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

// ListUsers returns every user.
func (s *Service) ListUsers(ctx context.Context) ([]store.User, error) { return s.store.ListUsers(ctx) }

// Groups returns every group name in use, sorted.
func (s *Service) Groups(ctx context.Context) ([]string, error) {
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	var groups []string
	for _, u := range users {
		for _, g := range u.Groups {
			if !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
	}
	slices.Sort(groups)
	return groups, nil
}

// CreateUser adds a user; only a system administrator may create another one.
func (s *Service) CreateUser(ctx context.Context, a Actor, n user.NewUser) (store.User, error) {
	if n.Level > a.User.Level {
		return store.User{}, invalid("admin.level_above_own", "you cannot give a level above your own")
	}
	n.Groups = cleanGroups(n.Groups)
	u, err := s.users.Create(ctx, n)
	if err != nil {
		return u, err
	}
	s.record(ctx, a, audit.UserCreate, "", u.Username, user.LevelName(u.Level))
	return u, nil
}

// UserChange is an edit of a user; nil fields stay as they are.
type UserChange struct {
	DisplayName *string
	Email       *string
	Level       *store.Level
	Groups      *[]string
	Disabled    *bool
}

// UpdateUser applies a change, refusing one that would leave no enabled
// system administrator or that raises anyone above the actor's own level.
func (s *Service) UpdateUser(ctx context.Context, a Actor, username string, ch UserChange) (store.User, error) {
	u, err := s.users.ByUsername(ctx, username)
	if err != nil {
		return u, err
	}
	if u.Level > a.User.Level || (ch.Level != nil && *ch.Level > a.User.Level) {
		return u, invalid("admin.user_above_own", "you cannot change a user above your own level, nor raise anyone above it")
	}
	next := u
	if ch.DisplayName != nil {
		next.DisplayName = strings.TrimSpace(*ch.DisplayName)
	}
	if ch.Email != nil {
		next.Email = strings.TrimSpace(*ch.Email)
	}
	if ch.Level != nil {
		if *ch.Level < store.LevelUser || *ch.Level > store.LevelSystemAdmin {
			return u, invalid("user.level_unknown", "unknown level")
		}
		next.Level = *ch.Level
	}
	if ch.Groups != nil {
		next.Groups = cleanGroups(*ch.Groups)
	}
	if ch.Disabled != nil {
		next.Disabled = *ch.Disabled
	}
	if len(next.DisplayName) > 200 || len(next.Email) > 254 {
		return u, invalid("user.profile_too_long", "display name or email too long")
	}
	if err := s.keepASystemAdmin(ctx, u, next); err != nil {
		return u, err
	}
	err = s.users.Update(ctx, username, func(stored *store.User) {
		stored.DisplayName, stored.Email, stored.Level, stored.Groups = next.DisplayName, next.Email, next.Level, next.Groups
		if next.Disabled && !stored.Disabled {
			stored.SessionsAfter = s.now()
		}
		stored.Disabled = next.Disabled
	})
	if err != nil {
		return u, err
	}
	s.record(ctx, a, audit.UserUpdate, "", u.Username, describeChange(u, next))
	return s.users.ByUsername(ctx, username)
}

// keepASystemAdmin refuses to demote or disable the last enabled system administrator.
func (s *Service) keepASystemAdmin(ctx context.Context, before, after store.User) error {
	wasActiveSysadmin := before.Level == store.LevelSystemAdmin && !before.Disabled
	staysActiveSysadmin := after.Level == store.LevelSystemAdmin && !after.Disabled
	if !wasActiveSysadmin || staysActiveSysadmin {
		return nil
	}
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, o := range users {
		if o.ID != before.ID && o.Level == store.LevelSystemAdmin && !o.Disabled {
			return nil
		}
	}
	return invalid("admin.last_system_admin", "%s is the last system administrator: make someone else a system administrator first", before.Username)
}

func describeChange(before, after store.User) string {
	var parts []string
	if before.Level != after.Level {
		parts = append(parts, "level "+user.LevelName(before.Level)+" → "+user.LevelName(after.Level))
	}
	if before.Disabled != after.Disabled {
		parts = append(parts, map[bool]string{true: "disabled", false: "enabled"}[after.Disabled])
	}
	if !slices.Equal(before.Groups, after.Groups) {
		parts = append(parts, "groups: "+strings.Join(after.Groups, ", "))
	}
	if before.DisplayName != after.DisplayName || before.Email != after.Email {
		parts = append(parts, "profile")
	}
	return strings.Join(parts, "; ")
}

func cleanGroups(in []string) []string {
	out := []string{}
	for _, g := range in {
		if g = strings.TrimSpace(g); g != "" && len(g) <= 100 && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// ResetPassword sets a new password and ends the user's sessions.
func (s *Service) ResetPassword(ctx context.Context, a Actor, username, password string) error {
	u, err := s.users.ByUsername(ctx, username)
	if err != nil {
		return err
	}
	if u.Level > a.User.Level {
		return invalid("admin.password_above_own", "you cannot reset the password of a user above your own level")
	}
	if err := s.users.SetPassword(ctx, username, password); err != nil {
		return err
	}
	s.record(ctx, a, audit.UserPassword, "", u.Username, "password reset")
	return nil
}

// SignOutEverywhere ends every session of the user (an administrator's action or the user's own).
func (s *Service) SignOutEverywhere(ctx context.Context, a Actor, username string) error {
	if err := s.users.SignOutEverywhere(ctx, username); err != nil {
		return err
	}
	s.record(ctx, a, audit.UserSignOutAll, "", user.NormalizeUsername(username), "")
	return nil
}
