-- sluice schema v1 for SQLite. Times are epoch seconds (REAL).
CREATE TABLE sluice_queues (
    name               TEXT PRIMARY KEY,
    visibility_timeout REAL    NOT NULL,
    max_receives       INTEGER,
    fifo               INTEGER NOT NULL,
    dedup_window       REAL,
    retention          REAL,
    max_message_bytes  INTEGER NOT NULL
);

CREATE TABLE sluice_messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    queue         TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    group_id      TEXT,
    dedup_id      TEXT,
    run_id        TEXT,
    receive_count INTEGER NOT NULL DEFAULT 0,
    enqueued_at   REAL    NOT NULL,
    visible_at    REAL    NOT NULL,
    lease         TEXT,
    last_error    TEXT,
    attempts      TEXT,
    dead_reason   TEXT,
    source_queue  TEXT
);
-- claim: visible messages of a queue, oldest visibility first
CREATE INDEX sluice_messages_ready ON sluice_messages (queue, visible_at);
-- FIFO: the head of a group
CREATE INDEX sluice_messages_group ON sluice_messages (queue, group_id, id) WHERE group_id IS NOT NULL;
-- No index serves the concurrency limits' in-flight counts: one on leased rows doubled the cost
-- of every claim and ack; the counts scan the invisible part of sluice_messages_ready instead.

CREATE TABLE sluice_dedup (
    queue      TEXT    NOT NULL,
    dedup_id   TEXT    NOT NULL,
    message_id INTEGER NOT NULL,
    expires_at REAL    NOT NULL,
    PRIMARY KEY (queue, dedup_id)
) WITHOUT ROWID;

-- the groups of FIFO queues that may hold messages (garbage-collected by expire)
CREATE TABLE sluice_groups (
    queue    TEXT NOT NULL,
    group_id TEXT NOT NULL,
    PRIMARY KEY (queue, group_id)
) WITHOUT ROWID;

CREATE TABLE sluice_limits (
    action      TEXT PRIMARY KEY,
    concurrency INTEGER,
    rate        REAL,
    burst       REAL,
    tokens      REAL,
    refilled_at REAL
);
