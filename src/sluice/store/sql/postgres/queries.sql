-- Named queries of the PostgreSQL backend. Lists are passed as arrays and read with unnest; a
-- list of pairs p arrives as two arrays p_0 and p_1; a batched write gets one array per column.
-- Claims lock candidate rows FOR UPDATE SKIP LOCKED so concurrent claimers never wait on or
-- take each other's messages.

-- name: schema_lock
SELECT pg_advisory_xact_lock(7418500001)

-- name: schema_create
CREATE TABLE IF NOT EXISTS sluice_schema (version integer NOT NULL)

-- name: schema_version
SELECT version FROM sluice_schema

-- name: schema_init
INSERT INTO sluice_schema (version) VALUES (0)

-- name: schema_set
UPDATE sluice_schema SET version = %s

-- name: put_queue
-- the last two parameters (both the same flag): keep a dead-letter target already set (by the
-- SQS API's RedrivePolicy), with its max receives, when the new policy names none
INSERT INTO sluice_queues
    (name, visibility_timeout, max_receives, fifo, dedup_window, retention, max_message_bytes,
     dead_letter_target, keep_completed)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (name) DO UPDATE SET
    visibility_timeout = excluded.visibility_timeout,
    max_receives = CASE WHEN %s::boolean AND excluded.dead_letter_target IS NULL
                             AND sluice_queues.dead_letter_target IS NOT NULL
                        THEN sluice_queues.max_receives ELSE excluded.max_receives END,
    fifo = excluded.fifo,
    dedup_window = excluded.dedup_window,
    retention = excluded.retention,
    max_message_bytes = excluded.max_message_bytes,
    dead_letter_target = CASE WHEN %s::boolean THEN coalesce(excluded.dead_letter_target,
        sluice_queues.dead_letter_target) ELSE excluded.dead_letter_target END,
    keep_completed = excluded.keep_completed

-- name: queues
SELECT name, visibility_timeout, max_receives, fifo, dedup_window, retention, max_message_bytes,
       dead_letter_target, keep_completed
FROM sluice_queues ORDER BY name

-- name: put_limit
INSERT INTO sluice_limits (action, concurrency, rate, burst, tokens, refilled_at)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (action) DO UPDATE SET
    concurrency = excluded.concurrency,
    rate = excluded.rate,
    burst = excluded.burst,
    tokens = least(coalesce(sluice_limits.tokens, excluded.tokens), excluded.tokens)

-- name: delete_limit
-- A live override keeps the row (and stays in force) when the code drops its limits.
DELETE FROM sluice_limits
WHERE action = %s AND override_concurrency IS NULL AND override_rate IS NULL

-- name: clear_limit
UPDATE sluice_limits SET concurrency = NULL, rate = NULL, burst = NULL WHERE action = %s

-- name: limits
SELECT action, coalesce(override_concurrency, concurrency),
    CASE WHEN override_rate IS NULL THEN rate ELSE override_rate END,
    CASE WHEN override_rate IS NULL THEN burst ELSE override_burst END,
    tokens, refilled_at, effective
FROM sluice_limits
ORDER BY action

-- name: any_limit
SELECT 1 FROM sluice_limits LIMIT 1

-- name: limits_locked
SELECT action, coalesce(override_concurrency, concurrency),
    CASE WHEN override_rate IS NULL THEN rate ELSE override_rate END,
    CASE WHEN override_rate IS NULL THEN burst ELSE override_burst END,
    tokens, refilled_at, effective
FROM sluice_limits
ORDER BY action FOR UPDATE

-- name: in_flight_by_action
SELECT action, count(*) FROM sluice_messages
WHERE queue IN (SELECT name FROM sluice_queues) AND visible_at > %s
  AND lease IS NOT NULL AND action = ANY(%s)
GROUP BY action

-- name: save_tokens
UPDATE sluice_limits AS l
SET tokens = t.tokens, refilled_at = greatest(l.refilled_at, %(now)s)
FROM unnest(%(action)s::text[], %(tokens)s::float8[]) AS t(action, tokens)
WHERE l.action = t.action

-- name: reserve_ids
-- one array value: cheaper to fetch than a row per id
SELECT array_agg(nextval('sluice_message_ids')) FROM generate_series(1, %s)

-- name: dedup_lookup
SELECT d.queue, d.dedup_id, d.message_id FROM sluice_dedup AS d
JOIN unnest(%(keys_0)s::text[], %(keys_1)s::text[]) AS k(queue, dedup_id)
  ON d.queue = k.queue AND d.dedup_id = k.dedup_id
WHERE d.expires_at > %(now)s

-- name: dedup_claim
INSERT INTO sluice_dedup (queue, dedup_id, message_id, expires_at)
SELECT * FROM unnest(%(queues)s::text[], %(dedup_ids)s::text[], %(ids)s::bigint[],
                     %(expires)s::float8[])
ON CONFLICT (queue, dedup_id) DO UPDATE SET
    message_id = excluded.message_id, expires_at = excluded.expires_at
WHERE sluice_dedup.expires_at <= %(now)s
RETURNING queue, dedup_id

-- name: insert_plain
-- A few plain messages (no dedup id, run, FIFO group or headers) in one autocommit statement:
-- their ids (in input order), the rows and the wake-up, one round trip in all.
WITH new AS MATERIALIZED (
    SELECT nextval('sluice_message_ids') AS id, u.*
    FROM unnest(%(queues)s::text[], %(actions)s::text[], %(bodies)s::text[],
                %(enqueued)s::float8[], %(visible)s::float8[], %(priorities)s::int2[])
         WITH ORDINALITY AS u(queue, action, body, enqueued_at, visible_at, priority, ord)
), stored AS (
    INSERT INTO sluice_messages (id, queue, action, body, enqueued_at, visible_at, priority)
    SELECT id, queue, action, body, enqueued_at, visible_at, priority FROM new
)
SELECT new.id FROM new
CROSS JOIN (SELECT count(pg_notify('sluice_work', q)) FROM (SELECT DISTINCT queue AS q FROM new)
            AS queues) AS woken
ORDER BY new.ord

-- name: copy_messages
COPY sluice_messages (id, queue, action, body, group_id, dedup_id, run_id, enqueued_at,
                      visible_at, run_stage, priority) FROM STDIN

-- name: groups_shared_lock
SELECT pg_advisory_xact_lock_shared(7418500002)

-- name: groups_exclusive_lock
SELECT pg_advisory_xact_lock(7418500002)

-- name: groups_fill
INSERT INTO sluice_groups (queue, group_id)
SELECT DISTINCT queue, group_id FROM sluice_messages
WHERE queue = %(queue)s AND group_id IS NOT NULL
ON CONFLICT DO NOTHING

-- name: insert_group
INSERT INTO sluice_groups (queue, group_id)
SELECT * FROM unnest(%(queue)s::text[], %(group_id)s::text[])
ON CONFLICT DO NOTHING

-- name: notify
SELECT pg_notify('sluice_work', q) FROM unnest(%s::text[]) AS q

-- name: claim_next
WITH picked AS (
    SELECT id FROM sluice_messages
    WHERE queue = %(queue)s AND visible_at <= %(now)s AND receive_count < %(max_receives)s
      AND action NOT IN (SELECT action FROM sluice_limits)
    ORDER BY priority, visible_at
    LIMIT %(n)s
    FOR UPDATE SKIP LOCKED)
UPDATE sluice_messages AS m
SET receive_count = m.receive_count + 1,
    lease = %(token)s,
    visible_at = %(until)s,
    attempts = CASE WHEN m.lease IS NULL THEN m.attempts ELSE (
        CASE WHEN jsonb_array_length(coalesce(m.attempts, '[]')) >= %(kept)s
             THEN m.attempts - 0 ELSE coalesce(m.attempts, '[]') END
        || jsonb_build_array(jsonb_build_object(
            'at', %(now)s::float8, 'receive', m.receive_count, 'error', 'lease expired')))
    END
FROM picked
WHERE m.id = picked.id
RETURNING m.id, m.queue, m.action, m.body, m.group_id, m.dedup_id, m.run_id, m.receive_count,
          m.enqueued_at, m.visible_at, m.lease, m.last_error, m.attempts, m.dead_reason,
          m.source_queue

-- name: claim_candidates
-- Looks at the first %(scan)s visible messages only (see the SQLite query); claims of limited
-- actions are serialized by the lock on sluice_limits, so they do not compete for these rows.
SELECT m.id, m.action FROM sluice_messages AS m
WHERE m.id = ANY(ARRAY(
    SELECT s.id FROM (
        SELECT id, action, priority, visible_at FROM sluice_messages
        WHERE queue = %(queue)s AND visible_at <= %(now)s AND receive_count < %(max_receives)s
        ORDER BY priority, visible_at
        LIMIT %(scan)s) AS s
    WHERE s.action <> ALL(%(blocked)s::text[])
    ORDER BY s.priority, s.visible_at
    LIMIT %(n)s))
  AND m.queue = %(queue)s AND m.visible_at <= %(now)s
ORDER BY m.priority, m.visible_at
FOR UPDATE SKIP LOCKED

-- name: claim_candidates_fifo
SELECT m.id, m.action, m.group_id
FROM sluice_groups AS g
CROSS JOIN LATERAL (
    SELECT h.id FROM sluice_messages AS h
    WHERE h.queue = g.queue AND h.group_id = g.group_id
    ORDER BY h.id LIMIT 1) AS head
JOIN sluice_messages AS m ON m.id = head.id
WHERE g.queue = %(queue)s AND m.visible_at <= %(now)s AND m.receive_count < %(max_receives)s
  AND m.action <> ALL(%(blocked)s::text[])
-- groups' heads by priority: inside a group the order stays the id order, whatever the priority
ORDER BY m.priority, m.id
LIMIT %(n)s
FOR UPDATE OF m SKIP LOCKED

-- name: claim_followers_fifo
-- the first per_group messages of each group (heads included, locked by this claim already),
-- whether each could be delivered and whether it is in flight
SELECT f.id, f.action, f.group_id, f.ready, f.held
FROM unnest(%(groups)s::text[]) AS g(group_id)
CROSS JOIN LATERAL (
    SELECT h.id, h.action, h.group_id,
           h.visible_at <= %(now)s AND h.receive_count < %(max_receives)s AS ready,
           h.lease IS NOT NULL AND h.visible_at > %(now)s AS held
    FROM sluice_messages AS h
    WHERE h.queue = %(queue)s AND h.group_id = g.group_id
    ORDER BY h.id LIMIT %(per_group)s
    FOR UPDATE SKIP LOCKED) AS f
ORDER BY f.group_id, f.id

-- name: claim_ids
UPDATE sluice_messages AS m
SET receive_count = m.receive_count + 1,
    lease = %(token)s,
    visible_at = %(until)s,
    attempts = CASE WHEN m.lease IS NULL THEN m.attempts ELSE (
        CASE WHEN jsonb_array_length(coalesce(m.attempts, '[]')) >= %(kept)s
             THEN m.attempts - 0 ELSE coalesce(m.attempts, '[]') END
        || jsonb_build_array(jsonb_build_object(
            'at', %(now)s::float8, 'receive', m.receive_count, 'error', 'lease expired')))
    END
WHERE m.id = ANY(%(ids)s::bigint[])
RETURNING m.id, m.queue, m.action, m.body, m.group_id, m.dedup_id, m.run_id, m.receive_count,
          m.enqueued_at, m.visible_at, m.lease, m.last_error, m.attempts, m.dead_reason,
          m.source_queue

-- name: part_exhausted
-- out of receives among the first %(scan)s visible messages only: a claim must not walk a
-- long backlog
id IN (SELECT id FROM sluice_messages
       WHERE queue = %(queue)s AND visible_at <= %(now)s
       ORDER BY priority, visible_at LIMIT %(scan)s)
AND receive_count >= %(max_receives)s

-- name: exhausted_any
-- whether dead_letter_exhausted would find a message: one read, before its transaction
SELECT EXISTS (SELECT 1 FROM sluice_messages WHERE {{part_exhausted}})

-- name: dead_letter_exhausted
WITH picked AS (
    SELECT id FROM sluice_messages WHERE {{part_exhausted}}
    FOR UPDATE SKIP LOCKED)
UPDATE sluice_messages AS m
SET queue = coalesce((SELECT q.dead_letter_target FROM sluice_queues AS q
                  WHERE q.name = m.queue), m.queue || '.dlq'),
    source_queue = m.queue, dead_reason = 'max_receives',
    last_error = 'lease expired after ' || m.receive_count || ' receives',
    attempts = CASE WHEN jsonb_array_length(coalesce(m.attempts, '[]')) >= %(kept)s
                    THEN m.attempts - 0 ELSE coalesce(m.attempts, '[]') END
        || jsonb_build_array(jsonb_build_object(
            'at', %(now)s::float8, 'receive', m.receive_count, 'error', 'lease expired')),
    lease = NULL, visible_at = %(now)s
FROM picked
WHERE m.id = picked.id
RETURNING m.run_id, m.run_stage

-- name: dead_letter
UPDATE sluice_messages AS m
SET queue = coalesce((SELECT q.dead_letter_target FROM sluice_queues AS q
                  WHERE q.name = m.queue), m.queue || '.dlq'),
    source_queue = m.queue, dead_reason = d.reason,
    last_error = d.error, attempts = d.attempts, lease = NULL, visible_at = %(now)s
FROM unnest(%(id)s::bigint[], %(reason)s::text[], %(error)s::text[],
            %(attempts)s::jsonb[]) AS d(id, reason, error, attempts)
WHERE m.id = d.id

-- name: ack_fenced
DELETE FROM sluice_messages AS m
USING unnest(%(receipts_0)s::bigint[], %(receipts_1)s::text[]) AS r(id, lease)
WHERE m.id = r.id AND m.lease = r.lease
RETURNING m.id, m.run_id, m.run_stage

-- name: ack_fenced_plain
-- the autocommit fast path: messages of runs are left for a transaction that counts them
DELETE FROM sluice_messages AS m
USING unnest(%(receipts_0)s::bigint[], %(receipts_1)s::text[]) AS r(id, lease)
WHERE m.id = r.id AND m.lease = r.lease AND m.run_id IS NULL
RETURNING m.id

-- name: outcome_rows
SELECT id, lease, receive_count, queue, attempts, run_id, run_stage FROM sluice_messages
WHERE id = ANY(%s::bigint[])
FOR UPDATE

-- name: retry
UPDATE sluice_messages AS m
SET lease = NULL, visible_at = r.at, last_error = r.error, attempts = r.attempts
FROM unnest(%(id)s::bigint[], %(visible_at)s::float8[], %(error)s::text[],
            %(attempts)s::jsonb[]) AS r(id, at, error, attempts)
WHERE m.id = r.id

-- name: extend
UPDATE sluice_messages AS m SET visible_at = %(visible_at)s
FROM unnest(%(receipts_0)s::bigint[], %(receipts_1)s::text[]) AS r(id, lease)
WHERE m.id = r.id AND m.lease = r.lease
RETURNING m.id

-- name: release
UPDATE sluice_messages AS m
SET lease = NULL, visible_at = %(visible_at)s, receive_count = greatest(m.receive_count - 1, 0)
FROM unnest(%(receipts_0)s::bigint[], %(receipts_1)s::text[]) AS r(id, lease)
WHERE m.id = r.id AND m.lease = r.lease
RETURNING m.id, m.queue

-- name: has_visible
SELECT 1 FROM sluice_messages WHERE queue = ANY(%s::text[]) AND visible_at <= %s LIMIT 1

-- name: server_time
SELECT extract(epoch FROM clock_timestamp())::float8

-- name: listen
LISTEN sluice_work

-- name: stats
SELECT queue,
       count(*) FILTER (WHERE visible_at <= %(now)s),
       count(*) FILTER (WHERE lease IS NOT NULL AND visible_at > %(now)s),
       count(*) FILTER (WHERE lease IS NULL AND visible_at > %(now)s),
       min(enqueued_at) FILTER (WHERE visible_at <= %(now)s)
FROM sluice_messages
WHERE queue = ANY(%(queues)s::text[])
GROUP BY queue

-- name: get
SELECT id, queue, action, body, group_id, dedup_id, run_id, receive_count, enqueued_at,
       visible_at, lease, last_error, attempts, dead_reason, source_queue
FROM sluice_messages WHERE id = ANY(%s::bigint[]) ORDER BY id

-- name: peek
SELECT id, queue, action, body, group_id, dedup_id, run_id, receive_count, enqueued_at,
       visible_at, lease, last_error, attempts, dead_reason, source_queue
FROM sluice_messages WHERE queue = %s AND id > %s ORDER BY id LIMIT %s

-- name: redrive_candidates
-- the dead letters chosen by id and/or by a case-sensitive substring of their last error, the
-- first %(n)s by id (NULL: all); without a %(dest)s only those that know their source queue
SELECT id, coalesce(%(dest)s::text, source_queue), group_id, run_id, run_stage
FROM sluice_messages
WHERE queue = %(dlq)s
  AND (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s::bigint[]))
  AND (%(contains)s::text IS NULL OR strpos(last_error, %(contains)s::text) > 0)
  AND (%(dest)s::text IS NOT NULL OR source_queue IS NOT NULL)
