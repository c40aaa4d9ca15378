-- +goose Up
-- A client may introspect only its own tokens unless this is set (a resource
-- server such as a mail server checks every user's token). Additive with a
-- default that keeps the narrower rule, so nodes of the previous release keep
-- working during a rolling upgrade (they never name the column).
ALTER TABLE clients ADD COLUMN introspect_any BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE clients DROP COLUMN introspect_any;
