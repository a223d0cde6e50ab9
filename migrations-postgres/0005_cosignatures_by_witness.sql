-- As migrations/0008_cosignatures_by_witness.sql: each witness's latest
-- cosigned root in one seek per witness.
CREATE INDEX cosignatures_by_witness ON cosignatures (witness, period_end);
