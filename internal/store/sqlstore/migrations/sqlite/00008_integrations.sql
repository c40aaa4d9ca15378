-- +goose Up
-- Outgoing OAuth 2.0 integrations: the settings, and the vault (the
-- provider's tokens, sealed with the secret key) with the state of their
-- refresh. name_key is the name folded to lower case, so names are unique
-- whatever their case, the same way on every database. Times are unix
-- milliseconds (0 = none). Additive, so nodes of the previous release keep
-- working during a rolling upgrade.
CREATE TABLE integrations (
    id              TEXT    PRIMARY KEY,
    name            TEXT    NOT NULL,
    name_key        TEXT    NOT NULL UNIQUE,
    description     TEXT    NOT NULL DEFAULT '',
    provider        TEXT    NOT NULL,
    client_id       TEXT    NOT NULL DEFAULT '',
    secret_sealed   BLOB,
    scopes          TEXT    NOT NULL DEFAULT '[]',
    auth_url        TEXT    NOT NULL DEFAULT '',
    token_url       TEXT    NOT NULL DEFAULT '',
    userinfo_url    TEXT    NOT NULL DEFAULT '',
    issuer          TEXT    NOT NULL DEFAULT '',
    tenant          TEXT    NOT NULL DEFAULT '',
    auth_params     TEXT    NOT NULL DEFAULT '',
    pkce            BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    tokens_sealed   BLOB,
    account         TEXT    NOT NULL DEFAULT '',
    granted_scope   TEXT    NOT NULL DEFAULT '',
    expires_at      BIGINT  NOT NULL DEFAULT 0,
    authorized_at   BIGINT  NOT NULL DEFAULT 0,
    refreshed_at    BIGINT  NOT NULL DEFAULT 0,
    next_refresh_at BIGINT  NOT NULL DEFAULT 0,
    needs_reauth    BOOLEAN NOT NULL DEFAULT FALSE,
    failures        INTEGER NOT NULL DEFAULT 0,
    error_key       TEXT    NOT NULL DEFAULT '',
    error_detail    TEXT    NOT NULL DEFAULT '',
    error_at        BIGINT  NOT NULL DEFAULT 0,
    lease_holder    TEXT    NOT NULL DEFAULT '',
    lease_until     BIGINT  NOT NULL DEFAULT 0
);
-- The refresher reads only the integrations that are due; partial, so those
-- with nothing to refresh are not in it.
CREATE INDEX integrations_next_refresh ON integrations (next_refresh_at) WHERE next_refresh_at <> 0;

-- Authorizations in progress, under the keyed hash of their state: taken
-- (deleted) once by the callback.
CREATE TABLE integration_auths (
    state_hash      BLOB  PRIMARY KEY,
    integration_id  TEXT   NOT NULL,
    binding         BLOB,
    verifier_sealed BLOB,
    redirect_url    TEXT   NOT NULL,
    actor           TEXT   NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX integration_auths_integration ON integration_auths (integration_id, created_at);
CREATE INDEX integration_auths_expiry ON integration_auths (expires_at);

-- +goose Down
DROP TABLE integration_auths;
DROP TABLE integrations;
