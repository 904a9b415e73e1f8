-- When a message move task may next step (on the store's clock): the step that sets it by
-- compare-and-set is the only one, so serving processes that all step the active tasks of the
-- store (a restarted one adopts those of a dead one) never step one task twice within its
-- second, and its rate holds.
ALTER TABLE sluice_sqs_move_tasks ADD COLUMN next_at REAL NOT NULL DEFAULT 0;
