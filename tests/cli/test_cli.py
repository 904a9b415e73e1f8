"""The operator CLI, driven through the real ``sluice`` console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sluice.model import NewMessage, Outcome, QueuePolicy
from sluice.store import open_store

SLUICE = str(Path(sys.executable).with_name("sluice"))


def sluice(*args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("SLUICE_URL", None)
    if url is not None:
        env["SLUICE_URL"] = url
    return subprocess.run(
        [SLUICE, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


@pytest.fixture
def filled(url: str) -> str:
    """A store with queue ``orders`` (4 visible, 1 in flight) and 3 dead letters."""
    store = open_store(url)
    store.migrate()
    store.put_queue(QueuePolicy("orders", max_receives=1))
    store.put_queue(QueuePolicy("empty", fifo=True))
    store.enqueue([NewMessage("orders", {"n": n}) for n in range(8)])
    failing = store.claim(["orders"], 3)
    store.complete(
        [
            Outcome.retry(m.receipt, error, delay=0)
            for m, error in zip(failing, ["timeout A", "bad row", "timeout B"], strict=True)
            if m.receipt
        ]
    )
    store.claim(["orders"], 1)
    store.close()
    return url


def test_queues_lists_every_queue_with_its_figures(filled: str) -> None:
    result = sluice("queues", url=filled)
    assert result.returncode == 0, result.stderr
    assert "orders" in result.stdout and "empty" in result.stdout
    assert ".dlq" not in result.stdout
    data = json.loads(sluice("--json", "queues", url=filled).stdout)
    orders = next(q for q in data if q["queue"] == "orders")
    assert (orders["depth"], orders["in_flight"], orders["dlq_depth"]) == (4, 1, 3)
    assert next(q for q in data if q["queue"] == "empty")["fifo"] is True


def test_queues_show_prints_policy_and_figures(filled: str) -> None:
    result = sluice("--url", filled, "queues", "show", "orders")
    assert result.returncode == 0, result.stderr
    assert "visibility timeout" in result.stdout and "orders.dlq" in result.stdout
    data = json.loads(sluice("--url", filled, "--json", "queues", "show", "orders").stdout)
    assert data["policy"]["max_receives"] == 1
    assert data["stats"]["dlq_depth"] == 3


def test_dlq_list_shows_reason_and_error(filled: str) -> None:
    result = sluice("dlq", "list", "orders", url=filled)
    assert result.returncode == 0, result.stderr
    assert "timeout A" in result.stdout and "max_receives" in result.stdout
    data = json.loads(sluice("--json", "dlq", "list", "orders", url=filled).stdout)
    assert sorted(m["last_error"] for m in data) == ["bad row", "timeout A", "timeout B"]
    assert {m["receive_count"] for m in data} == {1}


def test_dlq_redrive_by_error_then_by_id(filled: str) -> None:
    result = sluice("dlq", "redrive", "orders", "--error-contains", "timeout", url=filled)
    assert result.returncode == 0, result.stderr
    assert "redrove 2 messages" in result.stdout
    [left] = json.loads(sluice("--json", "dlq", "list", "orders", url=filled).stdout)
    moved = json.loads(
        sluice("--json", "dlq", "redrive", "orders", "--id", str(left["id"]), url=filled).stdout
    )
    assert moved == {"queue": "orders", "redriven": 1}
    assert json.loads(sluice("--json", "dlq", "list", "orders", url=filled).stdout) == []


def test_dlq_purge_needs_yes(filled: str) -> None:
    refused = sluice("dlq", "purge", "orders", url=filled)
    assert refused.returncode != 0
    assert "--yes" in refused.stderr
    assert len(json.loads(sluice("--json", "dlq", "list", "orders", url=filled).stdout)) == 3
    done = sluice("dlq", "purge", "orders", "--yes", url=filled)
    assert done.returncode == 0, done.stderr
    assert "purged 3 dead letters" in done.stdout


def test_an_unknown_queue_is_one_clear_line(filled: str) -> None:
    result = sluice("dlq", "list", "nope", url=filled)
    assert result.returncode == 1
    assert "unknown queue 'nope'" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_store_names_the_url_without_password() -> None:
    result = sluice("queues", url="postgresql://ops:s3cret@127.0.0.1:1/db")
    assert result.returncode == 1
    assert "127.0.0.1:1" in result.stderr and "unavailable" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_an_unsupported_url_is_explained() -> None:
    result = sluice("queues", url="mysql://localhost/db")
    assert result.returncode == 1
    assert "unsupported store URL" in result.stderr


def test_help_lists_the_commands() -> None:
    result = sluice("--help")
    assert result.returncode == 0
    for command in ("queues", "dlq", "demo"):
        assert command in result.stdout
