-- Bucket watches: one row per watch (action + bucket + prefix + suffix), shared by every
-- scanner. ``watermark``: the greatest key listed and sent (incremental passes list after it,
-- StartAfter); ``next_full``: when the next full listing is due, taken by compare-and-set so
-- that one scanner of many does it; the last failure (names the bucket and endpoint, never a
-- secret) for /healthz and /metrics.
CREATE TABLE sluice_bucket_scans (
    watch         TEXT    PRIMARY KEY,
    watermark     TEXT    NOT NULL DEFAULT '',
    next_full     REAL    NOT NULL DEFAULT 0,
    sent          INTEGER NOT NULL DEFAULT 0,
    failures      INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    failing_since REAL,
    passed_at     REAL
) WITHOUT ROWID;
