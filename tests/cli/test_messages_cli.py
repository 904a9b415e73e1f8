"""``sluice messages`` through the real console script: search by field, paging, errors, cancel."""

from __future__ import annotations

import json

from sluice.model import NewMessage, Outcome, QueuePolicy
from sluice.store import open_store
from tests.cli.test_cli import sluice


def _ids(url: str, *args: str) -> list[int]:
    result = sluice("--json", "messages", "list", *args, url=url)
    assert result.returncode == 0, result.stderr
    return [m["id"] for m in json.loads(result.stdout)["messages"]]


def test_messages_list_finds_by_state_queue_and_error(filled: str) -> None:
    assert len(_ids(filled, "--queue", "orders")) == 8
    assert len(_ids(filled, "--state", "waiting")) == 4
    assert len(_ids(filled, "--state", "in_flight")) == 1
    assert len(_ids(filled, "--state", "dead", "--queue", "orders")) == 3
    assert len(_ids(filled, "--error-contains", "timeout")) == 2
    [one] = _ids(filled, "--error-contains", "bad row")
    assert _ids(filled, "--id", str(one)) == [one]
    table = sluice("messages", "list", "--state", "dead", url=filled)
    assert table.returncode == 0 and "bad row" in table.stdout and "dead" in table.stdout


def test_messages_list_pages_with_a_cursor_every_message_once(filled: str) -> None:
    seen: list[int] = []
    cursor: str | None = None
    while True:
        args = ["--limit", "3"] + (["--cursor", cursor] if cursor else [])
        page = json.loads(sluice("--json", "messages", "list", *args, url=filled).stdout)
        seen += [m["id"] for m in page["messages"]]
        cursor = page["cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 8 and seen == sorted(seen)
    text = sluice("messages", "list", "--limit", "3", url=filled).stdout
    assert "more: --cursor" in text


def test_messages_list_refuses_bad_input_clearly(filled: str) -> None:
    bad = sluice("messages", "list", "--state", "lost", url=filled)
    assert bad.returncode != 0 and "lost" in bad.stderr
    cursor = sluice("messages", "list", "--cursor", "xyz", url=filled)
    assert cursor.returncode == 1 and "bad cursor 'xyz'" in cursor.stderr


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


def test_messages_show_reports_live_and_finished_messages(url: str) -> None:
    store = open_store(url)
    store.migrate()
    store.put_queue(QueuePolicy("q", keep_completed=600))
    done, waiting = (e.id for e in store.enqueue([NewMessage("q", n, "a") for n in range(2)]))
    [claimed] = store.claim(["q"], 1)
    assert claimed.receipt is not None
    store.complete([Outcome.ack(claimed.receipt, result={"total": 3})])
    store.close()
    shown = json.loads(sluice("--json", "messages", "show", str(done), url=url).stdout)
    assert (shown["state"], shown["result"], shown["receive_count"]) == (
        "succeeded",
        {"total": 3},
        1,
    )
    text = sluice("messages", "show", str(waiting), url=url)
    assert text.returncode == 0, text.stderr
    assert "waiting" in text.stdout and "- " in text.stdout
    table = sluice("messages", "show", str(done), url=url).stdout
    assert "succeeded" in table and '{"total":3}' in table
    missing = sluice("messages", "show", "987654321", url=url)
    assert missing.returncode == 1 and "it never existed" in missing.stderr
