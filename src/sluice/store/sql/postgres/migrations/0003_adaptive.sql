-- Adaptive concurrency: the effective concurrency of an action (NULL: its configured one).
ALTER TABLE sluice_limits ADD COLUMN effective double precision;