ORDER BY id LIMIT %(n)s::bigint
FOR UPDATE

-- name: redrive
UPDATE sluice_messages
SET queue = coalesce(%(dest)s::text, source_queue), source_queue = NULL, dead_reason = NULL,
    receive_count = 0, lease = NULL, visible_at = %(now)s, enqueued_at = %(now)s
WHERE id = ANY(%(ids)s::bigint[]) AND queue = %(dlq)s

-- name: purge
DELETE FROM sluice_messages WHERE queue = %s

-- name: expire_candidates
SELECT id, attempts, receive_count, run_id, run_stage FROM sluice_messages
WHERE queue = %s AND enqueued_at < %s AND NOT (lease IS NOT NULL AND visible_at > %s)
FOR UPDATE SKIP LOCKED

-- name: dedup_gc
DELETE FROM sluice_dedup WHERE expires_at <= %s

-- name: groups_gc
DELETE FROM sluice_groups AS g
WHERE NOT EXISTS (
    SELECT 1 FROM sluice_messages AS m WHERE m.queue = g.queue AND m.group_id = g.group_id)

-- name: once_record
INSERT INTO sluice_once (key, message_id, at)
SELECT * FROM unnest(%(key)s::text[], %(message_id)s::bigint[], %(at)s::float8[])
ON CONFLICT (key) DO NOTHING

