-- +goose NO TRANSACTION
-- +goose Up
-- The application list shows each application's newest token
-- (ClientUsage). With tokens_client on (client_id) alone that took a
-- grouped scan of every token row, retained expired, revoked and rotated
-- ones included. With created_at in the index the newest is one seek per
-- application. It replaces tokens_client, so a token insert still writes
-- the same number of B-trees; every use of the old index (DeleteClient,
-- per-client listings, the foreign-key check on client delete) is served by
-- the new one's client_id prefix, the previous release's queries included.
-- Built CONCURRENTLY, so other nodes keep issuing tokens while a large
-- table is indexed; every step can be run again if the migration is
-- interrupted (a failed concurrent build leaves an invalid index, which the
-- first step drops).
DROP INDEX CONCURRENTLY IF EXISTS tokens_client_created;
CREATE INDEX CONCURRENTLY tokens_client_created ON tokens (client_id, created_at);
DROP INDEX CONCURRENTLY IF EXISTS tokens_client;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS tokens_client;
CREATE INDEX CONCURRENTLY tokens_client ON tokens (client_id);
DROP INDEX CONCURRENTLY IF EXISTS tokens_client_created;
