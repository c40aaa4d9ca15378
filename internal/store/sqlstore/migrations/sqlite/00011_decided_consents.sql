-- +goose Up
-- A consent page's form now carries its authorization request signed with
-- the secret key (internal/web), so showing the page writes nothing; the
-- decision makes it single-use by recording the page's ID hash here, in the
-- same transaction as the code. Rows outlive the page's own expiry only
-- until the janitor's next pass. Additive: pending_consents stays for nodes
-- of the previous release during a rolling upgrade (the janitor still
-- empties it); a later release drops it.
CREATE TABLE decided_consents (
    id_hash    BLOB   PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX decided_consents_expiry ON decided_consents (expires_at);

-- +goose Down
DROP TABLE decided_consents;
