package user

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/mail"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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

// Throttled is ErrThrottled with when to try again: at most the policy's
// window, since the window is fixed and its count is gone by then. First
// marks the window's first refusal for its account or address.
type Throttled struct {
	RetryAfter time.Duration
	First      bool
}

// FirstThrottled reports whether err is the first refusal of its window
// (Throttled.First): the one to audit. An audit row for every refused
// attempt would let an anonymous caller write a durable row per request.
func FirstThrottled(err error) bool {
	var t *Throttled
	return errors.As(err, &t) && t.First
}

func (t *Throttled) Error() string { return ErrThrottled.Error() }
func (t *Throttled) Unwrap() error { return ErrThrottled }

// RetryAfter is a Retry-After header's value (whole seconds) for a throttled
// sign-in, "" for any other error.
func RetryAfter(err error) string {
	var t *Throttled
	if !errors.As(err, &t) {
		return ""
	}
	return strconv.Itoa(int(math.Ceil(t.RetryAfter.Seconds())))
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
	// decoy is verified for unknown users so that they cost the same time as
	// known ones: a hash of the same parameters whose password nobody knows.
	decoy   string
	signIns signInMetrics
}

// NewService returns a Service; now defaults to time.Now.
func NewService(s store.Store, h *Hasher, tp ThrottlePolicy, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, hasher: h, throttle: tp, now: now, decoy: h.Decoy(), signIns: newSignInMetrics()}
}

