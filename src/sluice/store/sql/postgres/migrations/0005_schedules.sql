-- Cron schedules: any number of schedulers fire them; advancing next_at with a compare-and-set
-- in the transaction that enqueues the tick's message makes exactly one of them fire each tick.
CREATE TABLE sluice_schedules (
    name           text    PRIMARY KEY,
    cron           text    NOT NULL,
    action         text    NOT NULL,
    queue          text    NOT NULL,
    body           text    NOT NULL,
    timezone       text    NOT NULL,
    misfire        text    NOT NULL,
    catch_up_limit integer NOT NULL,
    next_at        double precision NOT NULL,
    last_tick      double precision
);
CREATE INDEX sluice_schedules_due ON sluice_schedules (next_at);
