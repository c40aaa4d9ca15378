package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/integration"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// Tokens is where an integration's access token comes from:
// internal/integration's Service. forceRefresh asks for a new token because
// the mail server refused the current one.
type Tokens interface {
	AccessToken(ctx context.Context, id string, forceRefresh bool) (integration.Token, error)
}

// Service keeps the mail servers and tests them. The console, the admin API
// and the command line all call it.
type Service struct {
	store   store.Store
	keys    *secret.Keys
	tokens  Tokens
	audit   *audit.Log
	dev     bool
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger
}

// Options configure a Service.
type Options struct {
	Dev bool // allow TLS none
	// Timeout bounds a whole connection test, a token refresh and retry
	// included (default 20 s, under the HTTP server's 30 s write timeout).
	Timeout time.Duration
	Now     func() time.Time
	Log     *slog.Logger // nil: discard
}

// DefaultTimeout bounds a connection test unless Options say otherwise.
const DefaultTimeout = 20 * time.Second

// NewService returns a Service.
func NewService(s store.Store, keys *secret.Keys, tokens Tokens, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return &Service{store: s, keys: keys, tokens: tokens, audit: audit.New(s, o.Now, o.Log), dev: o.Dev, timeout: o.Timeout, now: o.Now, log: o.Log}
}

// ErrForbidden refuses an actor who is not a system administrator.
var ErrForbidden = errors.New("only system administrators may manage mail servers")

// Actor is who acts (see audit.Actor).
type Actor = audit.Actor

func checkActor(a Actor) error {
	if a.Level < store.LevelSystemAdmin {
		return ErrForbidden
	}
	return nil
}

// event is the audit event of an action.
func event(a Actor, kind, detail string) store.AuditEvent {
	return store.AuditEvent{Kind: kind, Actor: a.Username, Address: a.Address, Detail: detail}
}

// List returns every mail server, by name.
func (s *Service) List(ctx context.Context, a Actor) ([]store.MailServer, error) {
	if err := checkActor(a); err != nil {
		return nil, err
	}
	return s.store.ListMailServers(ctx)
}

// Get returns the mail server with this ID.
func (s *Service) Get(ctx context.Context, a Actor, id string) (store.MailServer, error) {
	if err := checkActor(a); err != nil {
		return store.MailServer{}, err
	}
	return s.store.MailServerByID(ctx, id)
}

// Find returns the mail server with this ID or, failing that, this name
// (any case): the command line names servers.
func (s *Service) Find(ctx context.Context, a Actor, idOrName string) (store.MailServer, error) {
	if err := checkActor(a); err != nil {
		return store.MailServer{}, err
	}
	m, err := s.store.MailServerByID(ctx, idOrName)
	if errors.Is(err, store.ErrNotFound) {
		return s.store.MailServerByName(ctx, idOrName)
	}
	return m, err
}

// Delete removes a mail server.
func (s *Service) Delete(ctx context.Context, a Actor, id string) error {
	if err := checkActor(a); err != nil {
		return err
	}
	m, err := s.store.MailServerByID(ctx, id)
	if err != nil {
		return err
	}
	ctx, deleted := s.audit.Pending(ctx, event(a, audit.MailServerDelete, m.Name))
	if err := s.store.DeleteMailServer(ctx, id); err != nil {
		return err
	}
	s.audit.Settle(ctx, deleted)
	return nil
}

// IntegrationNames maps every integration's ID to its name, for listings
// and the forms' choice.
func (s *Service) IntegrationNames(ctx context.Context, a Actor) (map[string]string, error) {
	if err := checkActor(a); err != nil {
		return nil, err
	}
	list, err := s.store.ListIntegrationSummaries(ctx) // names alone: no sealed blob read
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(list))
	for _, in := range list {
		names[in.ID] = in.Name
	}
	return names, nil
}

// SettingsOf turns a mail server back into the settings that edit it (the
// password stays sealed: an empty password keeps it).
func SettingsOf(m store.MailServer) Settings {
	return Settings{
		Name: m.Name, Protocol: m.Protocol, Host: m.Host, Port: m.Port, TLS: m.TLS, CACert: m.CACert,
		Username: m.Username, Integration: m.IntegrationID, SASL: m.SASL,
	}
}

