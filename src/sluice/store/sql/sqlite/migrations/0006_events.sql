-- The event bus: published events (the archive) and which rule routed which event to which
-- message, so a replay skips work already routed.
CREATE TABLE sluice_events (
    id           TEXT PRIMARY KEY,
    source       TEXT NOT NULL,
    detail_type  TEXT NOT NULL,
    at           REAL NOT NULL,   -- the event's time
    envelope     TEXT NOT NULL,   -- JSON: the whole EventBridge-shaped event
    published_at REAL NOT NULL
);
CREATE INDEX sluice_events_at ON sluice_events (at, id);
CREATE INDEX sluice_events_published ON sluice_events (published_at);

CREATE TABLE sluice_event_routes (
    event_id   TEXT NOT NULL,
    rule       TEXT NOT NULL,
    message_id INTEGER,
    routed_at  REAL NOT NULL,
    PRIMARY KEY (event_id, rule)
) WITHOUT ROWID;
