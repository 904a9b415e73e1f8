-- Operator controls. A live limit override sits beside the declared limits, so a worker start
-- that re-declares them leaves it alone; claims use coalesce(override, declared).
ALTER TABLE sluice_limits ADD COLUMN override_concurrency integer;
ALTER TABLE sluice_limits ADD COLUMN override_rate double precision;
ALTER TABLE sluice_limits ADD COLUMN override_burst double precision;
-- A paused schedule fires no tick; resuming restarts it from its next tick after the resume.
ALTER TABLE sluice_schedules ADD COLUMN paused integer NOT NULL DEFAULT 0;

-- Paused queues and disabled rules (kind 'queue' or 'rule'): a row means stopped.
CREATE TABLE sluice_stopped (
    kind text NOT NULL,
    name text NOT NULL,
    at   double precision NOT NULL,
    PRIMARY KEY (kind, name)
);

-- Names the store has seen declared (kind 'action' or 'rule'), so the CLI can refuse a typo.
CREATE TABLE sluice_declared (
    kind text NOT NULL,
    name text NOT NULL,
    PRIMARY KEY (kind, name)
);

-- Every operator action: who (a token's name, or 'local'), what, on what, old and new value.
CREATE TABLE sluice_audit (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     double precision NOT NULL,
    who    text NOT NULL,
    what   text NOT NULL,
    target text NOT NULL,
    old    text NOT NULL,  -- JSON
    new    text NOT NULL   -- JSON
);
CREATE INDEX sluice_audit_at ON sluice_audit (at);