// Create adds a mail server.
func (s *Service) Create(ctx context.Context, a Actor, set Settings) (store.MailServer, error) {
	if err := checkActor(a); err != nil {
		return store.MailServer{}, err
	}
	set, in, err := s.check(ctx, set)
	if err != nil {
		return store.MailServer{}, err
	}
	if set.Password == "" && in.ID == "" {
		return store.MailServer{}, invalid("mail.credential_required", "give a password or an integration to sign in with")
	}
	now := s.now()
	m := store.MailServer{ID: newID(), CreatedAt: now}
	apply(&m, set, in.ID, s.keys, now)
	ctx, created := s.audit.Pending(ctx, event(a, audit.MailServerCreate, describe(m, in.Name)))
	if err := s.store.CreateMailServer(ctx, m); err != nil {
		return store.MailServer{}, s.nameTaken(err, set.Name)
	}
	s.audit.Settle(ctx, created)
	return m, nil
}

// Update replaces a mail server's settings. An empty password keeps the
// stored one when the server signed in with a password already.
func (s *Service) Update(ctx context.Context, a Actor, id string, set Settings) (store.MailServer, error) {
	if err := checkActor(a); err != nil {
		return store.MailServer{}, err
	}
	set, in, err := s.check(ctx, set)
	if err != nil {
		return store.MailServer{}, err
	}
	ctx, updated := s.audit.Pending(ctx, event(a, audit.MailServerUpdate, ""))
	m, err := s.store.UpdateMailServer(ctx, id, func(m *store.MailServer) error {
		if set.Password == "" && in.ID == "" && m.PasswordSealed == nil {
			return invalid("mail.credential_required", "give a password or an integration to sign in with")
		}
		if set.Password == "" && in.ID == "" && movesPassword(*m, set) {
			return invalid("mail.password_again", "type the password again: the stored one is sent only to %s:%d as it was set up, not to a new host, port, TLS mode or CA certificate", m.Host, m.Port)
		}
		apply(m, set, in.ID, s.keys, s.now())
		// The event commits with the change and describes it as written.
		updated.Event.Detail = describe(*m, in.Name)
		if set.Password != "" {
			updated.Event.Detail += ", new password"
		}
		return nil
	})
	if err != nil {
		return store.MailServer{}, s.nameTaken(err, set.Name)
	}
	s.audit.Settle(ctx, updated)
	return m, nil
}

// movesPassword reports whether set would send m's stored password
// somewhere else than where it was given for: another host or port, or over
// a connection checked another way. Whoever holds an administrator's token
// or session could otherwise have it sent to a server of their own without
// ever knowing it, where viewing a secret asks for their password.
func movesPassword(m store.MailServer, set Settings) bool {
	return !strings.EqualFold(m.Host, set.Host) || m.Port != set.Port || m.TLS != set.TLS || m.CACert != set.CACert
}

// describe is a server's settings for the audit log (never the password).
func describe(m store.MailServer, integrationName string) string {
	how := "password"
	if m.IntegrationID != "" {
		how = "integration " + integrationName
	}
	return fmt.Sprintf("%s: %s %s:%d, TLS %s, %s as %s", m.Name, m.Protocol, m.Host, m.Port, m.TLS, how, m.Username)
}

// check validates set and finds its integration (by ID or name), if any.
func (s *Service) check(ctx context.Context, set Settings) (Settings, store.Integration, error) {
	set, err := normalize(set, s.dev)
	if err != nil || set.Integration == "" {
		return set, store.Integration{}, err
	}
	in, err := s.store.IntegrationByID(ctx, set.Integration)
	if errors.Is(err, store.ErrNotFound) {
		in, err = s.store.IntegrationByName(ctx, set.Integration)
	}
	if errors.Is(err, store.ErrNotFound) {
		return set, in, invalid("mail.integration_unknown", "there is no integration %q", set.Integration)
	}
	return set, in, err
}

// apply writes settings into m: a new password is sealed, bound to the
// server's ID; sign-in with an integration drops any stored password.
func apply(m *store.MailServer, set Settings, integrationID string, keys *secret.Keys, now time.Time) {
	m.Name, m.Protocol, m.Host, m.Port, m.TLS, m.CACert = set.Name, set.Protocol, set.Host, set.Port, set.TLS, set.CACert
	m.Username, m.IntegrationID, m.SASL, m.UpdatedAt = set.Username, integrationID, set.SASL, now
	switch {
	case integrationID != "":
		m.PasswordSealed = nil
	case set.Password != "":
		m.PasswordSealed = keys.Seal([]byte(set.Password), sealContext(m.ID))
	}
}

func sealContext(id string) string { return "mail server password " + id }

func (s *Service) nameTaken(err error, name string) error {
	if errors.Is(err, store.ErrConflict) {
		return invalid("mail.name_taken", "a mail server named %q exists already", name)
	}
	return err
}

