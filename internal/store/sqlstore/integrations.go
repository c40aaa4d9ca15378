package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

const integrationColumns = `id, name, name_key, description, provider, client_id, secret_sealed, scopes,
	auth_url, token_url, userinfo_url, issuer, tenant, auth_params, pkce, created_at, updated_at,
	tokens_sealed, account, granted_scope, expires_at, authorized_at, refreshed_at, next_refresh_at,
	needs_reauth, failures, error_key, error_detail, error_at, lease_holder, lease_until`

const selectIntegration = `SELECT ` + integrationColumns + ` FROM integrations`

func scanIntegration(row scanner) (store.Integration, error) {
	var in store.Integration
	var nameKey string
	v := &in.Vault
	err := row.Scan(&in.ID, &in.Name, &nameKey, &in.Description, &in.Provider, &in.ClientID, &in.SecretSealed,
		jsonList{&in.Scopes}, &in.AuthURL, &in.TokenURL, &in.UserinfoURL, &in.Issuer, &in.Tenant, &in.AuthParams,
		&in.PKCE, msTime{&in.CreatedAt}, msTime{&in.UpdatedAt},
		&v.TokensSealed, &v.Account, &v.Scope, msTime{&v.ExpiresAt}, msTime{&v.AuthorizedAt}, msTime{&v.RefreshedAt},
		msTime{&v.NextRefreshAt}, &v.NeedsReauth, &v.Failures, &v.ErrorKey, &v.ErrorDetail, msTime{&v.ErrorAt},
		&in.LeaseHolder, msTime{&in.LeaseUntil})
	return in, err
}

// integrationArgs are the values of integrationColumns, in order.
func integrationArgs(in store.Integration) []any {
	v := in.Vault
	return []any{in.ID, in.Name, strings.ToLower(in.Name), in.Description, in.Provider, in.ClientID, blob(in.SecretSealed),
		list(in.Scopes), in.AuthURL, in.TokenURL, in.UserinfoURL, in.Issuer, in.Tenant, in.AuthParams,
		in.PKCE, ms(in.CreatedAt), ms(in.UpdatedAt),
		blob(v.TokensSealed), v.Account, v.Scope, ms(v.ExpiresAt), ms(v.AuthorizedAt), ms(v.RefreshedAt),
		ms(v.NextRefreshAt), v.NeedsReauth, v.Failures, v.ErrorKey, v.ErrorDetail, ms(v.ErrorAt),
		in.LeaseHolder, ms(in.LeaseUntil)}
}

// CreateIntegration implements store.Integrations.
func (s *Store) CreateIntegration(ctx context.Context, in store.Integration) error {
	_, err := s.exec(ctx, `INSERT INTO integrations (`+integrationColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
		$9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31)`,
		integrationArgs(in)...)
	if err != nil {
		return fmt.Errorf("sqlstore: create integration: %w", s.conflict(err))
	}
	return nil
}

// IntegrationByID implements store.Integrations.
// On SQLite the read cache keeps it: the token API reads it at every call.
func (s *Store) IntegrationByID(ctx context.Context, id string) (store.Integration, error) {
	var gen uint64
	if s.cache != nil {
		if in, ok := s.cache.integration(id); ok {
			return in, nil
		}
		gen = s.cache.start()
	}
	in, err := scanIntegration(s.rq.QueryRowContext(ctx, selectIntegration+` WHERE id = $1`, id))
	if err != nil {
		return store.Integration{}, fmt.Errorf("sqlstore: integration by id: %w", notFound(err))
	}
	if s.cache != nil {
		s.cache.putIntegration(gen, in)
	}
	return in, nil
}

// IntegrationByName implements store.Integrations; names match whatever their case.
func (s *Store) IntegrationByName(ctx context.Context, name string) (store.Integration, error) {
	in, err := scanIntegration(s.rq.QueryRowContext(ctx, selectIntegration+` WHERE name_key = $1`, strings.ToLower(name)))
	if err != nil {
		return store.Integration{}, fmt.Errorf("sqlstore: integration by name: %w", notFound(err))
	}
	return in, nil
}

// ListIntegrations implements store.Integrations.
func (s *Store) ListIntegrations(ctx context.Context) ([]store.Integration, error) {
	rows, err := s.rq.QueryContext(ctx, selectIntegration+` ORDER BY name_key, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list integrations: %w", err)
	}
	out, err := scanIntegrations(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list integrations: %w", err)
	}
	return out, nil
}

