package user

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// Errors a caller can show. ErrInvalid is wrapped by every validation
// failure, each a *validation.Error: its English text is fit to show, and its
// key words it in other languages.
var (
	ErrInvalidCredentials = errors.New("incorrect username or password")
	ErrThrottled          = errors.New("too many failed sign-ins; try again later")
	ErrInvalid            = errors.New("invalid user")
)

// invalid returns a validation failure with a message key (see internal/validation).
func invalid(key, format string, args ...any) error {
	return validation.Errorf(ErrInvalid, key, format, args...)
}

// ThrottlePolicy limits failed sign-ins in a fixed window.
type ThrottlePolicy struct {
	PerAccount int
	PerAddress int
	Window     time.Duration
}

// DefaultThrottle allows 5 failures per account and 20 per address in 15 minutes.
var DefaultThrottle = ThrottlePolicy{PerAccount: 5, PerAddress: 20, Window: 15 * time.Minute}

// Service is the user directory's logic over the store.
type Service struct {
	store    store.Store
	hasher   *Hasher
	throttle ThrottlePolicy
	now      func() time.Time

	dummyOnce sync.Once
	dummy     string // hash verified for unknown users so they cost the same time
}

// NewService returns a Service; now defaults to time.Now.
func NewService(s store.Store, h *Hasher, tp ThrottlePolicy, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, hasher: h, throttle: tp, now: now}
}