-- name: once_seen
SELECT key FROM sluice_once WHERE key = ANY(%s::text[])

-- name: adapt_read
SELECT action, coalesce(override_concurrency, concurrency), effective FROM sluice_limits
WHERE coalesce(override_concurrency, concurrency) IS NOT NULL FOR UPDATE

-- name: adapt_write
UPDATE sluice_limits AS l SET effective = t.effective
FROM unnest(%(action)s::text[], %(effective)s::float8[]) AS t(action, effective)
WHERE l.action = t.action

-- name: dead_tuples
SELECT n_dead_tup, n_live_tup FROM pg_stat_user_tables WHERE relname = 'sluice_messages'

-- name: vacuum
VACUUM (ANALYZE) sluice_messages

-- name: run_insert
INSERT INTO sluice_runs (id, name, status, stage, stages, on_complete, meta, started_at)
VALUES (%(run)s, %(name)s, %(status)s, 0, %(stages)s, %(on_complete)s, %(meta)s, %(now)s)
ON CONFLICT (id) DO NOTHING
RETURNING id

-- name: run_stage_insert
INSERT INTO sluice_run_stages (run_id, stage, sealed, started_at)
VALUES (%(run)s, %(stage)s, %(sealed)s, %(now)s)

-- name: run_get
SELECT id, name, status, stage, stages, on_complete, meta, checkpoint, started_at, finished_at
FROM sluice_runs WHERE id = %(run)s

