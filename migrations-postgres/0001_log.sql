-- lucent's log on PostgreSQL: the schema SQLite reaches after
-- migrations/0001 to 0005, in one step. Every table is either public
-- (published entries, tiles, roots, totals, cosignatures) or holds reports
-- that wait for publication. Nothing here records a client address, a
-- header, a nonce, or a time finer than the period.
--
-- PostgreSQL keeps no statement text, so each comment is also stored with
-- COMMENT ON: the server's pages read the schema back from the catalogue.
-- Text that is compared or ordered is COLLATE "C" (bytewise, as SQLite).

-- The log this database holds, written once when the log is created.
CREATE TABLE log (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    origin TEXT NOT NULL,
    verifier_key TEXT NOT NULL,
    -- Unix seconds at which the first period started.
    inception BIGINT NOT NULL
);
COMMENT ON TABLE log IS 'The log this database holds, written once when the log is created.';
COMMENT ON COLUMN log.inception IS 'Unix seconds at which the first period started.';

-- Accepted reports not yet published: one per deployment per UTC day.
-- One partition per period (pending_<period_end>, made by the first report
-- of the period), which the publication of the period drops whole in its
-- transaction: no table, index or free space of the database keeps the
-- order in which a published period's reports arrived. Before publication
-- a partition's heap is in arrival order, on the operator's disk only.
-- The key includes period_end, as a partitioned table's key must; one per
-- (day, deployment) across a day's periods is kept by the writer, which
-- looks for the deployment in every period of the day.
CREATE TABLE pending (
    day TEXT COLLATE "C" NOT NULL,
    deployment BYTEA NOT NULL,
    -- Unix seconds at which the covering root is signed.
    period_end BIGINT NOT NULL,
    -- The canonical record, as it will be published.
    record BYTEA NOT NULL,
    PRIMARY KEY (day, deployment, period_end)
) PARTITION BY LIST (period_end);
COMMENT ON TABLE pending IS 'Accepted reports not yet published: one per deployment per UTC day. One partition per period, dropped whole by the publication of the period, so that the database keeps no trace of the order in which published reports arrived.';
COMMENT ON COLUMN pending.period_end IS 'Unix seconds at which the covering root is signed.';
COMMENT ON COLUMN pending.record IS 'The canonical record, as it will be published.';

-- Published entries; idx is the leaf index.
CREATE TABLE entries (
    idx BIGINT PRIMARY KEY,
    entry BYTEA NOT NULL
);
COMMENT ON TABLE entries IS 'Published entries; idx is the leaf index.';
-- The first 8 hex digits of `deployment`, which starts at byte 35 of every
-- canonical entry ({"day":"YYYY-MM-DD","deployment":"…), by epoch
-- (idx >> 20, 1 048 576 entries): lookups by prefix. A day's prefixes are
-- spread over the whole key space; beginning with the epoch, a day's
-- inserts touch only the pages of the newest epochs.
CREATE INDEX entries_by_deployment ON entries ((idx >> 20), substring(entry FROM 35 FOR 8));

-- Which entry publishes a record: record_key is the first 8 bytes of
-- record_hash (big-endian, signed), enough to find a receipt; epoch is
-- idx >> 20. Its own table, so that publication inserts its keys in sorted
-- order.
CREATE TABLE receipt_keys (
    epoch BIGINT NOT NULL,
    record_key BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    PRIMARY KEY (epoch, record_key, idx)
);
COMMENT ON TABLE receipt_keys IS 'Which entry publishes a record: record_key is the first 8 bytes of record_hash (big-endian, signed), enough to find a receipt; epoch is idx >> 20. Its own table, so that publication inserts its keys in sorted order.';

-- C2SP tlog-tiles hash tiles: the hashes of tree level 8*level, 256 a tile.
-- The last tile of a level grows as entries are published.
CREATE TABLE tiles (
    level BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    hashes BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);
COMMENT ON TABLE tiles IS 'C2SP tlog-tiles hash tiles: the hashes of tree level 8*level, 256 a tile. The last tile of a level grows as entries are published.';

-- Signed roots, one per closed period.
CREATE TABLE roots (
    period_end BIGINT PRIMARY KEY,
    day TEXT COLLATE "C" NOT NULL,
    size BIGINT NOT NULL,
    root_hash BYTEA NOT NULL,
    checkpoint TEXT NOT NULL
);
COMMENT ON TABLE roots IS 'Signed roots, one per closed period.';

-- Aggregates of each day's published entries, added to in the transaction
-- that publishes them: the stats read them instead of keeping a tally of
-- the whole log in memory.
CREATE TABLE day_totals (
    -- The entries' `day` (YYYY-MM-DD).
    day TEXT COLLATE "C" PRIMARY KEY,
    -- Published entries of the day: one per deployment that reported.
    reports BIGINT NOT NULL,
    -- Sums of the entries' counts, in decimal: they can exceed 64 bits.
    tokens_created TEXT NOT NULL,
    tokens_detokenized TEXT NOT NULL,
    grants_issued TEXT NOT NULL
);
COMMENT ON TABLE day_totals IS 'Aggregates of each day''s published entries, added to in the transaction that publishes them: the stats read them instead of keeping a tally of the whole log in memory.';
COMMENT ON COLUMN day_totals.day IS 'The entries'' `day` (YYYY-MM-DD).';
COMMENT ON COLUMN day_totals.reports IS 'Published entries of the day: one per deployment that reported.';
COMMENT ON COLUMN day_totals.tokens_created IS 'Sums of the entries'' counts, in decimal: they can exceed 64 bits.';

-- Witnesses' cosignatures of signed roots (SPEC section 8): one signature
-- line per witness and root, verified against the witness's key before it
-- is stored, served after the log's own signature. Public, like the roots.
CREATE TABLE cosignatures (
    period_end BIGINT NOT NULL REFERENCES roots (period_end),
    -- The witness's verifier key (C2SP note form), as configured.
    witness TEXT COLLATE "C" NOT NULL,
    -- The signature line as the witness returned it, without its newline.
    line TEXT NOT NULL,
    -- The time a tlog-cosignature (type 0x04) signs, in POSIX seconds, as
    -- the witness chose it; NULL for a plain Ed25519 note signature.
    signed_at BIGINT,
    PRIMARY KEY (period_end, witness)
);
COMMENT ON TABLE cosignatures IS 'Witnesses'' cosignatures of signed roots (SPEC section 8): one signature line per witness and root, verified against the witness''s key before it is stored, served after the log''s own signature. Public, like the roots.';
COMMENT ON COLUMN cosignatures.witness IS 'The witness''s verifier key (C2SP note form), as configured.';
COMMENT ON COLUMN cosignatures.line IS 'The signature line as the witness returned it, without its newline.';
COMMENT ON COLUMN cosignatures.signed_at IS 'The time a tlog-cosignature (type 0x04) signs, in POSIX seconds, as the witness chose it; NULL for a plain Ed25519 note signature.';
