-- Named queries of the SQLite backend. Lists (and lists of pairs) are passed as JSON arrays and
-- read with json_each; a batched write runs once per row.

-- name: schema_create
CREATE TABLE IF NOT EXISTS sluice_schema (version INTEGER NOT NULL)

-- name: schema_version
SELECT version FROM sluice_schema

-- name: schema_init
INSERT INTO sluice_schema (version) VALUES (0)

-- name: schema_set
UPDATE sluice_schema SET version = ?

-- name: put_queue
-- the last two parameters (both the same flag): keep a dead-letter target already set (by the
-- SQS API's RedrivePolicy), with its max receives, when the new policy names none
INSERT INTO sluice_queues
    (name, visibility_timeout, max_receives, fifo, dedup_window, retention, max_message_bytes,
     dead_letter_target, keep_completed)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET
    visibility_timeout = excluded.visibility_timeout,
    max_receives = CASE WHEN ? AND excluded.dead_letter_target IS NULL
                             AND sluice_queues.dead_letter_target IS NOT NULL
                        THEN sluice_queues.max_receives ELSE excluded.max_receives END,
    fifo = excluded.fifo,
    dedup_window = excluded.dedup_window,
    retention = excluded.retention,
    max_message_bytes = excluded.max_message_bytes,
    dead_letter_target = CASE WHEN ? THEN coalesce(excluded.dead_letter_target,
        sluice_queues.dead_letter_target) ELSE excluded.dead_letter_target END,
    keep_completed = excluded.keep_completed

-- name: queues
SELECT name, visibility_timeout, max_receives, fifo, dedup_window, retention, max_message_bytes,
       dead_letter_target, keep_completed
FROM sluice_queues ORDER BY name

-- name: put_limit
INSERT INTO sluice_limits (action, concurrency, rate, burst, tokens, refilled_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (action) DO UPDATE SET
    concurrency = excluded.concurrency,
    rate = excluded.rate,
    burst = excluded.burst,
    tokens = min(coalesce(sluice_limits.tokens, excluded.tokens), excluded.tokens)

-- name: delete_limit
-- A live override keeps the row (and stays in force) when the code drops its limits.
DELETE FROM sluice_limits
WHERE action = ? AND override_concurrency IS NULL AND override_rate IS NULL

-- name: clear_limit
UPDATE sluice_limits SET concurrency = NULL, rate = NULL, burst = NULL WHERE action = ?

-- name: limits
SELECT action, coalesce(override_concurrency, concurrency),
    CASE WHEN override_rate IS NULL THEN rate ELSE override_rate END,
    CASE WHEN override_rate IS NULL THEN burst ELSE override_burst END,
    tokens, refilled_at, effective
FROM sluice_limits
ORDER BY action

-- name: limits_locked
-- SQLite writes one transaction at a time: reading is locking
SELECT action, coalesce(override_concurrency, concurrency),
    CASE WHEN override_rate IS NULL THEN rate ELSE override_rate END,
    CASE WHEN override_rate IS NULL THEN burst ELSE override_burst END,
    tokens, refilled_at, effective
FROM sluice_limits
ORDER BY action

-- name: any_limit
SELECT 1 FROM sluice_limits LIMIT 1

-- name: in_flight_by_action
SELECT action, count(*) FROM sluice_messages
WHERE queue IN (SELECT name FROM sluice_queues) AND visible_at > ?
  AND lease IS NOT NULL AND action IN (SELECT value FROM json_each(?))
GROUP BY action

-- name: save_tokens
UPDATE sluice_limits SET tokens = :tokens, refilled_at = max(coalesce(refilled_at, 0), :now)
WHERE action = :action

-- name: dedup_lookup
SELECT d.queue, d.dedup_id, d.message_id
FROM json_each(:keys) AS k
CROSS JOIN sluice_dedup AS d
WHERE d.queue = k.value ->> 0 AND d.dedup_id = k.value ->> 1 AND d.expires_at > :now

-- name: dedup_upsert
INSERT INTO sluice_dedup (queue, dedup_id, message_id, expires_at) VALUES (?, ?, ?, ?)
ON CONFLICT (queue, dedup_id) DO UPDATE SET
    message_id = excluded.message_id, expires_at = excluded.expires_at

-- name: insert_message
INSERT INTO sluice_messages
    (queue, action, body, group_id, dedup_id, run_id, enqueued_at, visible_at, run_stage,
     priority)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: last_id
SELECT last_insert_rowid()

-- name: groups_fill
INSERT OR IGNORE INTO sluice_groups (queue, group_id)
SELECT DISTINCT queue, group_id FROM sluice_messages
WHERE queue = :queue AND group_id IS NOT NULL

-- name: insert_group
INSERT OR IGNORE INTO sluice_groups (queue, group_id) VALUES (:queue, :group_id)

-- name: claim_candidates
-- Looks at the first :scan visible messages only: behind a long backlog of an action at its
-- limit, a claim (under the write lock) must not walk the whole queue to find nothing.
SELECT id, action FROM (
    SELECT id, action, priority, visible_at FROM sluice_messages
    WHERE queue = :queue AND visible_at <= :now AND receive_count < :max_receives
    ORDER BY priority, visible_at
    LIMIT :scan)
WHERE action NOT IN (SELECT value FROM json_each(:blocked))
ORDER BY priority, visible_at
LIMIT :n

-- name: claim_candidates_fifo
SELECT m.id, m.action, m.group_id
FROM sluice_groups AS g
JOIN sluice_messages AS m ON m.id = (
    SELECT h.id FROM sluice_messages AS h
    WHERE h.queue = g.queue AND h.group_id = g.group_id
    ORDER BY h.id LIMIT 1)
WHERE g.queue = :queue AND m.visible_at <= :now AND m.receive_count < :max_receives
  AND m.action NOT IN (SELECT value FROM json_each(:blocked))
-- groups' heads by priority: inside a group the order stays the id order, whatever the priority
ORDER BY m.priority, m.id
LIMIT :n

-- name: claim_followers_fifo
-- the first :per_group messages of each group (heads included), whether each could be
-- delivered and whether it is in flight
SELECT m.id, m.action, m.group_id,
       m.visible_at <= :now AND m.receive_count < :max_receives AS ready,
       m.lease IS NOT NULL AND m.visible_at > :now AS held
FROM json_each(:groups) AS g
JOIN sluice_messages AS m ON m.id IN (
    SELECT h.id FROM sluice_messages AS h
    WHERE h.queue = :queue AND h.group_id = g.value
    ORDER BY h.id LIMIT :per_group)
ORDER BY m.group_id, m.id

-- name: claim_ids
UPDATE sluice_messages
SET receive_count = receive_count + 1,
    lease = lower(hex(randomblob(16))),
    visible_at = :until,
    attempts = CASE WHEN lease IS NULL THEN attempts ELSE json_insert(
        CASE WHEN json_array_length(attempts) >= :kept THEN json_remove(attempts, '$[0]')
             ELSE coalesce(attempts, '[]') END,
        '$[#]', json_object('at', :now, 'receive', receive_count, 'error', 'lease expired'))
    END
WHERE id IN (SELECT value FROM json_each(:ids))
RETURNING id, queue, action, body, group_id, dedup_id, run_id, receive_count, enqueued_at,
          visible_at, lease, last_error, attempts, dead_reason, source_queue

-- name: claim_next
UPDATE sluice_messages
SET receive_count = receive_count + 1,
    lease = lower(hex(randomblob(16))),
    visible_at = :until,
    attempts = CASE WHEN lease IS NULL THEN attempts ELSE json_insert(
        CASE WHEN json_array_length(attempts) >= :kept THEN json_remove(attempts, '$[0]')
             ELSE coalesce(attempts, '[]') END,
        '$[#]', json_object('at', :now, 'receive', receive_count, 'error', 'lease expired'))
    END
WHERE id IN (
    SELECT id FROM sluice_messages
    WHERE queue = :queue AND visible_at <= :now AND receive_count < :max_receives
    ORDER BY priority, visible_at
    LIMIT :n)
RETURNING id, queue, action, body, group_id, dedup_id, run_id, receive_count, enqueued_at,
          visible_at, lease, last_error, attempts, dead_reason, source_queue

-- name: part_exhausted
-- out of receives among the first :scan visible messages only: a claim must not walk a long
-- backlog
id IN (SELECT id FROM sluice_messages WHERE queue = :queue AND visible_at <= :now
       ORDER BY priority, visible_at LIMIT :scan)
AND receive_count >= :max_receives

-- name: exhausted_any
-- whether dead_letter_exhausted would find a message: one read, before its transaction
SELECT EXISTS (SELECT 1 FROM sluice_messages WHERE {{part_exhausted}})

-- name: dead_letter_exhausted
UPDATE sluice_messages
SET queue = coalesce((SELECT q.dead_letter_target FROM sluice_queues AS q
                  WHERE q.name = sluice_messages.queue), queue || '.dlq'),
    source_queue = queue, dead_reason = 'max_receives',
    last_error = 'lease expired after ' || receive_count || ' receives',
    attempts = json_insert(
        CASE WHEN json_array_length(attempts) >= :kept THEN json_remove(attempts, '$[0]')
             ELSE coalesce(attempts, '[]') END,
        '$[#]', json_object('at', :now, 'receive', receive_count, 'error', 'lease expired')),
    lease = NULL, visible_at = :now
WHERE {{part_exhausted}}
RETURNING run_id, run_stage

-- name: dead_letter
UPDATE sluice_messages
SET queue = coalesce((SELECT q.dead_letter_target FROM sluice_queues AS q
                  WHERE q.name = sluice_messages.queue), queue || '.dlq'),
    source_queue = queue, dead_reason = :reason, last_error = :error,
    attempts = :attempts, lease = NULL, visible_at = :now
WHERE id = :id

-- name: ack_fenced
DELETE FROM sluice_messages
WHERE (id, lease) IN (SELECT value ->> 0, value ->> 1 FROM json_each(:receipts))
RETURNING id, run_id, run_stage

-- name: ack_fenced_plain
-- the one-statement path: messages of runs are left for a transaction that counts them
DELETE FROM sluice_messages
WHERE (id, lease) IN (SELECT value ->> 0, value ->> 1 FROM json_each(:receipts))
  AND run_id IS NULL
RETURNING id

-- name: outcome_rows
SELECT id, lease, receive_count, queue, attempts, run_id, run_stage FROM sluice_messages
WHERE id IN (SELECT value FROM json_each(?))

-- name: retry
UPDATE sluice_messages
SET lease = NULL, visible_at = :visible_at, last_error = :error, attempts = :attempts
WHERE id = :id

-- name: extend
UPDATE sluice_messages SET visible_at = :visible_at
WHERE (id, lease) IN (SELECT value ->> 0, value ->> 1 FROM json_each(:receipts))
RETURNING id

-- name: release
UPDATE sluice_messages
SET lease = NULL, visible_at = :visible_at, receive_count = max(receive_count - 1, 0)
WHERE (id, lease) IN (SELECT value ->> 0, value ->> 1 FROM json_each(:receipts))
RETURNING id, queue

-- name: has_visible
SELECT 1 FROM sluice_messages
WHERE queue IN (SELECT value FROM json_each(?)) AND visible_at <= ?
LIMIT 1

-- name: stats
SELECT queue,
       coalesce(sum(visible_at <= :now), 0),
       coalesce(sum(lease IS NOT NULL AND visible_at > :now), 0),
       coalesce(sum(lease IS NULL AND visible_at > :now), 0),
       min(CASE WHEN visible_at <= :now THEN enqueued_at END)
FROM sluice_messages
-- the asked queues' rows only (by the ready index), not the whole table
WHERE queue IN (SELECT value FROM json_each(:queues))
GROUP BY queue

-- name: get
SELECT id, queue, action, body, group_id, dedup_id, run_id, receive_count, enqueued_at,
       visible_at, lease, last_error, attempts, dead_reason, source_queue
FROM sluice_messages WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id

-- name: peek
SELECT id, queue, action, body, group_id, dedup_id, run_id, receive_count, enqueued_at,
       visible_at, lease, last_error, attempts, dead_reason, source_queue
FROM sluice_messages WHERE queue = ? AND id > ? ORDER BY id LIMIT ?

-- name: redrive_candidates
-- the dead letters chosen by id and/or by a case-sensitive substring of their last error, the
-- first :n by id (NULL: all); without a :dest only those that know their source queue
SELECT id, coalesce(:dest, source_queue), group_id, run_id, run_stage FROM sluice_messages
WHERE queue = :dlq
  AND (:ids IS NULL OR id IN (SELECT value FROM json_each(:ids)))
  AND (:contains IS NULL OR instr(last_error, :contains) > 0)
  AND (:dest IS NOT NULL OR source_queue IS NOT NULL)
ORDER BY id LIMIT coalesce(:n, -1)

-- name: redrive
UPDATE sluice_messages
SET queue = coalesce(:dest, source_queue), source_queue = NULL, dead_reason = NULL,
    receive_count = 0, lease = NULL, visible_at = :now, enqueued_at = :now
WHERE id IN (SELECT value FROM json_each(:ids)) AND queue = :dlq

-- name: purge
DELETE FROM sluice_messages WHERE queue = ?

-- name: expire_candidates
SELECT id, attempts, receive_count, run_id, run_stage FROM sluice_messages
WHERE queue = ? AND enqueued_at < ? AND NOT (lease IS NOT NULL AND visible_at > ?)

-- name: dedup_gc
DELETE FROM sluice_dedup WHERE expires_at <= ?

-- name: groups_gc
DELETE FROM sluice_groups AS g
WHERE NOT EXISTS (
    SELECT 1 FROM sluice_messages AS m WHERE m.queue = g.queue AND m.group_id = g.group_id)

-- name: once_record
INSERT INTO sluice_once (key, message_id, at) VALUES (:key, :message_id, :at)
ON CONFLICT (key) DO NOTHING

-- name: once_seen
SELECT key FROM sluice_once WHERE key IN (SELECT value FROM json_each(?))

-- name: adapt_read
SELECT action, coalesce(override_concurrency, concurrency), effective FROM sluice_limits
WHERE coalesce(override_concurrency, concurrency) IS NOT NULL

-- name: adapt_write
UPDATE sluice_limits SET effective = :effective WHERE action = :action

-- name: run_insert
INSERT INTO sluice_runs (id, name, status, stage, stages, on_complete, meta, started_at)
VALUES (:run, :name, :status, 0, :stages, :on_complete, :meta, :now)
ON CONFLICT (id) DO NOTHING
RETURNING id

-- name: run_stage_insert
INSERT INTO sluice_run_stages (run_id, stage, sealed, started_at)
VALUES (:run, :stage, :sealed, :now)

-- name: run_get
SELECT id, name, status, stage, stages, on_complete, meta, checkpoint, started_at, finished_at
FROM sluice_runs WHERE id = :run

-- name: run_lock
-- SQLite writes one transaction at a time: reading is locking
SELECT id, name, status, stage, stages, on_complete, meta, checkpoint, started_at, finished_at
FROM sluice_runs WHERE id = :run

-- name: run_stage_rows
SELECT stage, total, succeeded, failed, dead, sealed, fired, started_at, finished_at, units
FROM sluice_run_stages WHERE run_id = :run ORDER BY stage

-- name: run_current_stage
SELECT stage FROM sluice_runs WHERE id = :run

-- name: runs_list
SELECT id FROM sluice_runs ORDER BY started_at DESC, id DESC LIMIT :n

-- name: run_count
UPDATE sluice_run_stages
SET total = total + :total, succeeded = succeeded + :succeeded, failed = failed + :failed,
    dead = dead + :dead, units = units + :units, started_at = coalesce(started_at, :now)
WHERE run_id = :run AND stage = :stage
RETURNING total, succeeded, dead, sealed, fired

-- name: run_seal
UPDATE sluice_run_stages SET sealed = 1 WHERE run_id = :run AND stage = 0
RETURNING total, succeeded, dead, sealed, fired

-- name: run_fire
UPDATE sluice_run_stages SET fired = 1, finished_at = :now
WHERE run_id = :run AND stage = :stage AND fired = 0

-- name: run_update
UPDATE sluice_runs SET status = :status, stage = :stage, finished_at = :finished WHERE id = :run

-- name: run_reopen
UPDATE sluice_runs SET status = 'running', finished_at = NULL
WHERE id = :run AND status IN ('succeeded', 'failed')

-- name: run_checkpoint
UPDATE sluice_runs SET checkpoint = :checkpoint WHERE id = :run RETURNING id

-- name: run_cancel_messages
UPDATE sluice_messages
SET queue = queue || '.dlq', source_queue = queue, dead_reason = 'cancelled',
    last_error = 'run cancelled', lease = NULL, visible_at = :now
WHERE run_id = :run AND substr(queue, -4) <> '.dlq'
RETURNING run_stage

-- name: run_stages_close
UPDATE sluice_run_stages SET fired = 1, finished_at = coalesce(finished_at, :now)
WHERE run_id = :run

-- name: purge_counted
-- one row per message: SQLite has no DELETE inside WITH to group them in SQL
DELETE FROM sluice_messages WHERE queue = ? RETURNING run_id, run_stage, 1

-- name: backlog
SELECT count(*) FROM (
    SELECT 1 FROM sluice_messages WHERE queue = :queue AND visible_at <= :now LIMIT :cap)

-- name: put_schedule
-- A changed expression or time zone restarts from the given next_at; otherwise the stored one
-- stands, so redeclaring a schedule (every process does at start) neither skips nor repeats.
INSERT INTO sluice_schedules
    (name, cron, action, queue, body, timezone, misfire, catch_up_limit, next_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
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
FROM sluice_schedules WHERE next_at <= ? AND paused = 0 ORDER BY name

-- name: schedule_advance
UPDATE sluice_schedules SET next_at = ?, last_tick = coalesce(?, last_tick)
WHERE name = ? AND next_at = ?

-- name: delete_schedule
DELETE FROM sluice_schedules WHERE name = ?

-- name: event_insert
INSERT INTO sluice_events (id, source, detail_type, at, envelope, published_at)
VALUES (:id, :source, :detail_type, :at, :envelope, :now)
ON CONFLICT (id) DO NOTHING
RETURNING id

-- name: route_claim
INSERT INTO sluice_event_routes (event_id, rule, message_id, routed_at)
VALUES (:event, :rule, NULL, :now)
ON CONFLICT (event_id, rule) DO NOTHING
RETURNING event_id

-- name: route_force
INSERT INTO sluice_event_routes (event_id, rule, message_id, routed_at)
VALUES (:event, :rule, NULL, :now)
ON CONFLICT (event_id, rule) DO UPDATE SET routed_at = excluded.routed_at
RETURNING event_id

-- name: route_set
UPDATE sluice_event_routes SET message_id = :message WHERE event_id = :event AND rule = :rule

-- name: events_between
SELECT id, at, envelope, published_at FROM sluice_events
WHERE at >= :since AND at < :until AND (at > :after_at OR (at = :after_at AND id > :after_id))
ORDER BY at, id
LIMIT :n

-- name: events_forget
DELETE FROM sluice_events WHERE published_at < :before RETURNING 1

-- name: routes_forget
DELETE FROM sluice_event_routes WHERE routed_at < :before

-- name: alarm_states
SELECT name, firing FROM sluice_alarms

-- name: alarm_init
INSERT INTO sluice_alarms (name, firing, changed_at) VALUES (:name, 0, :now)
ON CONFLICT (name) DO NOTHING

-- name: alarm_set
UPDATE sluice_alarms SET firing = :firing, changed_at = :now
WHERE name = :name AND firing <> :firing
RETURNING name

-- name: action_stats_put
INSERT INTO sluice_action_stats
    (action, worker, processed, failed, dead, duration_sum, buckets, updated_at)
VALUES (:action, :worker, :processed, :failed, :dead, :duration_sum, :buckets, :now)
ON CONFLICT (action, worker) DO UPDATE SET
    processed = excluded.processed, failed = excluded.failed, dead = excluded.dead,
    duration_sum = excluded.duration_sum, buckets = excluded.buckets,
    updated_at = excluded.updated_at

-- name: action_stats_all
SELECT action, processed, failed, dead, duration_sum, buckets FROM sluice_action_stats

-- name: sqs_queue_put
INSERT INTO sluice_sqs_queues (name, attributes, tags, created_at, updated_at)
VALUES (:name, :attributes, :tags, :now, :now)
ON CONFLICT (name) DO UPDATE SET
    attributes = excluded.attributes, tags = excluded.tags, updated_at = excluded.updated_at

-- name: sqs_queue_get
SELECT name, attributes, tags, created_at, updated_at FROM sluice_sqs_queues
WHERE name IN (SELECT value FROM json_each(:names))

-- name: sqs_queue_lock
SELECT name, attributes, tags, created_at, updated_at FROM sluice_sqs_queues WHERE name = :name

-- name: sqs_queue_forget
DELETE FROM sluice_sqs_queues WHERE name = :name

-- name: queue_drop
DELETE FROM sluice_queues WHERE name = :name

-- name: groups_drop
DELETE FROM sluice_groups WHERE queue = :name

-- name: dedup_drop
DELETE FROM sluice_dedup WHERE queue = :name

-- name: sqs_attributes_put
INSERT INTO sluice_sqs_attributes (message_id, attributes, md5) VALUES (:id, :attributes, :md5)
ON CONFLICT (message_id) DO NOTHING

-- name: sqs_attributes_get
SELECT message_id, attributes, md5 FROM sluice_sqs_attributes
WHERE message_id IN (SELECT value FROM json_each(:ids))

-- name: sqs_attributes_forget
DELETE FROM sluice_sqs_attributes WHERE message_id IN (SELECT value FROM json_each(:ids))

-- name: sqs_attributes_gc
DELETE FROM sluice_sqs_attributes
WHERE NOT EXISTS (SELECT 1 FROM sluice_messages AS m WHERE m.id = message_id)

-- name: sqs_move_put
INSERT INTO sluice_sqs_move_tasks
    (handle, source, destination, rate, status, moved, to_move, started_at, next_at)
VALUES (:handle, :source, :destination, :rate, 'RUNNING', 0, :to_move, :now,
        :now)

-- name: sqs_move_list
SELECT handle, source, destination, rate, status, moved, to_move, started_at
FROM sluice_sqs_move_tasks WHERE source = :source ORDER BY started_at DESC, handle LIMIT :n

-- name: sqs_move_get
SELECT handle, source, destination, rate, status, moved, to_move, started_at
FROM sluice_sqs_move_tasks WHERE handle = :handle

-- name: sqs_move_take
-- the task's step, if it is active and due: the compare-and-set on next_at that makes one
-- process of many take it
UPDATE sluice_sqs_move_tasks SET next_at = :next_at
WHERE handle = :handle AND status IN ('RUNNING', 'CANCELLING') AND next_at <= :now
RETURNING source, destination, rate, status

-- name: sqs_move_due
SELECT status, next_at FROM sluice_sqs_move_tasks WHERE handle = :handle

-- name: sqs_move_active
SELECT handle FROM sluice_sqs_move_tasks WHERE status IN ('RUNNING', 'CANCELLING') ORDER BY handle

-- name: sqs_move_step
UPDATE sluice_sqs_move_tasks
SET moved = moved + :count,
    status = CASE WHEN status = 'CANCELLING' THEN 'CANCELLED' ELSE :status END
WHERE handle = :handle AND status IN ('RUNNING', 'CANCELLING')
RETURNING status

-- name: sqs_move_cancel
UPDATE sluice_sqs_move_tasks SET status = 'CANCELLING'
WHERE handle = :handle AND status = 'RUNNING'
RETURNING moved

-- name: limit_override_set
INSERT INTO sluice_limits
    (action, override_concurrency, override_rate, override_burst, tokens, refilled_at)
VALUES (:action, :concurrency, :rate, :burst, :burst, :now)
ON CONFLICT (action) DO UPDATE SET
    override_concurrency = excluded.override_concurrency,
    override_rate = excluded.override_rate,
    override_burst = excluded.override_burst,
    tokens = CASE WHEN excluded.override_burst IS NULL THEN sluice_limits.tokens
        ELSE min(coalesce(sluice_limits.tokens, excluded.override_burst), excluded.override_burst)
        END

-- name: limit_override_reset
UPDATE sluice_limits
SET override_concurrency = NULL, override_rate = NULL, override_burst = NULL
WHERE action = :action

-- name: limit_drop_empty
DELETE FROM sluice_limits
WHERE action = :action AND concurrency IS NULL AND rate IS NULL
  AND override_concurrency IS NULL AND override_rate IS NULL

-- name: limit_rows
SELECT action, concurrency, rate, override_concurrency, override_rate, override_burst, effective
FROM sluice_limits ORDER BY action

-- name: stopped_all
SELECT kind, name FROM sluice_stopped

-- name: stop
INSERT INTO sluice_stopped (kind, name, at) VALUES (:kind, :name, :now)
ON CONFLICT (kind, name) DO NOTHING

-- name: unstop
DELETE FROM sluice_stopped WHERE kind = :kind AND name = :name

-- name: declare
INSERT INTO sluice_declared (kind, name) VALUES (:kind, :name)
ON CONFLICT (kind, name) DO NOTHING

-- name: declared
SELECT name FROM sluice_declared WHERE kind = :kind ORDER BY name

-- name: schedule_pause
UPDATE sluice_schedules SET paused = 1 WHERE name = :name

-- name: schedule_resume
UPDATE sluice_schedules SET paused = 0, next_at = :next_at WHERE name = :name

-- name: schedules_paused
SELECT name FROM sluice_schedules WHERE paused = 1 ORDER BY name

-- name: audit_add
INSERT INTO sluice_audit (at, who, what, target, old, new)
VALUES (:now, :who, :what, :target, :old, :new)

-- name: audit_list
SELECT id, at, who, what, target, old, new FROM sluice_audit
WHERE id < :before ORDER BY id DESC LIMIT :n

-- name: cancel_message
-- one waiting, delayed or in-flight message (never a dead letter); an in-flight one's receipt
-- dies with the row, so its handler's ack, retry or extend is refused as stale
DELETE FROM sluice_messages WHERE id = :id AND queue NOT LIKE '%.dlq'
RETURNING queue, lease, visible_at, run_id, run_stage, action, receive_count, enqueued_at

-- name: part_state
-- a message's state as of :now (store/search.py)
CASE
    WHEN queue LIKE '%.dlq' THEN 'dead'
    WHEN visible_at <= :now THEN 'waiting'
    WHEN lease IS NOT NULL THEN 'in_flight'
    ELSE 'delayed' END

-- name: part_filters
-- the conditions of a search filter besides its queue, ids and state (store/search.py)
(:dedup_id IS NULL OR dedup_id = :dedup_id)
AND (:action IS NULL OR action = :action)
AND (:run_id IS NULL OR run_id = :run_id)
AND (:contains IS NULL OR instr(last_error, :contains) > 0)
AND (:errored IS NULL OR last_error IS NOT NULL)
AND (:oldest IS NULL OR enqueued_at >= :oldest)
AND (:newest IS NULL OR enqueued_at <= :newest)

-- name: search_messages
-- one keyset page of every queue's messages by any field (store/search.py): the id order of
-- the table, from the cursor on
SELECT id, queue, action, body, group_id, dedup_id, run_id, receive_count, enqueued_at,
       visible_at, lease, last_error, attempts, dead_reason, source_queue,
       {{part_state}} AS state
FROM sluice_messages
WHERE {{part_matching}}
ORDER BY id LIMIT :limit

-- name: search_ids
-- a keyset page of the messages with these ids (app.status, the ids filter): by primary key
SELECT id, queue, action, body, group_id, dedup_id, run_id, receive_count, enqueued_at,
       visible_at, lease, last_error, attempts, dead_reason, source_queue,
       {{part_state}} AS state
FROM sluice_messages
WHERE id IN (SELECT value FROM json_each(:ids))
  AND (:queue IS NULL OR queue IN (:queue, :dlq))
  AND {{part_matching}}
ORDER BY id LIMIT :limit

-- name: part_matching
-- a search page's rows after the cursor that match its filter and state
id > :after AND {{part_filters}} AND (:state IS NULL OR {{part_state}} = :state)

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
    SELECT id FROM (SELECT id FROM sluice_messages WHERE queue = :live AND {{part_matching}}
                    ORDER BY id LIMIT :limit)
    UNION ALL
    SELECT id FROM (SELECT id FROM sluice_messages WHERE queue = :dlq AND {{part_matching}}
                    ORDER BY id LIMIT :limit))
ORDER BY id LIMIT :limit

-- name: dead_selected
-- the dead letters of :dlq a search filter selects (store/selection.py), with what a redrive
-- needs; the same conditions as search_messages
SELECT id, source_queue, group_id, run_id, run_stage FROM sluice_messages
WHERE queue = :dlq
  AND (:ids IS NULL OR id IN (SELECT value FROM json_each(:ids)))
  AND {{part_filters}}
ORDER BY id

-- name: dead_selected_count
SELECT count(*) FROM sluice_messages
WHERE queue = :dlq
  AND (:ids IS NULL OR id IN (SELECT value FROM json_each(:ids)))
  AND {{part_filters}}

-- name: dead_purge
-- the dead letters of a selection, deleted in one statement (the same conditions)
DELETE FROM sluice_messages
WHERE queue = :dlq
  AND (:ids IS NULL OR id IN (SELECT value FROM json_each(:ids)))
  AND {{part_filters}}


-- name: rollup_put
-- a minute's sample of a queue or action (store/rollups.py); the minute's first writer wins
INSERT INTO sluice_rollups
    (kind, name, minute, at, depth, in_flight, dead, processed, failed, buckets)
VALUES (:kind, :name, :minute, :at, :depth, :in_flight, :dead, :processed, :failed, :buckets)
ON CONFLICT (kind, name, minute) DO NOTHING

-- name: rollup_forget
DELETE FROM sluice_rollups WHERE minute < :before

-- name: rollups_since
SELECT name, at, depth, in_flight, dead, processed, failed, buckets FROM sluice_rollups
WHERE kind = :kind AND minute >= :after ORDER BY name, minute
-- name: ack_fenced_kept
-- ack_fenced on a store with queues that keep completion records: what a record keeps
DELETE FROM sluice_messages
WHERE (id, lease) IN (SELECT value ->> 0, value ->> 1 FROM json_each(:receipts))
RETURNING id, run_id, run_stage, queue, action, receive_count, enqueued_at

-- name: completed_record
INSERT INTO sluice_completed
    (message_id, queue, action, status, run_id, receive_count, enqueued_at, finished_at,
     expires_at, result, result_note)
VALUES (:message_id, :queue, :action, :status, :run_id, :receive_count, :enqueued_at,
        :finished_at, :expires_at, :result, :result_note)
ON CONFLICT (message_id) DO NOTHING

-- name: completed_get
SELECT message_id, queue, action, status, run_id, receive_count, enqueued_at, finished_at,
       expires_at, result, result_note
FROM sluice_completed WHERE message_id = ?

-- name: completed_gc
DELETE FROM sluice_completed WHERE expires_at <= ?

-- name: headers_put
INSERT INTO sluice_headers (message_id, headers) VALUES (:message_id, :headers)
ON CONFLICT (message_id) DO NOTHING

-- name: headers_get
SELECT message_id, headers FROM sluice_headers
WHERE message_id IN (SELECT value FROM json_each(?))

-- name: headers_gc
DELETE FROM sluice_headers
WHERE NOT EXISTS (SELECT 1 FROM sluice_messages AS m WHERE m.id = message_id)
-- name: bucket_scan_init
INSERT INTO sluice_bucket_scans (watch) VALUES (:watch) ON CONFLICT (watch) DO NOTHING

-- name: bucket_scan_get
SELECT watch, watermark, next_full, sent, failures, error, failing_since, passed_at
FROM sluice_bucket_scans WHERE watch = :watch

-- name: bucket_scans
SELECT watch, watermark, next_full, sent, failures, error, failing_since, passed_at
FROM sluice_bucket_scans ORDER BY watch

-- name: bucket_full_take
UPDATE sluice_bucket_scans SET next_full = :next
WHERE watch = :watch AND next_full <= :now
RETURNING watch

-- name: bucket_advance
UPDATE sluice_bucket_scans
SET watermark = CASE WHEN watermark < :watermark THEN :watermark ELSE watermark END,
    sent = sent + :sent
WHERE watch = :watch

-- name: bucket_passed
UPDATE sluice_bucket_scans
SET failures = 0, error = NULL, failing_since = NULL, passed_at = :now
WHERE watch = :watch

-- name: bucket_failed
UPDATE sluice_bucket_scans
SET failures = failures + 1, error = :error, failing_since = coalesce(failing_since, :now),
    next_full = CASE WHEN :full THEN 0 ELSE next_full END
WHERE watch = :watch
RETURNING failures
