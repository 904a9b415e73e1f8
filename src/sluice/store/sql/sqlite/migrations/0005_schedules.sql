-- Cron schedules: any number of schedulers fire them; advancing next_at with a compare-and-set
-- in the transaction that enqueues the tick's message makes exactly one of them fire each tick.
CREATE TABLE sluice_schedules (
    name           TEXT    PRIMARY KEY,
    cron           TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    queue          TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    timezone       TEXT    NOT NULL,
    misfire        TEXT    NOT NULL,
    catch_up_limit INTEGER NOT NULL,
    next_at        REAL    NOT NULL,
    last_tick      REAL
) WITHOUT ROWID;
CREATE INDEX sluice_schedules_due ON sluice_schedules (next_at);
