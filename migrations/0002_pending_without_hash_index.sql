-- Pending records are found by record hash through the writer's index in
-- memory (src/sequencer/pending_index.rs), no longer through an index in
-- the file: keys that are random hashes cost a scattered page write per
-- report. The table is made again, so that its statement, shown on the
-- server's pages, says what it holds now.
CREATE TABLE pending_new (
    -- Accepted reports not yet published: one per deployment per UTC day.
    -- WITHOUT ROWID and keyed by (day, deployment), so that the file keeps
    -- no trace of the order in which reports arrived.
    day TEXT NOT NULL,
    deployment BLOB NOT NULL,
    -- Unix seconds at which the covering root is signed.
    period_end INTEGER NOT NULL,
    -- The canonical record, as it will be published.
    record BLOB NOT NULL,
    PRIMARY KEY (day, deployment)
) STRICT, WITHOUT ROWID;
INSERT INTO pending_new (day, deployment, period_end, record)
    SELECT day, deployment, period_end, record FROM pending;
DROP TABLE pending;
ALTER TABLE pending_new RENAME TO pending;
