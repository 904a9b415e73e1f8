"""``sluice runs``: list, show, watch and cancel through the real console script."""

from __future__ import annotations

import json
import subprocess

from sluice.model import NewMessage, Outcome, QueuePolicy, RunSpec
from sluice.store import open_store
from tests.cli.test_cli import SLUICE, sluice


def _runs(url: str) -> None:
    store = open_store(url)
    store.migrate()
    store.put_queue(QueuePolicy("q"))
    store.start_run(RunSpec("done-run", "nightly"))
    store.enqueue([NewMessage("q", n, "a", run_id="done-run") for n in range(3)])
    store.seal_run("done-run")
    store.complete([Outcome.ack(m.receipt) for m in store.claim(["q"], 3) if m.receipt])
    store.start_run(RunSpec("open-run", "import"))
    store.enqueue([NewMessage("q", n, "a", run_id="open-run") for n in range(4)])
    store.close()


def test_runs_list_show_and_cancel(url: str) -> None:
    _runs(url)
    listed = json.loads(sluice("--json", "runs", url=url).stdout)
    assert [(r["id"], r["status"], r["done"], r["total"]) for r in listed] == [
        ("open-run", "discovering", 0, 4),
        ("done-run", "succeeded", 3, 3),
    ]
    table = sluice("runs", url=url)
    assert table.returncode == 0 and "nightly" in table.stdout and "3/3" in table.stdout
    shown = sluice("runs", "show", "done-run", url=url)
    assert shown.returncode == 0 and "succeeded" in shown.stdout and "stages" in shown.stdout
    assert "│ 1/1 │ (any)" in shown.stdout  # stages count from 1, as in the dashboard
    assert (
        json.loads(sluice("--json", "runs", "show", "done-run", url=url).stdout)["stages"][0][
            "succeeded"
        ]
        == 3
    )
    cancelled = json.loads(sluice("--json", "runs", "cancel", "open-run", url=url).stdout)
    assert cancelled == {"run": "open-run", "moved": 4}
    missing = sluice("runs", "show", "nope", url=url)
    assert missing.returncode == 1 and "no run has id 'nope'" in missing.stderr


def test_runs_watch_follows_a_run_to_its_end(url: str) -> None:
    _runs(url)
    watcher = subprocess.Popen(
        [SLUICE, "--url", url, "runs", "watch", "open-run", "--interval", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = open_store(url)
    store.seal_run("open-run")
    store.complete([Outcome.ack(m.receipt) for m in store.claim(["q"], 4) if m.receipt])
    store.close()
    out, err = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, err
    assert "run open-run succeeded: 4 succeeded, 0 dead" in out


def test_cancelling_a_finished_run_says_so_and_changes_nothing(url: str) -> None:
    _runs(url)
    refused = sluice("runs", "cancel", "done-run", url=url)
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert refused.stderr == (
        "error: run 'done-run' has finished already (succeeded): not cancelled\n"
    )
    assert json.loads(sluice("--json", "runs", "show", "done-run", url=url).stdout)["status"] == (
        "succeeded"
    )
    assert sluice("runs", "cancel", "open-run", url=url).returncode == 0
    again = sluice("runs", "cancel", "open-run", "--json", url=url)
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr == "error: run 'open-run' has finished already (cancelled): not cancelled\n"
