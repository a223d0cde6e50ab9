-- As migrations/0006_publish_period.sql: the publication period is fixed
-- when the log is created; a change asked for explicitly takes effect at
-- the next UTC midnight.
ALTER TABLE log ADD COLUMN publish_period BIGINT;
ALTER TABLE log ADD COLUMN next_publish_period BIGINT;
ALTER TABLE log ADD COLUMN next_period_from BIGINT;
COMMENT ON COLUMN log.publish_period IS 'Seconds: the publication period, fixed when the log is created.';
COMMENT ON COLUMN log.next_publish_period IS 'Seconds: a new publication period asked for, from next_period_from on.';
COMMENT ON COLUMN log.next_period_from IS 'Unix seconds (a UTC midnight) from which next_publish_period applies.';
