package admin

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// UserPages reads every user, size (> 0) at a time in username order: each
// call of the function it returns gives the next page, and an empty one at
// the end. Each page starts after the last username of the one before, so
// no page reads its predecessors again.
func (s *Service) UserPages(ctx context.Context, size int) func() ([]store.User, error) {
	after, done := "", false
	return func() ([]store.User, error) {
		if done {
			return nil, nil
		}
		users, err := s.store.SearchUsers(ctx, store.UserSearch{After: after, Limit: size})
		if err != nil {
			return nil, err
		}
		if done = len(users) < size; !done {
			after = users[len(users)-1].Username
		}
		return users, nil
	}
}

// MaxUserPage bounds the page number SearchUsers accepts, so that the offset
// stays a sane number whatever a URL says.
const MaxUserPage = 100_000

// SearchUsers returns page (counted from 1) of the users whose username,
// display name or email contains query (trimmed; empty matches everyone),
// size to a page, sorted by username, and whether a later page has more.
// A query that no field could hold finds nobody.
func (s *Service) SearchUsers(ctx context.Context, query string, page, size int) ([]store.User, bool, error) {
	query = strings.TrimSpace(query)
	if !validation.Clean(query) || utf8.RuneCountInString(query) > 254 { // an email's maximum
		return nil, false, nil
	}
	page = min(max(page, 1), MaxUserPage)
	users, err := s.store.SearchUsers(ctx, store.UserSearch{Text: query, Offset: (page - 1) * size, Limit: size + 1})
	if err != nil {
		return nil, false, err
	}
	if len(users) > size {
		return users[:size], true, nil
	}
	return users, false, nil
}

// Groups returns every group name in use, sorted.
func (s *Service) Groups(ctx context.Context) ([]string, error) { return s.store.GroupNames(ctx) }

// CreateUser adds a user; only a system administrator may create another one.
func (s *Service) CreateUser(ctx context.Context, a Actor, n user.NewUser) (store.User, error) {
	if n.Level > a.Level {
		return store.User{}, aboveLevel("admin.level_above_own", "you cannot give a level above your own")
	}
	ctx, event := s.pending(ctx, a, audit.UserCreate, "", user.NormalizeUsername(n.Username), user.LevelName(n.Level))
	u, err := s.users.Create(ctx, n)
	if err != nil {
		return u, err
	}
	s.audit.Settle(ctx, event)
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
// The checks run on the stored user inside the update's transaction, so a
// concurrent change is neither lost nor slips past them.
func (s *Service) UpdateUser(ctx context.Context, a Actor, username string, ch UserChange) (store.User, error) {
	ctx, event := s.pending(ctx, a, audit.UserUpdate, "", "", "")
	after, err := s.users.Update(ctx, username, func(u *store.User) error {
		before := *u
		// The event commits with the change and describes it as written.
		defer func() { event.Event.Username, event.Event.Detail = u.Username, describeChange(before, *u) }()
		if u.Level > a.Level || (ch.Level != nil && *ch.Level > a.Level) {
			return aboveLevel("admin.user_above_own", "you cannot change a user above your own level, nor raise anyone above it")
		}
		if ch.DisplayName != nil {
			u.DisplayName = strings.TrimSpace(*ch.DisplayName)
		}
		if ch.Email != nil {
			u.Email = strings.TrimSpace(*ch.Email)
		}
		if ch.Level != nil {
			if *ch.Level < store.LevelUser || *ch.Level > store.LevelSystemAdmin {
				return invalid("user.level_unknown", "unknown level")
			}
			u.Level = *ch.Level
		}
		if ch.Groups != nil {
			u.Groups = *ch.Groups
		}
		if ch.Disabled != nil {
			u.Disabled = *ch.Disabled
		}
		var err error
		u.Groups, err = user.CleanProfile(u.DisplayName, u.Email, u.Groups)
		return err
	})
	if err != nil {
		return after, err
	}
	s.audit.Settle(ctx, event)
	return after, nil
}

func describeChange(before, after store.User) string {
	var parts []string
	if before.Level != after.Level {
		parts = append(parts, "level "+user.LevelName(before.Level)+" → "+user.LevelName(after.Level))
	}
	if before.Disabled != after.Disabled {
		parts = append(parts, map[bool]string{true: "disabled, every token revoked", false: "enabled"}[after.Disabled])
	}
	if !slices.Equal(before.Groups, after.Groups) {
		parts = append(parts, "groups: "+strings.Join(after.Groups, ", "))
	}
	if before.DisplayName != after.DisplayName || before.Email != after.Email {
		parts = append(parts, "profile")
	}
	if len(parts) == 0 {
		return "nothing changed"
	}
	return strings.Join(parts, "; ")
}

// ResetPassword sets a new password and ends the user's sessions.
func (s *Service) ResetPassword(ctx context.Context, a Actor, username, password string) error {
	notAbove := func(u store.User) error {
		if u.Level > a.Level {
			return aboveLevel("admin.password_above_own", "you cannot reset the password of a user above your own level")
		}
		return nil
	}
	// Checked first so that a refusal costs no hash, and again on the row
	// the reset replaces: the user may be raised above a.Level meanwhile.
	u, err := s.users.ByUsername(ctx, username)
	if err != nil {
		return err
	}
	if err := notAbove(u); err != nil {
		return err
	}
	ctx, event := s.pending(ctx, a, audit.UserPassword, "", u.Username, "password reset")
	if err := s.users.SetPassword(ctx, username, password, notAbove); err != nil {
		return err
	}
	s.audit.Settle(ctx, event)
	return nil
}

// SignOutEverywhere ends every session of the user: the user's own action,
// or an administrator's on a user not above their level.
func (s *Service) SignOutEverywhere(ctx context.Context, a Actor, username string) error {
	ctx, event := s.pending(ctx, a, audit.UserSignOutAll, "", user.NormalizeUsername(username), "")
	_, err := s.users.Update(ctx, username, func(u *store.User) error {
		if u.ID != a.UserID && u.Level > a.Level {
			return aboveLevel("admin.sign_out_above_own", "you cannot end the sessions of a user above your own level")
		}
		u.SessionsAfter = s.now()
		return nil
	})
	if err != nil {
		return err
	}
	s.audit.Settle(ctx, event)
	return nil
}
