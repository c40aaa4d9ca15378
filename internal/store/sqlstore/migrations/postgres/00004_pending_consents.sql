-- +goose Up
-- Authorization requests waiting on the consent page. The page's form posts
-- only the opaque ID; the request itself stays here, taken (deleted) once by
-- the decision. Additive, so nodes of the previous release keep working
-- during a rolling upgrade.
CREATE TABLE pending_consents (
    id_hash    BYTEA  PRIMARY KEY,
    user_id    TEXT   NOT NULL,
    binding    BYTEA  NOT NULL,
    request    TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pending_consents_user ON pending_consents (user_id, created_at);
CREATE INDEX pending_consents_expiry ON pending_consents (expires_at);

-- +goose Down
DROP TABLE pending_consents;
