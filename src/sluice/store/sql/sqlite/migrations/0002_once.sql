-- The once-ledger: effect keys recorded in the ack transaction of the delivery that made them.
CREATE TABLE sluice_once (
    key        TEXT    PRIMARY KEY,
    message_id INTEGER NOT NULL,
    at         REAL    NOT NULL
) WITHOUT ROWID;
