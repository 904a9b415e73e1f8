-- job status and results (store/completed.py): a queue with keep_completed leaves a record of
-- each acked or cancelled message (status, receives, times, the handler's JSON result) for that
-- many seconds; housekeeping drops records past expires_at. Nothing here is on the ack path of
-- a queue without keep_completed.
ALTER TABLE sluice_queues ADD COLUMN keep_completed REAL;
CREATE TABLE sluice_completed (
    message_id    INTEGER PRIMARY KEY,
    queue         TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    run_id        TEXT,
    receive_count INTEGER NOT NULL,
    enqueued_at   REAL    NOT NULL,
    finished_at   REAL    NOT NULL,
    expires_at    REAL    NOT NULL,
    result        TEXT,
    result_note   TEXT
);
CREATE INDEX sluice_completed_expiry ON sluice_completed (expires_at);
-- tracing (observe/tracing.py): a message's trace-context headers, written with it only while
-- OpenTelemetry is on, read with claimed messages then; dropped by housekeeping once it is gone
CREATE TABLE sluice_headers (
    message_id INTEGER PRIMARY KEY,
    headers    TEXT NOT NULL
);
