-- +goose Up
-- Incoming mail servers (IMAP, POP3) and how Gatehouse signs in to them: a
-- password sealed with the secret key, or an integration's access token.
-- name_key is the name folded to lower case, so names are unique whatever
-- their case, the same way on every database. No foreign key to the
-- integration: a server whose integration is gone says so at its test.
-- Additive, so nodes of the previous release keep working during a rolling
-- upgrade.
CREATE TABLE mail_servers (
    id              TEXT    PRIMARY KEY,
    name            TEXT    NOT NULL,
    name_key        TEXT    NOT NULL UNIQUE,
    protocol        TEXT    NOT NULL,
    host            TEXT    NOT NULL,
    port            INTEGER NOT NULL,
    tls             TEXT    NOT NULL,
    ca_cert         TEXT    NOT NULL DEFAULT '',
    username        TEXT    NOT NULL,
    password_sealed BYTEA,
    integration_id  TEXT    NOT NULL DEFAULT '',
    sasl            TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE mail_servers;
