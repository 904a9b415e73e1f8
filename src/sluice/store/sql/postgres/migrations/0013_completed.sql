-- job status and results (store/completed.py): a queue with keep_completed leaves a record of
-- each acked or cancelled message (status, receives, times, the handler's JSON result) for that
-- many seconds; housekeeping drops records past expires_at. Nothing here is on the ack path of
-- a queue without keep_completed.
ALTER TABLE sluice_queues ADD COLUMN keep_completed double precision;
CREATE TABLE sluice_completed (
    message_id    bigint           PRIMARY KEY,
    queue         text             NOT NULL,
    action        text             NOT NULL,
    status        text             NOT NULL,
    run_id        text,
    receive_count integer          NOT NULL,
    enqueued_at   double precision NOT NULL,
    finished_at   double precision NOT NULL,
    expires_at    double precision NOT NULL,
    result        text,
    result_note   text
);
CREATE INDEX sluice_completed_expiry ON sluice_completed (expires_at);
-- tracing (observe/tracing.py): a message's trace-context headers, written with it only while
-- OpenTelemetry is on, read with claimed messages then; dropped by housekeeping once it is gone
CREATE TABLE sluice_headers (
    message_id bigint PRIMARY KEY,
    headers    text   NOT NULL
);
