package admin

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/user"
)

// AppSummary is an application with its token usage.
type AppSummary struct {
	store.Client
	Usage store.Usage
}

// ListApps returns the applications whose name or client ID contains query
// (case-insensitive; empty matches all), with their usage.
func (s *Service) ListApps(ctx context.Context, query string) ([]AppSummary, error) {
	clients, err := s.apps.List(ctx)
	if err != nil {
		return nil, err
	}
	usage, err := s.store.ClientUsage(ctx, s.now())
	if err != nil {
		return nil, err
	}
	q := strings.ToLower(strings.TrimSpace(query))
	out := make([]AppSummary, 0, len(clients))
	for _, c := range clients {
		if q == "" || strings.Contains(strings.ToLower(c.Name), q) || strings.Contains(c.ID, q) {
			out = append(out, AppSummary{Client: c, Usage: usage[c.ID]})
		}
	}
	return out, nil
}

// AppNames maps the client ID of every application to its name, in one
// read, for pages that name many applications (the audit log).
func (s *Service) AppNames(ctx context.Context) (map[string]string, error) {
	clients, err := s.apps.List(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(clients))
	for _, c := range clients {
		names[c.ID] = c.Name
	}
	return names, nil
}

// GetApp returns one application.
func (s *Service) GetApp(ctx context.Context, id string) (store.Client, error) {
	return s.apps.Get(ctx, id)
}

// RegistrationOf turns an application back into the form that edits it.
func RegistrationOf(c store.Client) app.Registration {
	return app.Registration{
		Name: c.Name, Description: c.Description, RedirectURIs: slices.Clone(c.RedirectURIs), Scopes: slices.Clone(c.Scopes),
		Grants: slices.Clone(c.Grants), Public: c.Public, RequirePKCE: c.RequirePKCE, Disabled: !c.Enabled,
		SubscriberUsers: slices.Clone(c.SubscriberUsers), SubscriberGroups: slices.Clone(c.SubscriberGroups), AllowedIPs: slices.Clone(c.AllowedIPs),
		IntrospectAny: c.IntrospectAny,
	}
}

// checkRegistration refuses what the application service cannot know is
// wrong: a name another application has (users could not tell them apart
// on the consent page), and subscribers that name no user or group.
func (s *Service) checkRegistration(ctx context.Context, id string, r app.Registration) error {
	apps, err := s.apps.List(ctx)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(r.Name)
	for _, c := range apps {
		if c.ID != id && strings.EqualFold(c.Name, name) {
			return appNameTaken(c.Name)
		}
	}
	if len(r.SubscriberUsers) == 0 && len(r.SubscriberGroups) == 0 {
		return nil
	}
	// One look-up per subscriber and the group names, rather than every
	// user: a directory may hold a hundred thousand.
	for _, n := range r.SubscriberUsers {
		if n = user.NormalizeUsername(n); n == "" {
			continue
		}
		if _, err := s.store.UserByUsername(ctx, n); errors.Is(err, store.ErrNotFound) {
			return invalid("admin.subscriber_unknown", "subscriber %q is not a user", n)
		} else if err != nil {
			return err
		}
	}
	if len(r.SubscriberGroups) == 0 {
		return nil
	}
	names, err := s.store.GroupNames(ctx)
	if err != nil {
		return err
	}
	for _, g := range r.SubscriberGroups {
		if g = strings.TrimSpace(g); g != "" && !slices.Contains(names, g) {
			return invalid("admin.group_unknown", "group %q has no members", g)
		}
	}
	return nil
}

// appNameTaken refuses a name another application has. checkRegistration
// finds it first with the other's spelling; the store finds the name taken
// by a concurrent creation or rename.
func appNameTaken(name string) error {
	return invalid("admin.app_name_taken", "another application is named %q; choose a name users can tell apart on the consent page", name)
}

// CreateApp registers an application; the secret is returned once.
func (s *Service) CreateApp(ctx context.Context, a Actor, r app.Registration) (store.Client, string, error) {
	if err := s.guardAppScopes(ctx, a, "", r.Scopes); err != nil {
		return store.Client{}, "", err
	}
	if err := s.checkRegistration(ctx, "", r); err != nil {
		return store.Client{}, "", err
	}
	ctx, event := s.pending(ctx, a, audit.ClientCreate, "", "", "") // app.Service names the application
	c, secretValue, err := s.apps.Create(ctx, r)
	if errors.Is(err, store.ErrConflict) {
		return c, "", appNameTaken(strings.TrimSpace(r.Name))
	}
	if err != nil {
		return c, "", err
	}
	s.audit.Settle(ctx, event)
	return c, secretValue, nil
}

