-- Periods closed to new reports. A publication closes its period (in a
-- transaction of its own, committed before it signs) before it reads the
-- period's pending records: a server that dies after signing leaves a
-- period whose records no other server can add to, so the server that
-- publishes it instead signs the same root.
ALTER TABLE log ADD COLUMN closed_through BIGINT;
COMMENT ON COLUMN log.closed_through IS 'Unix seconds: pending reports of periods that end at or before it are no longer taken (their publication has begun).';
UPDATE log SET closed_through = (SELECT max(period_end) FROM roots);
