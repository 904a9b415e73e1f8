-- What the SQS API keeps of a queue beyond its policy: the attributes as given (JSON object of
-- strings: DelaySeconds, ReceiveMessageWaitTimeSeconds, ContentBasedDeduplication, Policy, ...),
-- its tags (JSON object) and when it was created.
CREATE TABLE sluice_sqs_queues (
    name       TEXT NOT NULL PRIMARY KEY,
    attributes TEXT NOT NULL,
    tags       TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);

-- Where a queue's dead letters go (SQS RedrivePolicy's deadLetterTargetArn): NULL is the
-- queue's own NAME.dlq.
ALTER TABLE sluice_queues ADD COLUMN dead_letter_target TEXT;

-- The SQS message attributes of a message sent through the SQS API (JSON object as sent) and
-- their MD5; deleted with the message by the SQS API, or by housekeeping once it is gone.
CREATE TABLE sluice_sqs_attributes (
    message_id INTEGER NOT NULL PRIMARY KEY,
    attributes TEXT   NOT NULL,
    md5        TEXT   NOT NULL
);

-- SQS message move tasks (StartMessageMoveTask): from a dead-letter queue to a destination
-- (NULL: each message's source queue), at most `rate` messages a second (NULL: at once).
CREATE TABLE sluice_sqs_move_tasks (
    handle     TEXT    NOT NULL PRIMARY KEY,
    source     TEXT    NOT NULL,
    destination TEXT,
    rate       INTEGER,
    status     TEXT    NOT NULL,
    moved      INTEGER NOT NULL,
    to_move    INTEGER NOT NULL,
    started_at REAL NOT NULL
);
