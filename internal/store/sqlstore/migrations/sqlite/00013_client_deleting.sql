-- +goose Up
-- An application whose deletion has begun: disabled, its codes gone, its
-- tokens being deleted in bounded batches (DeleteClient). It refuses every
-- change, so that a deletion cut short cannot be undone by enabling it
-- again with some of its tokens left; deleting it again finishes the work.
-- Nodes of the previous release ignore the column.
ALTER TABLE clients ADD COLUMN deleting BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE clients DROP COLUMN deleting;
