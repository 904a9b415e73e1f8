-- Units of work a run's handlers report beside its messages (ctx.progress(rows=n)), counted in
-- the transaction that acks the call's first message.
ALTER TABLE sluice_run_stages ADD COLUMN units bigint NOT NULL DEFAULT 0;

-- One sample a minute of what workers already report, per queue (depth, in flight, dead) and
-- per action (the summed outcome totals and duration buckets of sluice_action_stats), for the
-- dashboard's charts: the first housekeeping pass of a minute writes it, later ones of that
-- minute find it there; housekeeping deletes samples older than a day.
CREATE TABLE sluice_rollups (
    kind      text    NOT NULL,  -- 'queue' or 'action'
    name      text    NOT NULL,
    minute    bigint  NOT NULL,  -- epoch seconds // 60
    at        float8  NOT NULL,
    depth     bigint  NOT NULL DEFAULT 0,
    in_flight bigint  NOT NULL DEFAULT 0,
    dead      bigint  NOT NULL DEFAULT 0,
    processed bigint  NOT NULL DEFAULT 0,
    failed    bigint  NOT NULL DEFAULT 0,
    buckets   text,              -- actions: JSON counts per duration bucket (cumulative totals)
    PRIMARY KEY (kind, name, minute)
);
CREATE INDEX sluice_rollups_minute ON sluice_rollups (minute);