// newID returns 24 hex characters.
func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Result is what a connection test found.
type Result struct {
	OK        bool
	Messages  int    // INBOX's messages, when OK
	Mechanism string // how it signed in: XOAUTH2, OAUTHBEARER, LOGIN (IMAP) or USER (POP3)
	// Refreshed: the server refused the first access token, and the test
	// tried again with a refreshed one.
	Refreshed bool
	Step      string            // where it stopped, when not OK (Step… constants)
	Problem   *validation.Error // why, when not OK: English text and a message key
}

// Message says in English what happened.
func (r Result) Message() string {
	if !r.OK {
		return r.Problem.Error()
	}
	return fmt.Sprintf("signed in with %s and opened INBOX: %d messages", r.Mechanism, r.Messages)
}

// Test connects to the mail server, negotiates TLS, signs in and opens
// INBOX, and reports the number of messages or the step that failed. A
// refused access token is refreshed once and tried once more. The error is
// only for what stops the test from starting (the database, the secret key).
func (s *Service) Test(ctx context.Context, a Actor, id string) (Result, error) {
	if err := checkActor(a); err != nil {
		return Result{}, err
	}
	m, err := s.store.MailServerByID(ctx, id)
	if err != nil {
		return Result{}, err
	}
	r, err := s.test(ctx, m)
	if err != nil {
		return r, err
	}
	s.log.Info("mail server tested", "mail_server", m.Name, "ok", r.OK, "step", r.Step, "messages", r.Messages, "refreshed", r.Refreshed)
	detail := fmt.Sprintf("%s: %d messages", m.Name, r.Messages)
	if !r.OK {
		detail = fmt.Sprintf("%s: failed at %s (%s)", m.Name, r.Step, r.Problem.Key)
	}
	s.audit.Record(ctx, event(a, audit.MailServerTest, detail))
	return r, nil
}

func (s *Service) test(ctx context.Context, m store.MailServer) (Result, error) {
	if m.TLS == TLSNone && !s.dev {
		return result(probed{fail: failAt(StepConnect, noneRefusal())}), nil
	}
	t := target{protocol: m.Protocol, host: m.Host, port: m.Port, tls: m.TLS}
	if m.CACert != "" {
		pool, err := caPool(m.CACert)
		if err != nil {
			return Result{}, err // validated when saved
		}
		t.roots = pool
	}
	deadline := time.Now().Add(s.timeout)
	cred := credential{username: m.Username, sasl: m.SASL}
	if m.IntegrationID == "" {
		password, err := s.keys.Open(m.PasswordSealed, sealContext(m.ID))
		if err != nil {
			return Result{}, err
		}
		cred.password = string(password)
		return result(probe(ctx, t, cred, deadline)), nil
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	in, err := s.store.IntegrationByID(ctx, m.IntegrationID)
	if errors.Is(err, store.ErrNotFound) {
		return result(probed{fail: failAt(StepToken, problem("mail.integration_missing", "the integration this mail server signs in with no longer exists; choose another one"))}), nil
	}
	if err != nil {
		return Result{}, err
	}
	first := true
	for {
		tok, err := s.tokens.AccessToken(ctx, in.ID, !first)
		if err != nil {
			return result(probed{fail: tokenFailure(err, in.Name)}), nil
		}
		cred.token = tok.AccessToken
		p := probe(ctx, t, cred, deadline)
		if p.fail == nil || !p.fail.tokenRefused {
			r := result(p)
			r.Refreshed = !first
			return r, nil
		}
		if !first {
			r := result(probed{fail: failAt(StepAuthenticate, problem("mail.token_refused",
				"the server refused the access token of the integration %q for %s, also after a refresh (%s); re-authorize the integration, and check that its account may open this mailbox",
				in.Name, m.Username, p.fail.serverSaid))})
			r.Refreshed = true
			return r, nil
		}
		first = false
	}
}

// tokenFailure words a failure to get the integration's token.
func tokenFailure(err error, name string) *failure {
	if errors.Is(err, integration.ErrNeedsReauthorization) {
		return failAt(StepToken, problem("mail.integration_reauth", "the integration %q needs to be authorized again: re-authorize the integration, then test again", name))
	}
	return failAt(StepToken, problem("mail.integration_token", "could not get an access token from the integration %q: %s", name, errText(err)))
}

// noneRefusal refuses TLS none outside development mode.
func noneRefusal() *validation.Error {
	return validation.Errorf(ErrInvalid, "mail.tls_none_production", "TLS none (a plain connection that shows the password or token to the network) is allowed only in development mode; choose implicit or starttls")
}

func result(p probed) Result {
	if p.fail != nil {
		return Result{Step: p.fail.step, Problem: p.fail.why}
	}
	return Result{OK: true, Messages: p.messages, Mechanism: p.mechanism}
}