-- name: run_lock
SELECT id, name, status, stage, stages, on_complete, meta, checkpoint, started_at, finished_at
FROM sluice_runs WHERE id = %(run)s FOR UPDATE

-- name: run_stage_rows
SELECT stage, total, succeeded, failed, dead, sealed, fired, started_at, finished_at, units
FROM sluice_run_stages WHERE run_id = %(run)s ORDER BY stage

-- name: run_current_stage
SELECT stage FROM sluice_runs WHERE id = %(run)s

-- name: runs_list
SELECT id FROM sluice_runs ORDER BY started_at DESC, id DESC LIMIT %(n)s

-- name: run_count
UPDATE sluice_run_stages
SET total = total + %(total)s, succeeded = succeeded + %(succeeded)s,
    failed = failed + %(failed)s, dead = dead + %(dead)s, units = units + %(units)s,
    started_at = coalesce(started_at, %(now)s)
WHERE run_id = %(run)s AND stage = %(stage)s
RETURNING total, succeeded, dead, sealed, fired

-- name: run_seal
UPDATE sluice_run_stages SET sealed = true WHERE run_id = %(run)s AND stage = 0
RETURNING total, succeeded, dead, sealed, fired

-- name: run_fire
UPDATE sluice_run_stages SET fired = true, finished_at = %(now)s
WHERE run_id = %(run)s AND stage = %(stage)s AND NOT fired

-- name: run_update
UPDATE sluice_runs SET status = %(status)s, stage = %(stage)s, finished_at = %(finished)s
WHERE id = %(run)s

-- name: run_reopen
UPDATE sluice_runs SET status = 'running', finished_at = NULL
WHERE id = %(run)s AND status IN ('succeeded', 'failed')

