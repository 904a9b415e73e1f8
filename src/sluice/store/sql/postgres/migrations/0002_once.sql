-- The once-ledger: effect keys recorded in the ack transaction of the delivery that made them.
CREATE TABLE sluice_once (
    key        text   PRIMARY KEY,
    message_id bigint NOT NULL,
    at         double precision NOT NULL
);
