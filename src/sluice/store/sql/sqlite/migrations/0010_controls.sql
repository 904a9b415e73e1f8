-- Operator controls. A live limit override sits beside the declared limits, so a worker start
-- that re-declares them leaves it alone; claims use coalesce(override, declared).
ALTER TABLE sluice_limits ADD COLUMN override_concurrency INTEGER;
ALTER TABLE sluice_limits ADD COLUMN override_rate REAL;
ALTER TABLE sluice_limits ADD COLUMN override_burst REAL;
-- A paused schedule fires no tick; resuming restarts it from its next tick after the resume.
ALTER TABLE sluice_schedules ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;

-- Paused queues and disabled rules (kind 'queue' or 'rule'): a row means stopped.
CREATE TABLE sluice_stopped (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    at   REAL NOT NULL,
    PRIMARY KEY (kind, name)
) WITHOUT ROWID;

-- Names the store has seen declared (kind 'action' or 'rule'), so the CLI can refuse a typo.
CREATE TABLE sluice_declared (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (kind, name)
) WITHOUT ROWID;

-- Every operator action: who (a token's name, or 'local'), what, on what, old and new value.
CREATE TABLE sluice_audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     REAL NOT NULL,
    who    TEXT NOT NULL,
    what   TEXT NOT NULL,
    target TEXT NOT NULL,
    old    TEXT NOT NULL,  -- JSON
    new    TEXT NOT NULL   -- JSON
);
CREATE INDEX sluice_audit_at ON sluice_audit (at);