-- name: run_checkpoint
UPDATE sluice_runs SET checkpoint = %(checkpoint)s WHERE id = %(run)s RETURNING id

-- name: run_cancel_messages
UPDATE sluice_messages
SET queue = queue || '.dlq', source_queue = queue, dead_reason = 'cancelled',
    last_error = 'run cancelled', lease = NULL, visible_at = %(now)s
WHERE run_id = %(run)s AND right(queue, 4) <> '.dlq'
RETURNING run_stage

-- name: run_stages_close
UPDATE sluice_run_stages SET fired = true, finished_at = coalesce(finished_at, %(now)s)
WHERE run_id = %(run)s

-- name: purge_counted
WITH gone AS (DELETE FROM sluice_messages WHERE queue = %s RETURNING run_id, run_stage)
SELECT run_id, run_stage, count(*) FROM gone GROUP BY run_id, run_stage

-- name: backlog
SELECT count(*) FROM (
    SELECT 1 FROM sluice_messages WHERE queue = %(queue)s AND visible_at <= %(now)s
    LIMIT %(cap)s) AS visible

-- name: put_schedule
-- A changed expression or time zone restarts from the given next_at; otherwise the stored one
-- stands, so redeclaring a schedule (every process does at start) neither skips nor repeats.
INSERT INTO sluice_schedules
    (name, cron, action, queue, body, timezone, misfire, catch_up_limit, next_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (name) DO UPDATE SET
    action = excluded.action,
    queue = excluded.queue,
    body = excluded.body,
    misfire = excluded.misfire,
    catch_up_limit = excluded.catch_up_limit,
    next_at = CASE
        WHEN sluice_schedules.cron = excluded.cron
         AND sluice_schedules.timezone = excluded.timezone THEN sluice_schedules.next_at
        ELSE excluded.next_at END,
    cron = excluded.cron,
    timezone = excluded.timezone

-- name: schedules
SELECT name, cron, action, queue, body, timezone, misfire, catch_up_limit, next_at, last_tick
FROM sluice_schedules ORDER BY name

-- name: schedules_due
SELECT name, cron, action, queue, body, timezone, misfire, catch_up_limit, next_at, last_tick
FROM sluice_schedules WHERE next_at <= %s AND paused = 0 ORDER BY name

-- name: schedule_advance
UPDATE sluice_schedules SET next_at = %s, last_tick = coalesce(%s, last_tick)
WHERE name = %s AND next_at = %s

-- name: delete_schedule
DELETE FROM sluice_schedules WHERE name = %s

-- name: event_insert
INSERT INTO sluice_events (id, source, detail_type, at, envelope, published_at)
VALUES (%(id)s, %(source)s, %(detail_type)s, %(at)s, %(envelope)s, %(now)s)
ON CONFLICT (id) DO NOTHING
RETURNING id

-- name: route_claim
INSERT INTO sluice_event_routes (event_id, rule, message_id, routed_at)
VALUES (%(event)s, %(rule)s, NULL, %(now)s)
ON CONFLICT (event_id, rule) DO NOTHING
RETURNING event_id

-- name: route_force
INSERT INTO sluice_event_routes (event_id, rule, message_id, routed_at)
VALUES (%(event)s, %(rule)s, NULL, %(now)s)
ON CONFLICT (event_id, rule) DO UPDATE SET routed_at = excluded.routed_at
RETURNING event_id

-- name: route_set
UPDATE sluice_event_routes SET message_id = %(message)s
WHERE event_id = %(event)s AND rule = %(rule)s

-- name: events_between
SELECT id, at, envelope, published_at FROM sluice_events
WHERE at >= %(since)s AND at < %(until)s
  AND (at > %(after_at)s OR (at = %(after_at)s AND id > %(after_id)s))
ORDER BY at, id
LIMIT %(n)s

-- name: events_forget
DELETE FROM sluice_events WHERE published_at < %(before)s RETURNING 1

-- name: routes_forget
DELETE FROM sluice_event_routes WHERE routed_at < %(before)s

-- name: alarm_states
SELECT name, firing FROM sluice_alarms

-- name: alarm_init
INSERT INTO sluice_alarms (name, firing, changed_at) VALUES (%(name)s, false, %(now)s)
ON CONFLICT (name) DO NOTHING

-- name: alarm_set
UPDATE sluice_alarms SET firing = %(firing)s, changed_at = %(now)s
WHERE name = %(name)s AND firing <> %(firing)s
RETURNING name

-- name: action_stats_put
INSERT INTO sluice_action_stats
    (action, worker, processed, failed, dead, duration_sum, buckets, updated_at)
VALUES (%(action)s, %(worker)s, %(processed)s, %(failed)s, %(dead)s, %(duration_sum)s,
        %(buckets)s, %(now)s)
ON CONFLICT (action, worker) DO UPDATE SET
    processed = excluded.processed, failed = excluded.failed, dead = excluded.dead,
    duration_sum = excluded.duration_sum, buckets = excluded.buckets,
    updated_at = excluded.updated_at

-- name: action_stats_all
SELECT action, processed, failed, dead, duration_sum, buckets FROM sluice_action_stats

-- name: sqs_queue_put
INSERT INTO sluice_sqs_queues (name, attributes, tags, created_at, updated_at)
VALUES (%(name)s, %(attributes)s, %(tags)s, %(now)s, %(now)s)
ON CONFLICT (name) DO UPDATE SET
    attributes = excluded.attributes, tags = excluded.tags, updated_at = excluded.updated_at

-- name: sqs_queue_get
SELECT name, attributes, tags, created_at, updated_at FROM sluice_sqs_queues
WHERE name = ANY(%(names)s)

-- name: sqs_queue_lock
SELECT name, attributes, tags, created_at, updated_at FROM sluice_sqs_queues
WHERE name = %(name)s FOR UPDATE

-- name: sqs_queue_forget
DELETE FROM sluice_sqs_queues WHERE name = %(name)s

-- name: queue_drop
DELETE FROM sluice_queues WHERE name = %(name)s

-- name: groups_drop
DELETE FROM sluice_groups WHERE queue = %(name)s

-- name: dedup_drop
DELETE FROM sluice_dedup WHERE queue = %(name)s

-- name: sqs_attributes_put
INSERT INTO sluice_sqs_attributes (message_id, attributes, md5)
SELECT * FROM unnest(%(id)s::bigint[], %(attributes)s::text[], %(md5)s::text[])
ON CONFLICT (message_id) DO NOTHING

-- name: sqs_attributes_get
SELECT message_id, attributes, md5 FROM sluice_sqs_attributes WHERE message_id = ANY(%(ids)s)

-- name: sqs_ack_plain
-- ack_fenced_plain of messages received through SQS, with their SQS attributes: one statement
WITH gone AS (
    DELETE FROM sluice_messages AS m
    USING unnest(%(receipts_0)s::bigint[], %(receipts_1)s::text[]) AS r(id, lease)
    WHERE m.id = r.id AND m.lease = r.lease AND m.run_id IS NULL
    RETURNING m.id
), forgot AS (
    DELETE FROM sluice_sqs_attributes WHERE message_id IN (SELECT id FROM gone)
)
SELECT id FROM gone

-- name: sqs_attributes_forget
DELETE FROM sluice_sqs_attributes WHERE message_id = ANY(%(ids)s)

-- name: sqs_attributes_gc
DELETE FROM sluice_sqs_attributes AS a
WHERE NOT EXISTS (SELECT 1 FROM sluice_messages AS m WHERE m.id = a.message_id)

-- name: sqs_move_put
INSERT INTO sluice_sqs_move_tasks
    (handle, source, destination, rate, status, moved, to_move, started_at, next_at)
VALUES (%(handle)s, %(source)s, %(destination)s, %(rate)s, 'RUNNING', 0, %(to_move)s, %(now)s,
        %(now)s)

-- name: sqs_move_list
SELECT handle, source, destination, rate, status, moved, to_move, started_at
FROM sluice_sqs_move_tasks WHERE source = %(source)s
ORDER BY started_at DESC, handle LIMIT %(n)s

-- name: sqs_move_get
SELECT handle, source, destination, rate, status, moved, to_move, started_at
FROM sluice_sqs_move_tasks WHERE handle = %(handle)s

-- name: sqs_move_take
-- the task's step, if it is active and due: the compare-and-set on next_at that makes one
-- process of many take it
UPDATE sluice_sqs_move_tasks SET next_at = %(next_at)s
WHERE handle = %(handle)s AND status IN ('RUNNING', 'CANCELLING') AND next_at <= %(now)s
RETURNING source, destination, rate, status

-- name: sqs_move_due
SELECT status, next_at FROM sluice_sqs_move_tasks WHERE handle = %(handle)s

-- name: sqs_move_active
SELECT handle FROM sluice_sqs_move_tasks WHERE status IN ('RUNNING', 'CANCELLING') ORDER BY handle

-- name: sqs_move_step
UPDATE sluice_sqs_move_tasks
SET moved = moved + %(count)s,
    status = CASE WHEN status = 'CANCELLING' THEN 'CANCELLED' ELSE %(status)s END
WHERE handle = %(handle)s AND status IN ('RUNNING', 'CANCELLING')
RETURNING status

-- name: sqs_move_cancel
UPDATE sluice_sqs_move_tasks SET status = 'CANCELLING'
WHERE handle = %(handle)s AND status = 'RUNNING'
RETURNING moved

-- name: limit_override_set
INSERT INTO sluice_limits
    (action, override_concurrency, override_rate, override_burst, tokens, refilled_at)
VALUES (%(action)s, %(concurrency)s, %(rate)s, %(burst)s, %(burst)s, %(now)s)
ON CONFLICT (action) DO UPDATE SET
    override_concurrency = excluded.override_concurrency,
    override_rate = excluded.override_rate,
    override_burst = excluded.override_burst,
    tokens = CASE WHEN excluded.override_burst IS NULL THEN sluice_limits.tokens
        ELSE least(coalesce(sluice_limits.tokens, excluded.override_burst), excluded.override_burst)
        END

-- name: limit_override_reset
UPDATE sluice_limits
SET override_concurrency = NULL, override_rate = NULL, override_burst = NULL
WHERE action = %(action)s

-- name: limit_drop_empty
DELETE FROM sluice_limits
WHERE action = %(action)s AND concurrency IS NULL AND rate IS NULL
  AND override_concurrency IS NULL AND override_rate IS NULL

-- name: limit_rows
SELECT action, concurrency, rate, override_concurrency, override_rate, override_burst, effective
FROM sluice_limits ORDER BY action

-- name: stopped_all
SELECT kind, name FROM sluice_stopped

-- name: stop
INSERT INTO sluice_stopped (kind, name, at) VALUES (%(kind)s, %(name)s, %(now)s)
ON CONFLICT (kind, name) DO NOTHING

-- name: unstop
DELETE FROM sluice_stopped WHERE kind = %(kind)s AND name = %(name)s

-- name: declare
INSERT INTO sluice_declared (kind, name) VALUES (%(kind)s, %(name)s)
ON CONFLICT (kind, name) DO NOTHING

-- name: declared
SELECT name FROM sluice_declared WHERE kind = %(kind)s ORDER BY name

-- name: schedule_pause
UPDATE sluice_schedules SET paused = 1 WHERE name = %(name)s

-- name: schedule_resume
UPDATE sluice_schedules SET paused = 0, next_at = %(next_at)s WHERE name = %(name)s

-- name: schedules_paused
SELECT name FROM sluice_schedules WHERE paused = 1 ORDER BY name

-- name: audit_add
INSERT INTO sluice_audit (at, who, what, target, old, new)
VALUES (%(now)s, %(who)s, %(what)s, %(target)s, %(old)s, %(new)s)

-- name: audit_list
SELECT id, at, who, what, target, old, new FROM sluice_audit
WHERE id < %(before)s ORDER BY id DESC LIMIT %(n)s

-- name: cancel_message
-- one waiting, delayed or in-flight message (never a dead letter); an in-flight one's receipt
-- dies with the row, so its handler's ack, retry or extend is refused as stale
DELETE FROM sluice_messages WHERE id = %(id)s AND queue NOT LIKE '%%.dlq'
RETURNING queue, lease, visible_at, run_id, run_stage, action, receive_count, enqueued_at

-- name: part_state
-- a message's state as of :now (store/search.py)
CASE
    WHEN queue LIKE '%%.dlq' THEN 'dead'
    WHEN visible_at <= %(now)s THEN 'waiting'
    WHEN lease IS NOT NULL THEN 'in_flight'
    ELSE 'delayed' END

-- name: part_filters
-- the conditions of a search filter besides its queue, ids and state (store/search.py)
(%(dedup_id)s::text IS NULL OR dedup_id = %(dedup_id)s::text)
AND (%(action)s::text IS NULL OR action = %(action)s::text)
AND (%(run_id)s::text IS NULL OR run_id = %(run_id)s::text)
AND (%(contains)s::text IS NULL OR strpos(last_error, %(contains)s::text) > 0)
AND (%(errored)s::boolean IS NULL OR last_error IS NOT NULL)
AND (%(oldest)s::float8 IS NULL OR enqueued_at >= %(oldest)s::float8)
AND (%(newest)s::float8 IS NULL OR enqueued_at <= %(newest)s::float8)

-- name: search_messages
-- one keyset page of every queue's messages by any field (store/search.py): the id order of
-- the table, from the cursor on
SELECT id, queue, action, body, group_id, dedup_id, run_id, receive_count, enqueued_at,
       visible_at, lease, last_error, attempts, dead_reason, source_queue,
       {{part_state}} AS state
FROM sluice_messages
WHERE {{part_matching}}
ORDER BY id LIMIT %(limit)s

-- name: search_ids
-- a keyset page of the messages with these ids (app.status, the ids filter): by primary key
SELECT id, queue, action, body, group_id, dedup_id, run_id, receive_count, enqueued_at,
       visible_at, lease, last_error, attempts, dead_reason, source_queue,
       {{part_state}} AS state
FROM sluice_messages
WHERE id = ANY(%(ids)s::bigint[])
  AND (%(queue)s::text IS NULL OR queue IN (%(queue)s::text, %(dlq)s::text))
  AND {{part_matching}}
ORDER BY id LIMIT %(limit)s

-- name: part_matching
-- a search page's rows after the cursor that match its filter and state
id > %(after)s AND {{part_filters}} AND (%(state)s::text IS NULL OR {{part_state}} = %(state)s::text)

-- name: search_queue
-- a keyset page of one queue's messages (:live) and its dead letters (:dlq; either NULL when
-- the state rules its half out): each half walks sluice_messages_search (queue, id) from the
-- cursor on and stops after a page, so a page costs the same behind a million messages as
-- behind ten
SELECT id, queue, action, body, group_id, dedup_id, run_id, receive_count, enqueued_at,
       visible_at, lease, last_error, attempts, dead_reason, source_queue,
       {{part_state}} AS state
