-- As migrations/0007_roots_by_size.sql: the first root that covers an
-- entry in one index seek.
CREATE INDEX roots_by_size ON roots (size, period_end);