var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._@+-]{0,63}$`)

// NormalizeUsername folds case so "Alice" and "alice" are one account.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ParseLevel reads "user", "admin" or "system-admin".
func ParseLevel(s string) (store.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "user", "":
		return store.LevelUser, nil
	case "admin":
		return store.LevelAdmin, nil
	case "system-admin", "system_admin", "sysadmin":
		return store.LevelSystemAdmin, nil
	}
	return 0, invalid("user.level_invalid", "level %q is not one of user, admin, system-admin", s)
}

// LevelName is the inverse of ParseLevel.
func LevelName(l store.Level) string {
	switch l {
	case store.LevelAdmin:
		return "admin"
	case store.LevelSystemAdmin:
		return "system-admin"
	}
	return "user"
}

// NewUser is what an administrator supplies to create an account.
type NewUser struct {
	Username    string
	Password    string
	DisplayName string
	Email       string
	Level       store.Level
	Groups      []string
}

// Create validates and stores a new account.
func (s *Service) Create(ctx context.Context, n NewUser) (store.User, error) {
	name := NormalizeUsername(n.Username)
	if !usernamePattern.MatchString(name) {
		return store.User{}, invalid("user.username_invalid", "username must be 1-64 characters of a-z, 0-9, . _ @ + - and start with a letter or digit")
	}
	if err := checkPassword(n.Password); err != nil {
		return store.User{}, err
	}
	if n.Level < store.LevelUser || n.Level > store.LevelSystemAdmin {
		return store.User{}, invalid("user.level_unknown", "unknown level")
	}
	if len(n.DisplayName) > 200 || len(n.Email) > 254 {
		return store.User{}, invalid("user.profile_too_long", "display name or email too long")
	}
	hash, err := s.hasher.Hash(ctx, n.Password)
	if err != nil {
		return store.User{}, err
	}
	now := s.now()
	display := n.DisplayName
	if display == "" {
		display = name
	}
	u := store.User{
		ID: newID(), Username: name, DisplayName: display, Email: n.Email,
		PasswordHash: hash, Level: n.Level, Groups: n.Groups, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.User{}, invalid("user.username_taken", "username %q is taken", name)
		}
		return store.User{}, err
	}
	return u, nil
}

func checkPassword(p string) error {
	if len(p) < MinPasswordLength {
		return invalid("user.password_short", "password must be at least %d characters", MinPasswordLength)
	}
	if len(p) > MaxPasswordBytes {
		return invalid("user.password_long", "password must be at most %d bytes", MaxPasswordBytes)
	}
	return nil
}

// ByUsername looks a user up by name.
func (s *Service) ByUsername(ctx context.Context, username string) (store.User, error) {
	return s.store.UserByUsername(ctx, NormalizeUsername(username))
}

// Authenticate checks a sign-in. It refuses with ErrThrottled while the
// account or the address has too many recent failures, and with
// ErrInvalidCredentials for an unknown user, a wrong password or a disabled
// account alike.
func (s *Service) Authenticate(ctx context.Context, username, password string, addr netip.Addr) (store.User, error) {
	now := s.now()
	name := NormalizeUsername(username)
	accountKey, addressKey := "account:"+name, "address:"+addr.Unmap().String()
	if s.throttled(ctx, accountKey, s.throttle.PerAccount, now) || s.throttled(ctx, addressKey, s.throttle.PerAddress, now) {
		return store.User{}, ErrThrottled
	}
	u, err := s.store.UserByUsername(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, err
	}
	hash := u.PasswordHash
	if err != nil {
		hash = s.dummyHash(ctx)
	}
	ok, verr := s.hasher.Verify(ctx, hash, password)
	if verr != nil && ctx.Err() != nil {
		return store.User{}, verr
	}
	if err != nil || !ok || u.Disabled {
		s.fail(ctx, accountKey, now)
		s.fail(ctx, addressKey, now)
		return store.User{}, ErrInvalidCredentials
	}
	if err := s.store.ResetFailures(ctx, accountKey); err != nil {
		return store.User{}, err
	}
	return u, nil
}

func (s *Service) throttled(ctx context.Context, key string, limit int, now time.Time) bool {
	if limit <= 0 {
		return false
	}
	n, err := s.store.Failures(ctx, key, now, s.throttle.Window)
	// Fail closed: if the counter cannot be read, do not offer a free guess.
	return err != nil || n >= limit
}

func (s *Service) fail(ctx context.Context, key string, now time.Time) {
	s.store.AddFailure(ctx, key, now, s.throttle.Window) //nolint:errcheck // best effort; the sign-in fails either way
}

func (s *Service) dummyHash(ctx context.Context) string {
	s.dummyOnce.Do(func() {
		s.dummy, _ = s.hasher.Hash(ctx, "gatehouse timing equaliser")
	})
	return s.dummy
}

// SetPassword replaces a user's password.
func (s *Service) SetPassword(ctx context.Context, username, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	// A new password ends every session signed in with the old one.
	return s.Update(ctx, username, func(u *store.User) { u.PasswordHash, u.SessionsAfter = hash, s.now() })
}

// SetLevel changes a user's permission level; it takes effect on every token at once.
func (s *Service) SetLevel(ctx context.Context, username string, level store.Level) error {
	return s.Update(ctx, username, func(u *store.User) { u.Level = level })
}

// SetDisabled disables or re-enables an account.
func (s *Service) SetDisabled(ctx context.Context, username string, disabled bool) error {
	return s.Update(ctx, username, func(u *store.User) {
		u.Disabled = disabled
		if disabled {
			u.SessionsAfter = s.now()
		}
	})
}

// SignOutEverywhere ends every browser session of the user.
func (s *Service) SignOutEverywhere(ctx context.Context, username string) error {
	return s.Update(ctx, username, func(u *store.User) { u.SessionsAfter = s.now() })
}

// Update applies change to the user and stores it.
func (s *Service) Update(ctx context.Context, username string, change func(*store.User)) error {
	u, err := s.ByUsername(ctx, username)
	if err != nil {
		return err
	}
	change(&u)
	u.UpdatedAt = s.now()
	return s.store.UpdateUser(ctx, u)
}

// EnsureAdmin creates the first administrator when the directory is empty and
// returns its password, or "" when users already exist. password may be empty,
// in which case a random one is generated.
func (s *Service) EnsureAdmin(ctx context.Context, password string) (string, error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	if password == "" {
		b := make([]byte, 12)
		rand.Read(b)
		password = hex.EncodeToString(b)
	}
	_, err = s.Create(ctx, NewUser{Username: "admin", Password: password, DisplayName: "Administrator", Level: store.LevelSystemAdmin})
	if errors.Is(err, ErrInvalid) {
		// Another node created it at the same moment.
		if _, lookup := s.ByUsername(ctx, "admin"); lookup == nil {
			return "", nil
		}
	}
	if err != nil {
		return "", err
	}
	return password, nil
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
