"""Migrations replayed on an empty store give exactly the schema on record.

After adding a migration, regenerate the records with ``SLUICE_UPDATE_SCHEMA=1 pytest
tests/store/test_migrations.py`` and review the diff.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import psycopg

from sluice.store import open_store, sql
from tests.conftest import FakeClock

HERE = Path(__file__).parent


def describe(url: str) -> str:
    """The schema of the sluice tables, one sorted line per column and index."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        lines = [
            f"{kind} {name}: {' '.join((text or '').split())}"
            for kind, name, text in conn.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE name LIKE 'sluice%'"
            )
        ]
        conn.close()
    else:
        with psycopg.connect(url) as conn:
            lines = [
                f"column {table}.{column}: {kind} null={nullable} default={default}"
                for table, column, kind, nullable, default in conn.execute(
                    "SELECT table_name, column_name, data_type, is_nullable, column_default "
                    "FROM information_schema.columns WHERE table_name LIKE 'sluice%%'"
                )
            ]
            lines += [
                f"index {name}: {definition}"
                for name, definition in conn.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename LIKE 'sluice%%'"
                )
            ]
            lines += [
                f"options {name}: {options}"
                for name, options in conn.execute(
                    "SELECT relname, reloptions FROM pg_class "
                    "WHERE relname LIKE 'sluice%%' AND reloptions IS NOT NULL"
                )
            ]
    return "\n".join(sorted(lines)) + "\n"


def test_replayed_migrations_match_the_recorded_schema(url: str) -> None:
    backend = "sqlite" if url.startswith("sqlite") else "postgres"
    store = open_store(url, clock=FakeClock())
    store.migrate()
    schema = describe(url)
    record = HERE / f"schema_{backend}.txt"
    if os.environ.get("SLUICE_UPDATE_SCHEMA"):
        record.write_text(schema)
    assert schema == record.read_text()
    store.migrate()
    assert describe(url) == schema
    assert store.schema_version() == sql.latest_version(backend)
    store.close()


def test_both_backends_define_the_same_migrations_and_most_query_names() -> None:
    assert [m.version for m in sql.migrations("sqlite")] == [
        m.version for m in sql.migrations("postgres")
    ]
    shared = set(sql.queries("sqlite")) & set(sql.queries("postgres"))
    assert {"claim_next", "claim_ids", "ack_fenced", "dead_letter", "redrive", "stats"} <= shared
