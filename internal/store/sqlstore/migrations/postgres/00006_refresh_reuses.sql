-- +goose Up
-- How many times a rotated refresh token was used again inside the reuse
-- grace window: the window admits a bounded number of reuses, not any number.
-- Additive with a default, so nodes of the previous release keep working
-- during a rolling upgrade.
ALTER TABLE tokens ADD COLUMN grace_reuses INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE tokens DROP COLUMN grace_reuses;