FROM sluice_messages
WHERE id IN (
    SELECT id FROM (SELECT id FROM sluice_messages WHERE queue = %(live)s::text AND {{part_matching}}
                    ORDER BY id LIMIT %(limit)s) AS live
    UNION ALL
    SELECT id FROM (SELECT id FROM sluice_messages WHERE queue = %(dlq)s::text AND {{part_matching}}
                    ORDER BY id LIMIT %(limit)s) AS dead)
ORDER BY id LIMIT %(limit)s

-- name: dead_selected
-- the dead letters of %(dlq)s a search filter selects (store/selection.py), with what a
-- redrive needs; the same conditions as search_messages
SELECT id, source_queue, group_id, run_id, run_stage FROM sluice_messages
WHERE queue = %(dlq)s
  AND (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s::bigint[]))
  AND {{part_filters}}
ORDER BY id
FOR UPDATE

-- name: dead_selected_count
SELECT count(*) FROM sluice_messages
WHERE queue = %(dlq)s
  AND (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s::bigint[]))
  AND {{part_filters}}

-- name: dead_purge
-- the dead letters of a selection, deleted in one statement (the same conditions)
DELETE FROM sluice_messages
WHERE queue = %(dlq)s
  AND (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s::bigint[]))
  AND {{part_filters}}


