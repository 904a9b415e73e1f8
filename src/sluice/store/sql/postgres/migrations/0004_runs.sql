-- Runs: tracked operations whose counters move in the transactions that settle their messages.
ALTER TABLE sluice_messages ADD COLUMN run_stage integer;
-- cancel_run finds a run's messages; only messages of runs are indexed
CREATE INDEX sluice_messages_run ON sluice_messages (run_id) WHERE run_id IS NOT NULL;

CREATE TABLE sluice_runs (
    id          text    PRIMARY KEY,
    name        text    NOT NULL,
    status      text    NOT NULL,
    stage       integer NOT NULL DEFAULT 0,
    stages      text    NOT NULL,  -- JSON: [{"action": .., "queue": ..} or null, ...]
    on_complete text,              -- JSON: {"action": .., "queue": ..}
    meta        text,              -- JSON
    checkpoint  text,              -- JSON: the last key a discovery committed
    started_at  double precision NOT NULL,
    finished_at double precision
);
CREATE INDEX sluice_runs_started ON sluice_runs (started_at);

CREATE TABLE sluice_run_stages (
    run_id      text    NOT NULL,
    stage       integer NOT NULL,
    total       bigint  NOT NULL DEFAULT 0,
    succeeded   bigint  NOT NULL DEFAULT 0,
    failed      bigint  NOT NULL DEFAULT 0,
    dead        bigint  NOT NULL DEFAULT 0,
    sealed      boolean NOT NULL,
    fired       boolean NOT NULL DEFAULT false,
    started_at  double precision,
    finished_at double precision,
    PRIMARY KEY (run_id, stage)
);
