-- message search (store/search.py): a queue's rows in id order, so a keyset page of one queue
-- and state reads the queue's rows from the cursor on and stops at the page's end instead of
-- sorting the whole queue. Written on insert and on a move between queues only (not on claim).
CREATE INDEX sluice_messages_search ON sluice_messages (queue, id);
