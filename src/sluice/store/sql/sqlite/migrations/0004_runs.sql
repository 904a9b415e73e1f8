-- Runs: tracked operations whose counters move in the transactions that settle their messages.
ALTER TABLE sluice_messages ADD COLUMN run_stage INTEGER;
-- cancel_run finds a run's messages; only messages of runs are indexed
CREATE INDEX sluice_messages_run ON sluice_messages (run_id) WHERE run_id IS NOT NULL;

CREATE TABLE sluice_runs (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    stage       INTEGER NOT NULL DEFAULT 0,
    stages      TEXT    NOT NULL,  -- JSON: [{"action": .., "queue": ..} or null, ...]
    on_complete TEXT,              -- JSON: {"action": .., "queue": ..}
    meta        TEXT,              -- JSON
    checkpoint  TEXT,              -- JSON: the last key a discovery committed
    started_at  REAL    NOT NULL,
    finished_at REAL
);
CREATE INDEX sluice_runs_started ON sluice_runs (started_at);

CREATE TABLE sluice_run_stages (
    run_id      TEXT    NOT NULL,
    stage       INTEGER NOT NULL,
    total       INTEGER NOT NULL DEFAULT 0,
    succeeded   INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    dead        INTEGER NOT NULL DEFAULT 0,
    sealed      INTEGER NOT NULL,
    fired       INTEGER NOT NULL DEFAULT 0,
    started_at  REAL,
    finished_at REAL,
    PRIMARY KEY (run_id, stage)
) WITHOUT ROWID;