-- name: rollup_put
-- a minute's sample of a queue or action (store/rollups.py); the minute's first writer wins
INSERT INTO sluice_rollups
    (kind, name, minute, at, depth, in_flight, dead, processed, failed, buckets)
VALUES (%(kind)s, %(name)s, %(minute)s, %(at)s, %(depth)s, %(in_flight)s, %(dead)s,
        %(processed)s, %(failed)s, %(buckets)s)
ON CONFLICT (kind, name, minute) DO NOTHING

-- name: rollup_forget
DELETE FROM sluice_rollups WHERE minute < %(before)s

-- name: rollups_since
SELECT name, at, depth, in_flight, dead, processed, failed, buckets FROM sluice_rollups
WHERE kind = %(kind)s AND minute >= %(after)s ORDER BY name, minute
-- name: ack_fenced_kept
-- ack_fenced on a store with queues that keep completion records: what a record keeps
DELETE FROM sluice_messages AS m
USING unnest(%(receipts_0)s::bigint[], %(receipts_1)s::text[]) AS r(id, lease)
WHERE m.id = r.id AND m.lease = r.lease
RETURNING m.id, m.run_id, m.run_stage, m.queue, m.action, m.receive_count, m.enqueued_at

-- name: completed_record
INSERT INTO sluice_completed
    (message_id, queue, action, status, run_id, receive_count, enqueued_at, finished_at,
     expires_at, result, result_note)
