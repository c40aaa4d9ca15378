-- Gatehouse schema for SQLite. Keep in step with ../postgres/00001_init.sql.
-- Times are unix milliseconds (0 = never), lists are JSON arrays in TEXT,
-- hashes are BLOBs.

-- +goose Up
CREATE TABLE users (
    id            TEXT    PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL DEFAULT '',
    email         TEXT    NOT NULL DEFAULT '',
    password_hash TEXT    NOT NULL DEFAULT '',
    level         INTEGER NOT NULL DEFAULT 0,
    group_names   TEXT    NOT NULL DEFAULT '[]',
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT  NOT NULL DEFAULT 0,
    updated_at    BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE clients (
    id                TEXT    PRIMARY KEY,
    name              TEXT    NOT NULL DEFAULT '',
    description       TEXT    NOT NULL DEFAULT '',
    secret_hash       BLOB,
    secret_sealed     BLOB,
    public            BOOLEAN NOT NULL DEFAULT FALSE,
    require_pkce      BOOLEAN NOT NULL DEFAULT FALSE,
    redirect_uris     TEXT    NOT NULL DEFAULT '[]',
    scopes            TEXT    NOT NULL DEFAULT '[]',
    grants            TEXT    NOT NULL DEFAULT '[]',
    enabled           BOOLEAN NOT NULL DEFAULT FALSE,
    subscriber_users  TEXT    NOT NULL DEFAULT '[]',
    subscriber_groups TEXT    NOT NULL DEFAULT '[]',
    allowed_ips       TEXT    NOT NULL DEFAULT '[]',
    created_at        BIGINT  NOT NULL DEFAULT 0,
    updated_at        BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE codes (
    hash             BLOB   PRIMARY KEY,
    client_id        TEXT   NOT NULL REFERENCES clients (id),
    user_id          TEXT   NOT NULL DEFAULT '',
    redirect_uri     TEXT   NOT NULL DEFAULT '',
    scope            TEXT   NOT NULL DEFAULT '',
    challenge        TEXT   NOT NULL DEFAULT '',
    challenge_method TEXT   NOT NULL DEFAULT '',
    grant_id         TEXT   NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL DEFAULT 0,
    expires_at       BIGINT NOT NULL DEFAULT 0,
    used_at          BIGINT NOT NULL DEFAULT 0
);
-- DeleteClient and the foreign-key check on client delete.
CREATE INDEX codes_client ON codes (client_id);

CREATE TABLE tokens (
    hash        BLOB   PRIMARY KEY,
    kind        TEXT   NOT NULL,
    grant_id    TEXT   NOT NULL DEFAULT '',
    client_id   TEXT   NOT NULL REFERENCES clients (id),
    user_id     TEXT   NOT NULL DEFAULT '',
    scope       TEXT   NOT NULL DEFAULT '',
    granted_at  BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL DEFAULT 0,
    expires_at  BIGINT NOT NULL DEFAULT 0,
    revoked_at  BIGINT NOT NULL DEFAULT 0,
    rotated_at  BIGINT NOT NULL DEFAULT 0,
    access_hash BLOB
);
-- RevokeGrant and reuse detection.
CREATE INDEX tokens_grant ON tokens (grant_id);
-- The refresh cap and per-user listings.
CREATE INDEX tokens_user_client_kind ON tokens (user_id, client_id, kind);
-- DeleteClient, per-client listings and the foreign-key check on client delete.
CREATE INDEX tokens_client ON tokens (client_id);
-- Purge; partial, so rows enter them only once they matter.
CREATE INDEX tokens_expires ON tokens (expires_at) WHERE expires_at <> 0;
CREATE INDEX tokens_revoked ON tokens (revoked_at) WHERE revoked_at <> 0;
CREATE INDEX tokens_rotated ON tokens (rotated_at) WHERE rotated_at <> 0;

CREATE TABLE sessions (
    token  TEXT   PRIMARY KEY,
    data   BLOB   NOT NULL,
    expiry BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry);

CREATE TABLE throttle (
    key          TEXT    PRIMARY KEY,
    window_start BIGINT  NOT NULL,
    window_ms    BIGINT  NOT NULL,
    failures     INTEGER NOT NULL
);

CREATE TABLE locks (
    name       TEXT   PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE locks;
DROP TABLE throttle;
DROP TABLE sessions;
DROP TABLE tokens;
DROP TABLE codes;
DROP TABLE clients;
DROP TABLE users;