var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._@+-]{0,63}$`)

// NormalizeUsername folds case so "Alice" and "alice" are one account.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ParseLevel reads "user", "admin" or "system-admin". An empty level is none
// of them: where a level may be left out, the caller gives its default.
func ParseLevel(s string) (store.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "user":
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

// Available reports why a new account could not take username (its form,
// or an account that has it), or nil: for a caller that asks for the
// password only once the rest is known to be right.
func (s *Service) Available(ctx context.Context, username string) error {
	name := NormalizeUsername(username)
	if err := checkUsername(name); err != nil {
		return err
	}
	_, err := s.store.UserByUsername(ctx, name)
	switch {
	case err == nil:
		return usernameTaken(name)
	case errors.Is(err, store.ErrNotFound):
		return nil
	}
	return err
}

func checkUsername(name string) error {
	if !usernamePattern.MatchString(name) {
		return invalid("user.username_invalid", "username must be 1-64 characters of a-z, 0-9, . _ @ + - and start with a letter or digit")
	}
	return nil
}

func usernameTaken(name string) error {
	return invalid("user.username_taken", "username %q is taken", name)
}

// Create validates and stores a new account.
func (s *Service) Create(ctx context.Context, n NewUser) (store.User, error) {
	name := NormalizeUsername(n.Username)
	if err := checkUsername(name); err != nil {
		return store.User{}, err
	}
	if err := checkPassword(n.Password); err != nil {
		return store.User{}, err
	}
	if n.Level < store.LevelUser || n.Level > store.LevelSystemAdmin {
		return store.User{}, invalid("user.level_unknown", "unknown level")
	}
	groups, err := CleanProfile(n.DisplayName, n.Email, n.Groups)
	if err != nil {
		return store.User{}, err
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
		PasswordHash: hash, Level: n.Level, Groups: groups, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.User{}, usernameTaken(name)
		}
		return store.User{}, err
	}
	return u, nil
}

func checkPassword(p string) error {
	if utf8.RuneCountInString(p) < MinPasswordLength {
		return invalid("user.password_short", "password must be at least %d characters", MinPasswordLength)
	}
	if len(p) > MaxPasswordBytes {
		return invalid("user.password_long", "password must be at most %d bytes", MaxPasswordBytes)
	}
	// What the sign-in page could never send (a password field holds no
	// line break, and the page refuses a NUL) would lock the user out.
	if !utf8.ValidString(p) || strings.IndexFunc(p, unicode.IsControl) >= 0 {
		return invalid("user.password_control", "password must be valid UTF-8 without control characters (line breaks, tabs, NUL)")
	}
	return nil
}

// ByUsername looks a user up by name.
func (s *Service) ByUsername(ctx context.Context, username string) (store.User, error) {
	name := NormalizeUsername(username)
	if !usernamePattern.MatchString(name) {
		return store.User{}, notFound(name) // no such name can be stored
	}
	u, err := s.store.UserByUsername(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return u, notFound(name)
	}
	return u, err
}

// notFoundError words store.ErrNotFound for people: `user "ghost" not found`.
type notFoundError struct{ username string }

func (e notFoundError) Error() string { return fmt.Sprintf("user %q not found", e.username) }
func (e notFoundError) Unwrap() error { return store.ErrNotFound }

func notFound(username string) error {
	if len(username) > 64 || !validation.Clean(username) {
		username = "(not a valid username)"
	}
	return notFoundError{username}
}

// Profile field rules (see internal/validation for the input policy).
var (
	displayNameRule = validation.TextRule{Field: "display_name", Max: 200, Name: true}
	emailRule       = validation.TextRule{Field: "email", Max: 254, Name: true}
	// GroupsRule: a user belongs to at most 100 groups of at most 100 characters.
	GroupsRule = validation.ListRule{Item: validation.TextRule{Field: "groups", Max: 100, Name: true}, Max: 100}
)

// groupPattern is the character set of a group name: letters and digits of
// any script, spaces inside, and . _ - + @ — no commas, quotes or slashes,
// which lists and filters use as separators.
var groupPattern = regexp.MustCompile(`^[\p{L}\p{N}._+@-]([\p{L}\p{N} ._+@-]*[\p{L}\p{N}._+@-])?$`)

// CheckGroupName refuses a group name outside groupPattern.
func CheckGroupName(name string) error {
	if !groupPattern.MatchString(name) {
		return invalid("user.group_invalid", "group %q may hold only letters, digits, spaces inside, and . _ - + @", name)
	}
	return nil
}

// CleanProfile checks a display name and an email and returns the groups
// trimmed and without duplicates, refusing anything over a limit.
func CleanProfile(displayName, email string, groups []string) ([]string, error) {
	if err := displayNameRule.Check(ErrInvalid, displayName); err != nil {
		return nil, err
	}
	if err := emailRule.Check(ErrInvalid, email); err != nil {
		return nil, err
	}
	if a, err := mail.ParseAddress(email); email != "" && (err != nil || a.Address != email || a.Name != "") {
		return nil, invalid("user.email_invalid", "email %q is not an address like name@example.com", email)
	}
	groups, err := GroupsRule.Clean(ErrInvalid, groups)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		if err := CheckGroupName(g); err != nil {
			return nil, err
		}
	}
	return groups, nil
}

// Authenticate checks a sign-in. It refuses with ErrThrottled while the
// account or the address has too many recent attempts, and with
// ErrInvalidCredentials for an unknown user, a wrong password or a disabled
// account alike.
//
// Every attempt is counted before the password is hashed, so a burst of
// concurrent guesses each sees its own count and at most the limit are
// hashed. A success takes back only its own count, so one right password
// wipes out no burst of guesses, neither from its address nor at its account.
func (s *Service) Authenticate(ctx context.Context, username, password string, addr netip.Addr) (store.User, error) {
	return s.AuthenticateOnKnownDevice(ctx, username, password, addr, "")
}

// AuthenticateOnKnownDevice is Authenticate from a device the account signed
// in from before (device names it; "" for none): the account's failures
// there are counted apart from its failures anywhere else, so a guesser who
// locks a well-known account (admin) out of every other browser does not
// lock its owner out of theirs. The address's count applies as always.
func (s *Service) AuthenticateOnKnownDevice(ctx context.Context, username, password string, addr netip.Addr, device string) (store.User, error) {
	now := s.now()
	name := NormalizeUsername(username)
	// A name no account can have is not counted per account (nor looked up:
	// it might not even be storable text); the address still counts it, and
	// it costs the same decoy hash as an unknown user.
	possible := usernamePattern.MatchString(name)
	accountKey, addressKey := "account:"+name, "address:"+addressKey(addr)
	if device != "" {
		accountKey += " device:" + device
	}
	accountLimit := s.throttle.PerAccount
	if !possible {
		accountLimit = 0
	}
	// Each bucket counts the attempt before the password is checked, so that
	// concurrent guesses cannot all pass a check made before any of them
	// failed; what is reserved is released again unless it was a guess —
	// also when the attempt ends early (the database failing after the
	// count, the caller gone), or an outage would turn right passwords into
	// counted failures and lock the account and the address for the window.
	var reserved []reservation
	guessed := false
	defer func() {
		if !guessed {
			s.giveBack(ctx, reserved)
		}
	}()
	for _, r := range []struct {
		key   string
		limit int
	}{{addressKey, s.throttle.PerAddress}, {accountKey, accountLimit}} {
		if r.limit <= 0 {
			continue
		}
		n, windowStart, err := s.store.AddFailure(ctx, r.key, now, s.throttle.Window)
		if err != nil {
			// Fail closed: no guess (and the database's state, such as an
			// outage, is the answer).
			return store.User{}, err
		}
		reserved = append(reserved, reservation{r.key, windowStart})
		if n > r.limit {
			// A refused attempt made no guess: it counts nothing, or right
			// passwords sent at once would lock the account and address.
			// Refusals are counted apart, to tell the window's first.
			s.signIns.throttled.Inc()
			refusals, _, err := s.store.AddFailure(ctx, "refused:"+r.key, now, s.throttle.Window)
			return store.User{}, &Throttled{RetryAfter: s.throttle.Window, First: err == nil && refusals == 1}
		}
	}
	u, err := store.User{}, store.ErrNotFound
	if possible {
		u, err = s.store.UserByUsername(ctx, name)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, err
	}
	hash := u.PasswordHash
	if err != nil {
		hash = s.decoy
	}
	ok, verr := s.hasher.Verify(ctx, hash, password)
	if verr != nil && ctx.Err() != nil {
		return store.User{}, verr
	}
	if err != nil || !ok || u.Disabled {
		guessed = true
		s.signIns.failure.Inc()
		return store.User{}, ErrInvalidCredentials
	}
	// Only this attempt's own count is taken back (deferred above), from the
	// account as from the address: a sign-in by the account's owner must not
	// hand an attacker guessing at it a fresh allowance.
	s.signIns.success.Inc()
	s.rehash(ctx, u, password)
	return u, nil
}

// errPasswordChanged stops a rehash whose user's password changed after
// the sign-in read it: the new password stands.
var errPasswordChanged = errors.New("user: the password changed since the sign-in read it")

// rehash stores the password u just signed in with hashed with the current
// parameters, when its hash was made with others (a default changed since),
// so that every account moves to them at its next sign-in. It is best
// effort: the sign-in has succeeded either way, and a failure leaves the
// old hash, which still verifies.
func (s *Service) rehash(ctx context.Context, u store.User, password string) {
	if !s.hasher.Outdated(u.PasswordHash) {
		return
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return
	}
	s.store.UpdateUser(ctx, u.ID, func(now *store.User) error { //nolint:errcheck // best effort, above
		if now.PasswordHash != u.PasswordHash {
			return errPasswordChanged
		}
		now.PasswordHash = hash
		return nil
	})
}

// releaseTimeout bounds giving back an attempt's counts once its request is
// over.
const releaseTimeout = 10 * time.Second

// reservation is one attempt counted in a throttle bucket: the bucket and
// the window it was counted in, which is what a release must take it from.
type reservation struct {
	key         string
	windowStart time.Time
}

// giveBack takes back the attempt's reservations: within the request while
// it lasts, and after it in the background when it is over (a request past
// its deadline still gives back what it counted, but its caller does not
// wait for a stalled database). A release that fails leaves the count to
// expire with its window.
func (s *Service) giveBack(ctx context.Context, reserved []reservation) {
	for i, r := range reserved {
		if ctx.Err() == nil && s.store.ReleaseFailure(ctx, r.key, r.windowStart) == nil {
			continue
		}
		if ctx.Err() != nil {
			go s.releaseLater(context.WithoutCancel(ctx), reserved[i:])
			return
		}
		// Failed within the request: it expires with its window.
	}
}

func (s *Service) releaseLater(ctx context.Context, reserved []reservation) {
	ctx, cancel := context.WithTimeout(ctx, releaseTimeout)
	defer cancel()
	for _, r := range reserved {
		s.store.ReleaseFailure(ctx, r.key, r.windowStart) //nolint:errcheck // expires with its window
	}
}

// addressKey names the throttle bucket of a caller: the address itself for
// IPv4, its /64 for IPv6, since one host usually holds a whole /64.
func addressKey(addr netip.Addr) string {
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// SetPassword replaces a user's password. allow, when set, vets the user
// as the change's own transaction reads it (a permission that depends on
// the user's level): its error refuses the change, which writes nothing.
func (s *Service) SetPassword(ctx context.Context, username, password string, allow func(store.User) error) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	// A new password ends every session signed in with the old one, and
	// lifts the account's sign-in throttle: the guesses were at the old one.
	u, err := s.Update(ctx, username, func(u *store.User) error {
		if allow != nil {
			if err := allow(*u); err != nil {
				return err
			}
		}
		u.PasswordHash, u.SessionsAfter = hash, s.now()
		return nil
	})
	if err != nil {
		return err
	}
	return s.store.ResetFailures(ctx, "account:"+u.Username)
}

// SetLevel changes a user's permission level; it takes effect on every token at once.
func (s *Service) SetLevel(ctx context.Context, username string, level store.Level) error {
	if level < store.LevelUser || level > store.LevelSystemAdmin {
		return invalid("user.level_unknown", "unknown level")
	}
	_, err := s.Update(ctx, username, func(u *store.User) error {
		u.Level = level
		return nil
	})
	return err
}

// SetDisabled disables or re-enables an account. Disabling ends the user's
// sessions and revokes every token of theirs, so re-enabling revives none.
func (s *Service) SetDisabled(ctx context.Context, username string, disabled bool) error {
	_, err := s.Update(ctx, username, func(u *store.User) error {
		u.Disabled = disabled
		return nil
	})
	return err
}

// SignOutEverywhere ends every browser session of the user.
func (s *Service) SignOutEverywhere(ctx context.Context, username string) error {
	_, err := s.Update(ctx, username, func(u *store.User) error {
		u.SessionsAfter = s.now()
		return nil
	})
	return err
}

// Update applies change to the stored user in one store transaction, so a
// concurrent change is never lost, and returns the result. Disabling also
// ends the user's sessions. A change that would leave no enabled system
// administrator is refused.
func (s *Service) Update(ctx context.Context, username string, change func(*store.User) error) (store.User, error) {
	u, err := s.ByUsername(ctx, username)
	if err != nil {
		return u, err
	}
	now := s.now()
	ctx, cancel := store.WithoutHangUp(ctx) // a disabling revokes in batches
	defer cancel()
	u, err = s.store.UpdateUser(ctx, u.ID, func(u *store.User) error {
		wasDisabled := u.Disabled
		if err := change(u); err != nil {
			return err
		}
		if u.Disabled && !wasDisabled {
			u.SessionsAfter = now
		}
		u.UpdatedAt = now
		return nil
	})
	if errors.Is(err, store.ErrLastSystemAdmin) {
		return u, invalid("admin.last_system_admin", "%s is the last system administrator: make someone else a system administrator first", NormalizeUsername(username))
	}
	return u, err
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

// PasswordIs reports whether username's password is password, for the
// node's own housekeeping (whether the first administrator's password file
// still holds their password): no one is signing in, so it is neither
// throttled nor counted.
func (s *Service) PasswordIs(ctx context.Context, username, password string) (bool, error) {
	u, err := s.store.UserByUsername(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return s.hasher.Verify(ctx, u.PasswordHash, password)
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