// ListIntegrationSummaries implements store.Integrations: only the columns
// a summary needs, so a scrape of thousands of integrations reads no sealed
// blob.
func (s *Store) ListIntegrationSummaries(ctx context.Context) ([]store.IntegrationSummary, error) {
	rows, err := s.rq.QueryContext(ctx, `SELECT id, name, tokens_sealed IS NOT NULL, needs_reauth, failures, expires_at, next_refresh_at
		FROM integrations ORDER BY name_key, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list integration summaries: %w", err)
	}
	defer rows.Close()
	var out []store.IntegrationSummary
	for rows.Next() {
		var sum store.IntegrationSummary
		if err := rows.Scan(&sum.ID, &sum.Name, &sum.Authorized, &sum.NeedsReauth, &sum.Failures,
			msTime{&sum.ExpiresAt}, msTime{&sum.NextRefreshAt}); err != nil {
			return nil, fmt.Errorf("sqlstore: list integration summaries: %w", err)
		}
		out = append(out, sum)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list integration summaries: %w", err)
	}
	return out, nil
}

func scanIntegrations(rows interface {
	scanner
	Next() bool
	Err() error
	Close() error
}) ([]store.Integration, error) {
	defer rows.Close()
	var out []store.Integration
	for rows.Next() {
		in, err := scanIntegration(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// UpdateIntegration implements store.Integrations: the read, change and
// write are one transaction (PostgreSQL locks the row; SQLite's write
// transaction excludes every other writer).
func (s *Store) UpdateIntegration(ctx context.Context, id string, change func(*store.Integration) error) (store.Integration, error) {
	var in store.Integration
	var refused error
	err := s.inTx(ctx, func(ctx context.Context, tx querier) error {
		var err error
		if in, err = scanIntegration(tx.QueryRowContext(ctx, selectIntegration+` WHERE id = $1`+s.d.lockRow, id)); err != nil {
			return notFound(err)
		}
		stored := in
		if refused = change(&in); refused != nil {
			return refused
		}
		in.ID, in.CreatedAt = stored.ID, stored.CreatedAt
		_, err = tx.ExecContext(ctx, `UPDATE integrations SET name = $2, name_key = $3, description = $4, provider = $5,
			client_id = $6, secret_sealed = $7, scopes = $8, auth_url = $9, token_url = $10, userinfo_url = $11,
			issuer = $12, tenant = $13, auth_params = $14, pkce = $15, updated_at = $17,
			tokens_sealed = $18, account = $19, granted_scope = $20, expires_at = $21, authorized_at = $22,
			refreshed_at = $23, next_refresh_at = $24, needs_reauth = $25, failures = $26, error_key = $27,
			error_detail = $28, error_at = $29, lease_holder = $30, lease_until = $31
			WHERE id = $1 AND created_at = $16`, integrationArgs(in)...) // created_at never changes; naming it uses every argument

		return s.conflict(err)
	})
	if refused != nil {
		return store.Integration{}, refused
	}
	if err != nil {
		return store.Integration{}, fmt.Errorf("sqlstore: update integration: %w", err)
	}
	return in, nil
}

// DeleteIntegration implements store.Integrations.
func (s *Store) DeleteIntegration(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(ctx context.Context, tx querier) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM integration_auths WHERE integration_id = $1`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM integrations WHERE id = $1`, id)
		if err != nil {
			return err
		}
		return affected(res)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete integration: %w", err)
	}
	return nil
}

// vaultSet writes an IntegrationVault from $2 on, and drops the lease.
const vaultSet = `tokens_sealed = $2, account = $3, granted_scope = $4, expires_at = $5, authorized_at = $6,
	refreshed_at = $7, next_refresh_at = $8, needs_reauth = $9, failures = $10, error_key = $11,
	error_detail = $12, error_at = $13, lease_holder = '', lease_until = 0`

func vaultArgs(id string, v store.IntegrationVault, more ...any) []any {
	return append([]any{id, blob(v.TokensSealed), v.Account, v.Scope, ms(v.ExpiresAt), ms(v.AuthorizedAt),
		ms(v.RefreshedAt), ms(v.NextRefreshAt), v.NeedsReauth, v.Failures, v.ErrorKey, v.ErrorDetail, ms(v.ErrorAt)}, more...)
}

// StoreIntegrationTokens implements store.Integrations.
func (s *Store) StoreIntegrationTokens(ctx context.Context, id string, v store.IntegrationVault) error {
	res, err := s.exec(ctx, `UPDATE integrations SET `+vaultSet+` WHERE id = $1`, vaultArgs(id, v)...)
	if err == nil {
		err = affected(res)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: store integration tokens: %w", err)
	}
	return nil
}

// ClaimIntegrationRefresh implements store.Integrations: one conditional
// update takes the lease, so of concurrent claimants one matches the row.
// The lease's end becomes next_refresh_at, so the refresher finds the
// integration again if the holder dies.
func (s *Store) ClaimIntegrationRefresh(ctx context.Context, id, holder string, now time.Time, ttl time.Duration) (store.Integration, bool, error) {
	var in store.Integration
	err := s.inTx(ctx, func(ctx context.Context, tx querier) error {
		var err error
		in, err = scanIntegration(tx.QueryRowContext(ctx, `UPDATE integrations
			SET lease_holder = $2, lease_until = $3, next_refresh_at = $3
			WHERE id = $1 AND lease_until <= $4
			RETURNING `+integrationColumns, id, holder, ms(now.Add(ttl)), ms(now)))
		return err
	})
	if err == nil {
		return in, true, nil
	}
	if err = notFound(err); !errors.Is(err, store.ErrNotFound) {
		return store.Integration{}, false, fmt.Errorf("sqlstore: claim integration refresh: %w", err)
	}
	// Held by another, or no such integration: tell them apart.
	if _, err := s.IntegrationByID(ctx, id); err != nil {
		return store.Integration{}, false, fmt.Errorf("sqlstore: claim integration refresh: %w", err)
	}
	return store.Integration{}, false, nil
}

// ClaimDueIntegrations implements store.Integrations. The inner query walks
// the partial index on next_refresh_at from its start and stops at limit;
// PostgreSQL skips rows another node is claiming at this moment, and the
// outer conditions are checked again on each row as it is locked.
func (s *Store) ClaimDueIntegrations(ctx context.Context, holder string, now time.Time, ttl time.Duration, limit int) ([]store.Integration, error) {
	var out []store.Integration
	// Every node's refresher claims every few seconds: only the cached
	// integrations are dropped, not the tokens, users and sessions.
	err := s.inTxEffects(ctx, &effects{integrations: true}, func(ctx context.Context, tx querier) error {
		rows, err := tx.QueryContext(ctx, `UPDATE integrations
			SET lease_holder = $1, lease_until = $2, next_refresh_at = $2
			WHERE id IN (SELECT id FROM integrations WHERE next_refresh_at <> 0 AND next_refresh_at <= $3
				ORDER BY next_refresh_at LIMIT $4`+s.d.skipLocked+`)
			AND next_refresh_at <> 0 AND next_refresh_at <= $3 AND lease_until <= $3
			RETURNING `+integrationColumns, holder, ms(now.Add(ttl)), ms(now), limit)
		if err != nil {
			return err
		}
		out, err = scanIntegrations(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim due integrations: %w", err)
	}
	return out, nil
}

// FinishIntegrationRefresh implements store.Integrations.
func (s *Store) FinishIntegrationRefresh(ctx context.Context, id, holder string, v store.IntegrationVault) error {
	res, err := s.exec(ctx, `UPDATE integrations SET `+vaultSet+` WHERE id = $1 AND lease_holder = $14`, vaultArgs(id, v, holder)...)
	if err == nil {
		err = affected(res)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: finish integration refresh: %w", err)
	}
	return nil
}

// NextIntegrationRefresh implements store.Integrations, from the index.
func (s *Store) NextIntegrationRefresh(ctx context.Context) (time.Time, error) {
	var next int64
	err := s.rq.QueryRowContext(ctx, `SELECT COALESCE(MIN(next_refresh_at), 0) FROM integrations WHERE next_refresh_at <> 0`).Scan(&next)
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlstore: next integration refresh: %w", err)
	}
	return fromMS(next), nil
}

// CreateIntegrationAuth implements store.Integrations.
func (s *Store) CreateIntegrationAuth(ctx context.Context, a store.IntegrationAuth, now time.Time, limit int) error {
	err := s.inTx(ctx, func(ctx context.Context, tx querier) error {
		// Expired ones go on the way; those another transaction holds
		// (PostgreSQL) are left to a later start, so two starts clearing
		// the same rows in different orders cannot deadlock.
		if _, err := tx.ExecContext(ctx, `DELETE FROM integration_auths WHERE state_hash IN
			(SELECT state_hash FROM integration_auths WHERE expires_at <= $1`+s.d.skipLocked+`)`, ms(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO integration_auths (state_hash, integration_id, binding, verifier_sealed,
			redirect_url, actor, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			a.StateHash, a.IntegrationID, blob(a.Binding), blob(a.VerifierSealed), a.RedirectURL, a.Actor,
			ms(a.CreatedAt), ms(a.ExpiresAt))
		if err != nil || limit <= 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM integration_auths WHERE integration_id = $1 AND state_hash NOT IN
			(SELECT state_hash FROM integration_auths WHERE integration_id = $1 ORDER BY created_at DESC, state_hash DESC LIMIT $2)`,
			a.IntegrationID, limit)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: create integration authorization: %w", s.conflict(err))
	}
	return nil
}

