-- Each witness's latest cosigned root (the index page, the metrics, the
-- cosigning task's start) is one seek per witness in this index, instead
-- of a read of every cosignature: with a root every 10 seconds and a few
-- witnesses, the table grows by tens of thousands of rows a day.
CREATE INDEX cosignatures_by_witness ON cosignatures (witness, period_end);
