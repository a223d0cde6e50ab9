-- lucent's log. Every table is either public (published entries, tiles,
-- roots) or holds reports that wait for publication. Nothing here records
-- a client address, a header, a nonce, or a time finer than the period.

-- The log this database holds, written once when the log is created.
CREATE TABLE log (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    origin TEXT NOT NULL,
    verifier_key TEXT NOT NULL,
    -- Unix seconds at which the first period started.
    inception INTEGER NOT NULL
) STRICT;

-- Accepted reports not yet published: one per deployment per UTC day.
-- WITHOUT ROWID and keyed by (day, deployment), so the file keeps no trace
-- of the order in which reports arrived.
CREATE TABLE pending (
    day TEXT NOT NULL,
    deployment BLOB NOT NULL,
    -- Unix seconds at which the covering root is signed.
    period_end INTEGER NOT NULL,
    record BLOB NOT NULL,
    -- SHA-256 of record, so that a receipt request can say "pending".
    record_hash BLOB NOT NULL,
    PRIMARY KEY (day, deployment)
) STRICT, WITHOUT ROWID;
CREATE INDEX pending_by_record_hash ON pending (record_hash);

-- Published entries; idx is the leaf index.
CREATE TABLE entries (
    idx INTEGER PRIMARY KEY,
    entry BLOB NOT NULL
) STRICT;
-- Which entry publishes a record: record_key is the first 8 bytes of
-- record_hash (big-endian, signed), enough to find a receipt. Its own table,
-- so that publication inserts its keys in sorted order.
CREATE TABLE receipt_keys (
    record_key INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    PRIMARY KEY (record_key, idx)
) STRICT, WITHOUT ROWID;
-- The first 8 hex digits of `deployment`, which starts at byte 35 of every
-- canonical entry ({"day":"YYYY-MM-DD","deployment":"…): lookups by prefix.
CREATE INDEX entries_by_deployment ON entries (substr(entry, 35, 8));

-- C2SP tlog-tiles hash tiles: the hashes of tree level 8*level, 256 a tile.
-- The last tile of a level grows as entries are published.
CREATE TABLE tiles (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hashes BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) STRICT;

-- Signed roots, one per closed period.
CREATE TABLE roots (
    period_end INTEGER PRIMARY KEY,
    day TEXT NOT NULL,
    size INTEGER NOT NULL,
    root_hash BLOB NOT NULL,
    checkpoint TEXT NOT NULL
) STRICT;
