"""Tables never cut an id or a queue name, whatever the terminal's width: what is listed can
be pasted into the next command."""

from __future__ import annotations

import json
import re
import secrets

import pytest

from sluice.model import QueuePolicy, RunSpec
from sluice.store import open_store
from tests.cli.test_cli import sluice
from tests.cli.test_runs_cli import _runs

LONG_ID = "import-2026-12-02T06:00:00Z-tenant-000042-retry-3"


@pytest.mark.parametrize("columns", [80, 40])
def test_run_ids_are_never_cut_at_any_width(url: str, columns: int) -> None:
    _runs(url)
    store = open_store(url)
    store.start_run(RunSpec(LONG_ID, "a long name for an import of tenant data"))
    generated = secrets.token_hex(8)  # the shape of the ids sluice makes
    store.start_run(RunSpec(generated, "nightly"))
    store.close()
    listed = sluice("runs", url=url, columns=columns)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    for run_id in (LONG_ID, generated, "done-run", "open-run"):
        assert any(run_id in line for line in lines), (run_id, listed.stdout)
        shown = sluice("runs", "show", run_id, "--json", url=url)
        assert json.loads(shown.stdout)["id"] == run_id
    assert "…" not in listed.stdout


@pytest.mark.parametrize("columns", [80, 40])
def test_dead_letter_ids_and_queue_names_are_never_cut(filled: str, columns: int) -> None:
    store = open_store(filled)
    store.put_queue(QueuePolicy("q" * 80))
    store.close()
    queues = sluice("queues", url=filled, columns=columns)
    assert queues.returncode == 0, queues.stderr
    assert any("q" * 80 in line for line in queues.stdout.splitlines())
    ids = [
        str(m["id"])
        for m in json.loads(sluice("dlq", "list", "orders", "--json", url=filled).stdout)
    ]
    dead = sluice("dlq", "list", "orders", url=filled, columns=columns)
    assert dead.returncode == 0, dead.stderr
    for message_id in ids:
        assert re.search(rf"(^|\D){message_id}(\D|$)", dead.stdout), (message_id, dead.stdout)


@pytest.mark.parametrize("columns", [80, 40])
def test_show_never_cuts_the_run_id_or_the_queue_name(url: str, columns: int) -> None:
    _runs(url)
    store = open_store(url)
    store.put_queue(QueuePolicy("q" * 80))
    store.start_run(RunSpec(LONG_ID, "a long name for an import of tenant data"))
    store.close()
    run = sluice("runs", "show", LONG_ID, url=url, columns=columns)
    assert run.returncode == 0, run.stderr
    assert any(LONG_ID in line for line in run.stdout.splitlines()), run.stdout
    queue = sluice("queues", "show", "q" * 80, url=url, columns=columns)
    assert queue.returncode == 0, queue.stderr
    assert any("q" * 80 + ".dlq" in line for line in queue.stdout.splitlines()), queue.stdout
    for output in (run.stdout, queue.stdout):
        assert "…" not in output
