-- +goose Up
-- One value sealed with the secret key by the first node that starts: a node
-- with another key cannot open it and refuses to start (internal/server).
-- Additive, so nodes of the previous release keep working during a rolling
-- upgrade (they never read it).
CREATE TABLE key_check (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    sealed BLOB NOT NULL
);

-- +goose Down
DROP TABLE key_check;
