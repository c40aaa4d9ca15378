-- +goose NO TRANSACTION
-- +goose Up
-- Audit rows are the most frequent write (the integration token API records
-- every call): the username and client_id indexes leave out the rows where
-- the column is empty (an application's own actions have no username, a
-- user's no application). ListAudit says "<> ''" next to those filters so
-- that the planner can use them. Built CONCURRENTLY, so other nodes keep
-- writing audit rows while a large table is indexed; every step can be
-- run again if the migration is interrupted. Old nodes still read correct
-- results (their filters just cannot use the partial indexes).
DROP INDEX CONCURRENTLY IF EXISTS audit_events_username_set;
CREATE INDEX CONCURRENTLY audit_events_username_set ON audit_events (username, id) WHERE username <> '';
DROP INDEX CONCURRENTLY IF EXISTS audit_events_username;
ALTER INDEX audit_events_username_set RENAME TO audit_events_username;
DROP INDEX CONCURRENTLY IF EXISTS audit_events_client_set;
CREATE INDEX CONCURRENTLY audit_events_client_set ON audit_events (client_id, id) WHERE client_id <> '';
DROP INDEX CONCURRENTLY IF EXISTS audit_events_client;
ALTER INDEX audit_events_client_set RENAME TO audit_events_client;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS audit_events_username_all;
CREATE INDEX CONCURRENTLY audit_events_username_all ON audit_events (username, id);
DROP INDEX CONCURRENTLY IF EXISTS audit_events_username;
ALTER INDEX audit_events_username_all RENAME TO audit_events_username;
DROP INDEX CONCURRENTLY IF EXISTS audit_events_client_all;
CREATE INDEX CONCURRENTLY audit_events_client_all ON audit_events (client_id, id);
DROP INDEX CONCURRENTLY IF EXISTS audit_events_client;
ALTER INDEX audit_events_client_all RENAME TO audit_events_client;
