-- Priorities: 0 (the default) is claimed first, larger numbers later. The claim index leads with
-- priority after the queue, so a queue whose messages all have priority 0 walks it in the same
-- order, and with the same cost, as the former (queue, visible_at) index; no second index is
-- kept on the hot path (every claim and ack would pay for it).
ALTER TABLE sluice_messages ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
DROP INDEX sluice_messages_ready;
CREATE INDEX sluice_messages_ready ON sluice_messages (queue, priority, visible_at);
