-- Console additions for SQLite. Keep in step with ../postgres/00002_console.sql.
-- Additive only: nodes still on the previous release keep working against
-- this schema during a rolling upgrade (they never name the new column, and
-- deleting a client cascades to its logo).

-- +goose Up
-- Browser sessions signed in before this time (unix ms; 0 = none) are void.
ALTER TABLE users ADD COLUMN sessions_after BIGINT NOT NULL DEFAULT 0;

CREATE TABLE client_logos (
    client_id    TEXT  PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    content_type TEXT  NOT NULL,
    data         BLOB  NOT NULL
);

-- Append-only; Purge never touches it. ListAudit pages backwards by id.
CREATE TABLE audit_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        BIGINT  NOT NULL DEFAULT 0,
    kind      TEXT    NOT NULL DEFAULT '',
    actor     TEXT    NOT NULL DEFAULT '',
    address   TEXT    NOT NULL DEFAULT '',
    client_id TEXT    NOT NULL DEFAULT '',
    username  TEXT    NOT NULL DEFAULT '',
    detail    TEXT    NOT NULL DEFAULT ''
);
-- The ListAudit filters; id last so a filtered, newest-first page is one
-- index range scan.
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_kind ON audit_events (kind, id);
CREATE INDEX audit_events_client ON audit_events (client_id, id);
CREATE INDEX audit_events_actor ON audit_events (actor, id);
CREATE INDEX audit_events_username ON audit_events (username, id);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE client_logos;
ALTER TABLE users DROP COLUMN sessions_after;
