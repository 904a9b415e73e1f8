"""``sluice messages cancel`` through the real console script."""

from __future__ import annotations

import json

from sluice.model import NewMessage, QueuePolicy
from sluice.store import open_store
from tests.cli.test_cli import sluice


def test_messages_cancel_removes_a_message_and_refuses_unknown_ids(url: str) -> None:
    store = open_store(url)
    store.migrate()
    store.put_queue(QueuePolicy("q"))
    waiting, flying = (e.id for e in store.enqueue([NewMessage("q", n, "a") for n in range(2)]))
    store.claim(["q"], 1)
    store.close()
    done = json.loads(sluice("--json", "messages", "cancel", str(waiting), url=url).stdout)
    assert done == {"message_id": waiting, "cancelled": True, "was": "in_flight"}
    text = sluice("messages", "cancel", str(flying), url=url)
    assert text.returncode == 0, text.stderr
    assert text.stdout.strip() == f"cancelled message {flying} (waiting)"
    again = sluice("messages", "cancel", str(flying), url=url)
    assert again.returncode == 1
    assert f"no waiting, delayed or in-flight message has id {flying}" in again.stderr
    bad = sluice("messages", "cancel", "0", url=url)
    assert bad.returncode == 2 and "MESSAGE_ID" in bad.stderr
