-- Per-action outcome counters for metrics, one row per worker process (so writers never
-- contend); readers sum the rows. Flushed by each worker every few seconds.
CREATE TABLE sluice_action_stats (
    action       text    NOT NULL,
    worker       text    NOT NULL,
    processed    bigint  NOT NULL DEFAULT 0,
    failed       bigint  NOT NULL DEFAULT 0,
    dead         bigint  NOT NULL DEFAULT 0,
    duration_sum double precision NOT NULL DEFAULT 0,
    buckets      text    NOT NULL,  -- JSON: counts per duration bucket (not cumulative)
    updated_at   double precision NOT NULL,
    PRIMARY KEY (action, worker)
);
