-- +goose Up
-- The refresh cap looks for a user's live refresh tokens for one client. The
-- general index also holds every rotated and revoked one, which pile up (they
-- are kept for reuse detection), so the cap check grew slower with every
-- rotation. This index holds only live refresh tokens: a rotation or a
-- revocation takes the row out. Additive, so nodes of the previous release
-- keep working during a rolling upgrade.
CREATE INDEX tokens_live_refresh ON tokens (user_id, client_id, created_at)
    WHERE kind = 'refresh' AND revoked_at = 0 AND rotated_at = 0;

-- +goose Down
DROP INDEX tokens_live_refresh;
