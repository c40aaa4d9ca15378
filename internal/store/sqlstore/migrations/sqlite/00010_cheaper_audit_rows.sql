-- +goose Up
-- Audit rows are the most frequent write (the integration token API records
-- every call), so each one now touches fewer B-trees:
--   - no AUTOINCREMENT, which read and rewrote sqlite_sequence at every
--     insert. Rows are never deleted, so a plain INTEGER PRIMARY KEY
--     (largest id + 1) never reuses an id and pages stay newest-last;
--   - the username and client_id indexes leave out the rows where the column
--     is empty (an application's own actions have no username, a user's no
--     application). ListAudit says "<> ''" next to those filters so that
--     SQLite can use them.
-- SQLite has no ALTER for the key, so the table is rebuilt, ids kept.
CREATE TABLE audit_events_rebuilt (
    id        INTEGER PRIMARY KEY,
    at        BIGINT  NOT NULL DEFAULT 0,
    kind      TEXT    NOT NULL DEFAULT '',
    actor     TEXT    NOT NULL DEFAULT '',
    address   TEXT    NOT NULL DEFAULT '',
    client_id TEXT    NOT NULL DEFAULT '',
    username  TEXT    NOT NULL DEFAULT '',
    detail    TEXT    NOT NULL DEFAULT ''
);
INSERT INTO audit_events_rebuilt (id, at, kind, actor, address, client_id, username, detail)
    SELECT id, at, kind, actor, address, client_id, username, detail FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_rebuilt RENAME TO audit_events;
DELETE FROM sqlite_sequence WHERE name IN ('audit_events', 'audit_events_rebuilt');
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_kind ON audit_events (kind, id);
CREATE INDEX audit_events_client ON audit_events (client_id, id) WHERE client_id <> '';
CREATE INDEX audit_events_actor ON audit_events (actor, id);
CREATE INDEX audit_events_username ON audit_events (username, id) WHERE username <> '';

-- +goose Down
CREATE TABLE audit_events_rebuilt (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        BIGINT  NOT NULL DEFAULT 0,
    kind      TEXT    NOT NULL DEFAULT '',
    actor     TEXT    NOT NULL DEFAULT '',
    address   TEXT    NOT NULL DEFAULT '',
    client_id TEXT    NOT NULL DEFAULT '',
    username  TEXT    NOT NULL DEFAULT '',
    detail    TEXT    NOT NULL DEFAULT ''
);
INSERT INTO audit_events_rebuilt (id, at, kind, actor, address, client_id, username, detail)
    SELECT id, at, kind, actor, address, client_id, username, detail FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_rebuilt RENAME TO audit_events;
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_kind ON audit_events (kind, id);
CREATE INDEX audit_events_client ON audit_events (client_id, id);
CREATE INDEX audit_events_actor ON audit_events (actor, id);
CREATE INDEX audit_events_username ON audit_events (username, id);
