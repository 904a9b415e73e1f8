-- The event bus: published events (the archive) and which rule routed which event to which
-- message, so a replay skips work already routed.
CREATE TABLE sluice_events (
    id           text PRIMARY KEY,
    source       text NOT NULL,
    detail_type  text NOT NULL,
    at           double precision NOT NULL,   -- the event's time
    envelope     text NOT NULL,               -- JSON: the whole EventBridge-shaped event
    published_at double precision NOT NULL
);
CREATE INDEX sluice_events_at ON sluice_events (at, id);
CREATE INDEX sluice_events_published ON sluice_events (published_at);

CREATE TABLE sluice_event_routes (
    event_id   text NOT NULL,
    rule       text NOT NULL,
    message_id bigint,
    routed_at  double precision NOT NULL,
    PRIMARY KEY (event_id, rule)
);
