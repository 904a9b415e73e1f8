-- Alarms: the last state of each alarm, moved by compare-and-set so that however many
-- schedulers evaluate it, each transition enqueues its action once.
CREATE TABLE sluice_alarms (
    name       text PRIMARY KEY,
    firing     boolean NOT NULL,
    changed_at double precision NOT NULL
);