// UpdateApp replaces an application's settings; the secret is the new one
// of an application the update made confidential (else "").
func (s *Service) UpdateApp(ctx context.Context, a Actor, id string, r app.Registration) (store.Client, string, error) {
	// An unknown application is that, before anything in r is judged.
	if _, err := s.apps.Get(ctx, id); err != nil {
		return store.Client{}, "", err
	}
	// The stored application's scopes are checked in the update (mayManage).
	if err := s.guardAppScopes(ctx, a, "", r.Scopes); err != nil {
		return store.Client{}, "", err
	}
	if err := s.checkRegistration(ctx, id, r); err != nil {
		return store.Client{}, "", err
	}
	ctx, event := s.pending(ctx, a, audit.ClientUpdate, id, "", "")
	c, secretValue, err := s.apps.Update(ctx, id, r, s.mayManage(a))
	if errors.Is(err, store.ErrConflict) {
		return c, "", appNameTaken(strings.TrimSpace(r.Name))
	}
	if err != nil {
		return c, "", err
	}
	s.audit.Settle(ctx, event)
	return c, secretValue, nil
}

// SetAppEnabled enables or disables an application; a disabled one's tokens stop working at once.
func (s *Service) SetAppEnabled(ctx context.Context, a Actor, id string, enabled bool) (store.Client, error) {
	kind := audit.ClientDisable
	if enabled {
		kind = audit.ClientEnable
	}
	ctx, event := s.pending(ctx, a, kind, id, "", "")
	c, err := s.apps.SetEnabled(ctx, id, enabled, s.mayManage(a))
	if err != nil {
		return c, err
	}
	s.audit.Settle(ctx, event)
	return c, nil
}

// DeleteApp removes an application and every token it holds.
func (s *Service) DeleteApp(ctx context.Context, a Actor, id string) error {
	// app.Service names the application as its deletion finds it (a
	// rename may commit in between).
	ctx, event := s.pending(ctx, a, audit.ClientDelete, id, "", "")
	if err := s.apps.Delete(ctx, id, s.mayManage(a)); err != nil {
		return err
	}
	s.audit.Settle(ctx, event)
	return nil
}

// RotateSecret gives an application a new secret and returns it. Callers
// must have re-checked the administrator's password recently, as for
// ViewSecret: the new secret is as good as the old one to whoever sees it.
func (s *Service) RotateSecret(ctx context.Context, a Actor, id string) (string, error) {
	ctx, event := s.pending(ctx, a, audit.ClientSecretReset, id, "", "")
	secretValue, err := s.apps.RotateSecret(ctx, id, s.mayManage(a))
	if err != nil {
		return "", err
	}
	s.audit.Settle(ctx, event)
	return secretValue, nil
}

// NewSecret returns an application with its secret, for the one page that
// shows a secret just created or rotated (both audited already). Callers
// must show it only right after that creation or rotation, and only if it
// is still the secret then made. The actor must still be allowed to manage
// the application (a system administrator may have given it the
// INTEGRATION_TOKEN scope since).
func (s *Service) NewSecret(ctx context.Context, a Actor, id string) (store.Client, string, error) {
	c, err := s.apps.Get(ctx, id)
	if err != nil {
		return c, "", err
	}
	if err := s.mayManage(a).Check(c); err != nil { // on the row whose secret is shown
		return store.Client{}, "", err
	}
	secretValue, err := s.apps.Reveal(c)
	return c, secretValue, err
}

// ViewSecret returns an application's current secret; every view is audited.
// Callers must have re-checked the administrator's password recently.
func (s *Service) ViewSecret(ctx context.Context, a Actor, id string) (string, error) {
	c, err := s.apps.Get(ctx, id)
	if err != nil {
		return "", err
	}
	if err := s.mayManage(a).Check(c); err != nil { // on the row whose secret is shown
		return "", err
	}
	secretValue, err := s.apps.Reveal(c)
	if err != nil {
		return "", err
	}
	// Shown only once the view is on record.
	if err := s.audit.Require(ctx, store.AuditEvent{Kind: audit.ClientSecretView, Actor: a.Username, Address: a.Address, ClientID: id}); err != nil {
		return "", err
	}
	return secretValue, nil
}
