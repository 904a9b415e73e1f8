"""Operator commands inspect stores and never create one: a mistyped URL is refused."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import psycopg
import pytest

from tests.cli.test_cli import sluice

OPERATOR_COMMANDS = [
    ("queues",),
    ("queues", "show", "orders"),
    ("dlq", "list", "orders"),
    ("dlq", "redrive", "orders"),
    ("dlq", "purge", "orders", "--yes"),
    ("runs",),
    ("runs", "show", "r1"),
    ("runs", "cancel", "r1"),
]


def _sluice_tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE tablename LIKE 'sluice%%'"
        ).fetchall()
    return [r[0] for r in rows]


@pytest.mark.parametrize("args", OPERATOR_COMMANDS, ids=" ".join)
def test_no_store_at_the_url_is_refused_and_none_is_created(url: str, args: tuple[str]) -> None:
    result = sluice("--url", url, *args)
    assert result.returncode == 1, result.stdout
    assert result.stdout == ""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        assert result.stderr == (
            f"error: no sluice store at {url}: file {path!r} does not exist (check the path: "
            "a worker, or the app on first use, creates the store)\n"
        )
        assert list(Path(path).parent.iterdir()) == []
    else:
        assert (
            result.stderr == f"error: no sluice store at {url}: the database has no sluice tables\n"
        )
        assert _sluice_tables(url) == []


def test_the_store_from_the_environment_is_refused_too(tmp_path: Path) -> None:
    result = sluice("--json", "queues", url=f"sqlite:///{tmp_path}/typo.db")
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: no sluice store at sqlite:///{tmp_path}/typo.db: ")
    assert not (tmp_path / "typo.db").exists()


def test_a_relative_path_is_refused_where_it_was_looked_for(tmp_path: Path) -> None:
    result = sluice("--url", "sqlite:///typo.db", "queues", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: no sluice store at sqlite:///typo.db: file 'typo.db'")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    result = sluice("queues", url=f"sqlite:///{tmp_path}/no/such/dir/x.db")
    assert result.returncode == 1
    assert result.stderr == (
        f"error: store sqlite:///{tmp_path}/no/such/dir/x.db is unavailable: "
        f"directory '{tmp_path}/no/such/dir' does not exist\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_an_empty_url_is_a_usage_error(tmp_path: Path) -> None:
    for url in ("", "  "):
        result = sluice("--url", url, "queues", cwd=tmp_path)
        assert result.returncode == 2
        assert "Invalid value for '--url': is empty: give a store URL" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_sqlite_file_of_another_program_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    conn.close()
    before = hashlib.sha256(other.read_bytes()).hexdigest()
    result = sluice("--url", f"sqlite:///{other}", "runs")
    assert result.returncode == 1
    assert result.stderr == (
        f"error: no sluice store at sqlite:///{other}: the database has no sluice tables\n"
    )
    assert hashlib.sha256(other.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]  # no -wal, no -shm


def test_a_file_that_is_no_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_text("not a database\n" * 100)
    result = sluice("--url", f"sqlite:///{tmp_path}/notes.db", "queues")
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"error: no sluice store at sqlite:///{tmp_path}/notes.db: '{tmp_path}/notes.db' is not "
        "a database"
    )
    assert (tmp_path / "notes.db").read_text() == "not a database\n" * 100
