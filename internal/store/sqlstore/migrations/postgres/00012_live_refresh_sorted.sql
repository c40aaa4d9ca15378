-- +goose NO TRANSACTION
-- +goose Up
-- The refresh cap's query (liveRefreshTokens) orders a user's live refresh
-- tokens for one client by (created_at, hash) and filters on expires_at.
-- tokens_live_refresh held only created_at, so every cap check (every token
-- issue with a refresh token, every rotation) sorted its rows and read each
-- one from the table. This index is read in the query's order, and only the
-- rows beyond the cap are read from the table. Built CONCURRENTLY, so other
-- nodes keep issuing tokens while a large table is indexed; every step can
-- be run again if the migration is interrupted. Old nodes' query reads the
-- new index too.
DROP INDEX CONCURRENTLY IF EXISTS tokens_live_refresh_sorted;
CREATE INDEX CONCURRENTLY tokens_live_refresh_sorted ON tokens (user_id, client_id, created_at, hash, expires_at)
    WHERE kind = 'refresh' AND revoked_at = 0 AND rotated_at = 0;
DROP INDEX CONCURRENTLY IF EXISTS tokens_live_refresh;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS tokens_live_refresh;
CREATE INDEX CONCURRENTLY tokens_live_refresh ON tokens (user_id, client_id, created_at)
    WHERE kind = 'refresh' AND revoked_at = 0 AND rotated_at = 0;
DROP INDEX CONCURRENTLY IF EXISTS tokens_live_refresh_sorted;
