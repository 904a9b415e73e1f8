-- Bucket watches: one row per watch (action + bucket + prefix + suffix), shared by every
-- scanner. ``watermark``: the greatest key listed and sent (incremental passes list after it,
-- StartAfter; compared COLLATE "C", the byte order S3 lists in); ``next_full``: when the next
-- full listing is due, taken by compare-and-set so that one scanner of many does it; the last
-- failure (names the bucket and endpoint, never a secret) for /healthz and /metrics.
CREATE TABLE sluice_bucket_scans (
    watch         text    PRIMARY KEY,
    watermark     text    COLLATE "C" NOT NULL DEFAULT '',
    next_full     double precision NOT NULL DEFAULT 0,
    sent          bigint  NOT NULL DEFAULT 0,
    failures      integer NOT NULL DEFAULT 0,
    error         text,
    failing_since double precision,
    passed_at     double precision
);