SELECT * FROM unnest(%(message_id)s::bigint[], %(queue)s::text[], %(action)s::text[],
                     %(status)s::text[], %(run_id)s::text[], %(receive_count)s::int[],
                     %(enqueued_at)s::float8[], %(finished_at)s::float8[],
                     %(expires_at)s::float8[], %(result)s::text[], %(result_note)s::text[])
ON CONFLICT (message_id) DO NOTHING

-- name: completed_get
SELECT message_id, queue, action, status, run_id, receive_count, enqueued_at, finished_at,
       expires_at, result, result_note
FROM sluice_completed WHERE message_id = %s

-- name: completed_gc
DELETE FROM sluice_completed WHERE expires_at <= %s

-- name: headers_put
INSERT INTO sluice_headers (message_id, headers)
SELECT * FROM unnest(%(message_id)s::bigint[], %(headers)s::text[])
ON CONFLICT (message_id) DO NOTHING

-- name: headers_get
SELECT message_id, headers FROM sluice_headers WHERE message_id = ANY(%s::bigint[])

-- name: headers_gc
DELETE FROM sluice_headers AS h
WHERE NOT EXISTS (SELECT 1 FROM sluice_messages AS m WHERE m.id = h.message_id)

-- name: ack_fenced_plain_kept
-- ack_fenced_plain in a store with queues that keep completion records: the deletes, the
-- records of those on kept queues and their result waiters' wake-up, in one statement
WITH gone AS (
    DELETE FROM sluice_messages AS m
    USING unnest(%(receipts_0)s::bigint[], %(receipts_1)s::text[]) AS r(id, lease)
    WHERE m.id = r.id AND m.lease = r.lease AND m.run_id IS NULL
    RETURNING m.id, m.queue, m.action, m.receive_count, m.enqueued_at
), recorded AS (
    INSERT INTO sluice_completed
        (message_id, queue, action, status, run_id, receive_count, enqueued_at, finished_at,
         expires_at, result, result_note)
    SELECT g.id, g.queue, g.action, 'succeeded', NULL, g.receive_count, g.enqueued_at,
           %(now)s::float8, %(now)s::float8 + q.keep_completed, v.result, v.note
    FROM gone AS g
    JOIN sluice_queues AS q ON q.name = g.queue AND q.keep_completed IS NOT NULL
    LEFT JOIN unnest(%(ids)s::bigint[], %(results)s::text[], %(notes)s::text[])
        AS v(id, result, note) ON v.id = g.id
    ON CONFLICT (message_id) DO NOTHING
    RETURNING queue
), woken AS (
    SELECT count(pg_notify('sluice_work', 'done:' || k.queue)) AS n
    FROM (SELECT DISTINCT queue FROM recorded) AS k
)
SELECT g.id FROM gone AS g CROSS JOIN woken
-- name: bucket_scan_init
INSERT INTO sluice_bucket_scans (watch) VALUES (%(watch)s) ON CONFLICT (watch) DO NOTHING

-- name: bucket_scan_get
SELECT watch, watermark, next_full, sent, failures, error, failing_since, passed_at
FROM sluice_bucket_scans WHERE watch = %(watch)s

-- name: bucket_scans
SELECT watch, watermark, next_full, sent, failures, error, failing_since, passed_at
FROM sluice_bucket_scans ORDER BY watch

-- name: bucket_full_take
UPDATE sluice_bucket_scans SET next_full = %(next)s
WHERE watch = %(watch)s AND next_full <= %(now)s
RETURNING watch

-- name: bucket_advance
UPDATE sluice_bucket_scans
SET watermark = greatest(watermark, %(watermark)s::text COLLATE "C"),
    sent = sent + %(sent)s
WHERE watch = %(watch)s

-- name: bucket_passed
UPDATE sluice_bucket_scans
SET failures = 0, error = NULL, failing_since = NULL, passed_at = %(now)s
WHERE watch = %(watch)s

-- name: bucket_failed
UPDATE sluice_bucket_scans
SET failures = failures + 1, error = %(error)s,
    failing_since = coalesce(failing_since, %(now)s),
    next_full = CASE WHEN %(full)s THEN 0 ELSE next_full END
WHERE watch = %(watch)s
RETURNING failures
