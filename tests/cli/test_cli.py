"""The operator CLI, driven through the real ``sluice`` console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from sluice.store import open_store

SLUICE = str(Path(sys.executable).with_name("sluice"))


def sluice(
    *args: str, url: str | None = None, columns: int = 200, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns)}
    env.pop("SLUICE_URL", None)
    if url is not None:
        env["SLUICE_URL"] = url
    return subprocess.run(
        [SLUICE, *args], capture_output=True, text=True, env=env, timeout=60, check=False, cwd=cwd
    )


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


def test_dlq_redrive_everything_and_list_with_a_limit(filled: str) -> None:
    [first] = json.loads(
        sluice("--json", "dlq", "list", "orders", "--limit", "1", url=filled).stdout
    )
    assert first["dead_reason"] == "max_receives"
    result = sluice("dlq", "redrive", "orders", url=filled)
    assert result.returncode == 0, result.stderr
    assert "redrove 3 messages from orders.dlq to orders" in result.stdout
    figures = json.loads(sluice("--json", "queues", url=filled).stdout)
    [orders] = [q for q in figures if q["queue"] == "orders"]
    assert (orders["depth"], orders["dlq_depth"]) == (7, 0)
    assert "no dead letters in orders.dlq" in sluice("dlq", "list", "orders", url=filled).stdout


def test_dlq_purge_needs_yes(filled: str) -> None:
    refused = sluice("dlq", "purge", "orders", url=filled)
    assert refused.returncode != 0
    assert "--yes" in refused.stderr
    assert len(json.loads(sluice("--json", "dlq", "list", "orders", url=filled).stdout)) == 3
    chosen = ("dlq", "purge", "orders", "--error-contains", "timeout", "--older-than", "0")
    refused = sluice(*chosen, url=filled)
    assert refused.returncode != 0 and "purge deletes 2 dead letters" in refused.stderr
    assert "purged 2 dead letters" in sluice(*chosen, "--yes", url=filled).stdout
    done = sluice("dlq", "purge", "orders", "--yes", url=filled)
    assert done.returncode == 0, done.stderr
    assert "purged 1 dead letter of" in done.stdout
    [last, first] = json.loads(sluice("--json", "audit", url=filled).stdout)
    assert (first["who"], first["what"], first["old"], first["new"]) == (
        "local",
        "dlq.purge",
        {"error_contains": "timeout", "min_age": 0.0},
        2,
    )
    assert (last["old"], last["new"]) == ({}, 1)


def test_an_unknown_queue_is_one_clear_line(filled: str) -> None:
    result = sluice("dlq", "list", "nope", url=filled)
    assert result.returncode == 1
    assert "unknown queue 'nope'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [("queues", "show", "nope"), ("dlq", "redrive", "nope"), ("dlq", "purge", "nope", "--yes")],
)
def test_every_command_names_an_unknown_queue(filled: str, args: tuple[str, ...]) -> None:
    result = sluice(*args, url=filled)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: unknown queue 'nope': declare it with app.queue('nope') first"
    )


def test_an_invalid_queue_name_is_explained(filled: str) -> None:
    result = sluice("queues", "show", "no spaces!", url=filled)
    assert result.returncode == 1
    assert "invalid queue name 'no spaces!'" in result.stderr
    assert "Traceback" not in result.stderr
    result = sluice("dlq", "list", "orders.dlq", url=filled)
    assert result.returncode == 1
    assert "'orders.dlq' is a dead-letter queue: name its queue instead ('orders')" in (
        result.stderr
    )


def test_an_empty_store_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/empty.db"
    _create(url)  # operator commands never create a store (tests/cli/test_no_store.py)
    result = sluice("queues", url=url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"no queues in {url}"
    assert json.loads(sluice("--json", "queues", url=url).stdout) == []


def _create(url: str) -> None:
    store = open_store(url)
    store.migrate()
    store.close()


def test_the_password_never_shows(pg_url: str) -> None:
    _create(pg_url)
    parts = urlsplit(pg_url)
    secret = parts.password or "hunter2"  # trust auth ignores a password it did not ask for
    netloc = f"{parts.username or ''}:{secret}@{parts.hostname}:{parts.port or 5432}"
    result = sluice("queues", url=urlunsplit(parts._replace(netloc=netloc)))
    assert result.returncode == 0, result.stderr
    assert f"{parts.username or ''}:***@" in result.stdout
    assert secret not in result.stdout + result.stderr


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


def test_a_malformed_url_is_one_line_without_password() -> None:
    result = sluice("--url", "postgresql://ops:s3cret@127.0.0.1:99999/db", "queues")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: invalid store URL 'postgresql://ops:***@127.0.0.1:99999/db': "
        "Port out of range 0-65535"
    )


def test_a_missing_sqlite_directory_is_one_line(tmp_path: Path) -> None:
    result = sluice("queues", url=f"sqlite:///{tmp_path}/no/such/dir/x.db")
    assert result.returncode == 1
    assert result.stderr.startswith("error: store sqlite:///")
    assert "unavailable" in result.stderr and "Traceback" not in result.stderr


def test_help_lists_the_commands() -> None:
    result = sluice("--help")
    assert result.returncode == 0
    for command in ("queues", "dlq", "demo"):
        assert command in result.stdout


BOOM = """
import sys
import sluice.cli

def boom(url):
    raise OSError("disk on fire at postgresql://ops:s3cret@db/x")

sluice.cli.open_existing = boom
sys.argv = ["sluice", "--url", "sqlite:///x.db", "queues"]
sluice.cli.main()
"""


def test_an_unexpected_error_is_one_line_unless_debugging(tmp_path: Path) -> None:
    def run(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", BOOM],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, **env},
            check=False,
        )

    result = run()
    assert result.returncode == 1
    assert result.stderr == (
        "error: unexpected OSError: disk on fire at postgresql://ops:***@db/x "
        "(SLUICE_DEBUG=1 shows the traceback)\n"
    )
    debug = run(SLUICE_DEBUG="1")
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr and "OSError" in debug.stderr


def test_dlq_list_json_survives_bodies_it_cannot_show(filled: str) -> None:
    from tests.conformance.helpers import overwrite_body

    store = open_store(filled)
    try:
        broken, deep, fine = (m.id for m in store.dlq_list("orders"))
        overwrite_body(store, broken, "{not json")
        overwrite_body(store, deep, "[" * 300 + "]" * 300)  # readable, too deep to write back
    finally:
        store.close()
    result = sluice("dlq", "list", "orders", "--json", url=filled)
    assert result.returncode == 0, result.stderr
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert rows[broken]["body"] is None and "not valid JSON" in rows[broken]["body_error"]
    assert rows[deep]["body"] is None and "deep" in rows[deep]["body_error"]
    assert rows[fine]["body_error"] is None and rows[fine]["body"]["n"] in range(8)
