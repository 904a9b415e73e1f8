-- Per-action outcome counters for metrics, one row per worker process (so writers never
-- contend); readers sum the rows. Flushed by each worker every few seconds.
CREATE TABLE sluice_action_stats (
    action       TEXT    NOT NULL,
    worker       TEXT    NOT NULL,
    processed    INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    dead         INTEGER NOT NULL DEFAULT 0,
    duration_sum REAL    NOT NULL DEFAULT 0,
    buckets      TEXT    NOT NULL,  -- JSON: counts per duration bucket (not cumulative)
    updated_at   REAL    NOT NULL,
    PRIMARY KEY (action, worker)
) WITHOUT ROWID;
