-- +goose Up
-- The application list shows each application's newest token
-- (ClientUsage). With tokens_client on (client_id) alone that took a
-- grouped scan of every token row, retained expired, revoked and rotated
-- ones included: seconds on a large database. With created_at in the index
-- the newest is one seek per application. It replaces tokens_client, so a
-- token insert still writes the same number of B-trees; every use of the
-- old index (DeleteClient, per-client listings, the foreign-key check on
-- client delete) is served by the new one's client_id prefix.
CREATE INDEX tokens_client_created ON tokens (client_id, created_at);
DROP INDEX tokens_client;

-- +goose Down
CREATE INDEX tokens_client ON tokens (client_id);
DROP INDEX tokens_client_created;
