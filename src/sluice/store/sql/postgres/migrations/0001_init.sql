-- sluice schema v1 for PostgreSQL. Times are epoch seconds (double precision) from the store's
-- clock, as on SQLite, so both backends share one set of semantics and tests can move time.
CREATE TABLE sluice_queues (
    name               text PRIMARY KEY,
    visibility_timeout double precision NOT NULL,
    max_receives       integer,
    fifo               boolean NOT NULL,
    dedup_window       double precision,
    retention          double precision,
    max_message_bytes  integer NOT NULL
);

CREATE SEQUENCE sluice_message_ids;

-- Messages churn (insert, update on claim, delete on ack): leave room on each page for the
-- claim's new row version, and vacuum early and without throttling so dead tuples do not pile
-- up under a steady stream.
CREATE TABLE sluice_messages (
    id            bigint PRIMARY KEY DEFAULT nextval('sluice_message_ids'),
    queue         text    NOT NULL,
    action        text    NOT NULL,
    body          text    NOT NULL,
    group_id      text,
    dedup_id      text,
    run_id        text,
    receive_count integer NOT NULL DEFAULT 0,
    enqueued_at   double precision NOT NULL,
    visible_at    double precision NOT NULL,
    lease         text,
    last_error    text,
    attempts      jsonb,
    dead_reason   text,
    source_queue  text
) WITH (
    fillfactor = 80,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.05,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 0
);
ALTER SEQUENCE sluice_message_ids OWNED BY sluice_messages.id;
-- claim: visible messages of a queue, oldest visibility first
CREATE INDEX sluice_messages_ready ON sluice_messages (queue, visible_at);
-- FIFO: the head of a group
CREATE INDEX sluice_messages_group ON sluice_messages (queue, group_id, id)
    WHERE group_id IS NOT NULL;

CREATE TABLE sluice_dedup (
    queue      text   NOT NULL,
    dedup_id   text   NOT NULL,
    message_id bigint NOT NULL,
    expires_at double precision NOT NULL,
    PRIMARY KEY (queue, dedup_id)
);

-- the groups of FIFO queues that may hold messages (garbage-collected by expire)
CREATE TABLE sluice_groups (
    queue    text NOT NULL,
    group_id text NOT NULL,
    PRIMARY KEY (queue, group_id)
);

CREATE TABLE sluice_limits (
    action      text PRIMARY KEY,
    concurrency integer,
    rate        double precision,
    burst       double precision,
    tokens      double precision,
    refilled_at double precision
);
