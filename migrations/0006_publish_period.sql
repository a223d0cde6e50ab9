-- The publication period is fixed when the log is created; a change asked
-- for explicitly takes effect at the next UTC midnight (never earlier, and
-- never for periods already closed). NULL on logs created before this
-- migration: the next start records the period it is given.
ALTER TABLE log ADD COLUMN publish_period INTEGER;
-- A change asked for: the new period, in seconds, from the Unix second
-- next_period_from (a UTC midnight) on.
ALTER TABLE log ADD COLUMN next_publish_period INTEGER;
ALTER TABLE log ADD COLUMN next_period_from INTEGER;
