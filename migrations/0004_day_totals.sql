-- Aggregates of each day's published entries, added to in the transaction
-- that publishes them: the stats read them instead of keeping a tally of
-- the whole log in memory. The first start after this migration fills it
-- from the entries already published.
CREATE TABLE day_totals (
    -- The entries' `day` (YYYY-MM-DD).
    day TEXT PRIMARY KEY,
    -- Published entries of the day: one per deployment that reported.
    reports INTEGER NOT NULL,
    -- Sums of the entries' counts, in decimal: they can exceed 64 bits.
    tokens_created TEXT NOT NULL,
    tokens_detokenized TEXT NOT NULL,
    grants_issued TEXT NOT NULL
) STRICT;
