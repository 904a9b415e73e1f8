-- Units of work a run's handlers report beside its messages (ctx.progress(rows=n)), counted in
-- the transaction that acks the call's first message.
ALTER TABLE sluice_run_stages ADD COLUMN units INTEGER NOT NULL DEFAULT 0;

-- One sample a minute of what workers already report, per queue (depth, in flight, dead) and
-- per action (the summed outcome totals and duration buckets of sluice_action_stats), for the
-- dashboard's charts: the first housekeeping pass of a minute writes it, later ones of that
-- minute find it there; housekeeping deletes samples older than a day.
CREATE TABLE sluice_rollups (
    kind      TEXT    NOT NULL,  -- 'queue' or 'action'
    name      TEXT    NOT NULL,
    minute    INTEGER NOT NULL,  -- epoch seconds // 60
    at        REAL    NOT NULL,
    depth     INTEGER NOT NULL DEFAULT 0,
    in_flight INTEGER NOT NULL DEFAULT 0,
    dead      INTEGER NOT NULL DEFAULT 0,
    processed INTEGER NOT NULL DEFAULT 0,
    failed    INTEGER NOT NULL DEFAULT 0,
    buckets   TEXT,             -- actions: JSON counts per duration bucket (cumulative totals)
    PRIMARY KEY (kind, name, minute)
) WITHOUT ROWID;
CREATE INDEX sluice_rollups_minute ON sluice_rollups (minute);