// TakeIntegrationAuth implements store.Integrations. The delete is the
// single-use check: of concurrent takers only one gets the row back. The
// binding is a keyed hash, so comparing it in SQL tells a caller nothing
// by its timing.
func (s *Store) TakeIntegrationAuth(ctx context.Context, stateHash, binding []byte, now time.Time) (store.IntegrationAuth, error) {
	var a store.IntegrationAuth
	err := s.inTx(ctx, func(ctx context.Context, tx querier) error {
		return notFound(tx.QueryRowContext(ctx, `DELETE FROM integration_auths WHERE state_hash = $1 AND (binding IS NULL OR binding = $2)
			RETURNING state_hash, integration_id, binding, verifier_sealed, redirect_url, actor, created_at, expires_at`, stateHash, binding).
			Scan(&a.StateHash, &a.IntegrationID, &a.Binding, &a.VerifierSealed, &a.RedirectURL, &a.Actor,
				msTime{&a.CreatedAt}, msTime{&a.ExpiresAt}))
	})
	if err != nil {
		return store.IntegrationAuth{}, fmt.Errorf("sqlstore: take integration authorization: %w", err)
	}
	if !now.Before(a.ExpiresAt) {
		return store.IntegrationAuth{}, fmt.Errorf("sqlstore: take integration authorization: expired: %w", store.ErrNotFound)
	}
	return a, nil
}
