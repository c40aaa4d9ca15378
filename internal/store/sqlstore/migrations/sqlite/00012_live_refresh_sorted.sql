-- +goose Up
-- The refresh cap's query (liveRefreshTokens) orders a user's live refresh
-- tokens for one client by (created_at, hash) and filters on expires_at.
-- tokens_live_refresh held only created_at, so every cap check (every token
-- issue with a refresh token, every rotation) sorted its rows in a temporary
-- B-tree and read each row from the table. This index is read in the
-- query's order, and only the rows beyond the cap are read from the table.
-- Old nodes' query reads it too, so a rolling upgrade keeps working.
CREATE INDEX tokens_live_refresh_sorted ON tokens (user_id, client_id, created_at, hash, expires_at)
    WHERE kind = 'refresh' AND revoked_at = 0 AND rotated_at = 0;
DROP INDEX tokens_live_refresh;

-- +goose Down
CREATE INDEX tokens_live_refresh ON tokens (user_id, client_id, created_at)
    WHERE kind = 'refresh' AND revoked_at = 0 AND rotated_at = 0;
DROP INDEX tokens_live_refresh_sorted;
