"""The search queries reach their indexes (checked with SQLite's EXPLAIN QUERY PLAN and
PostgreSQL's EXPLAIN with sequential scans priced out, as on a table too large to scan): a
queue's page walks ``sluice_messages_search`` in id order, a search by ids reads the primary
key, so a page or ``app.status`` costs the same behind a million messages as behind ten."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from sluice.store import open_store, sql
from sluice.store.search import MessageFilter, params

QUERIES = sql.queries("sqlite")


def _sqlite_plan(db: Path, name: str, given: dict[str, Any]) -> str:
    conn = sqlite3.connect(db)
    bound = {k: (str(v).replace("'", '"') if isinstance(v, list) else v) for k, v in given.items()}
    rows = conn.execute(f"EXPLAIN QUERY PLAN {QUERIES[name]}", bound).fetchall()
    conn.close()
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize(
    ("name", "where", "index"),
    [
        ("search_queue", MessageFilter(queue="q"), "INDEX sluice_messages_search"),
        ("search_queue", MessageFilter(queue="q", state="dead"), "INDEX sluice_messages_search"),
        ("search_ids", MessageFilter(ids=[1, 2]), "INTEGER PRIMARY KEY"),
    ],
)
def test_sqlite_searches_use_their_index(
    tmp_path: Path, name: str, where: MessageFilter, index: str
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    store.migrate()
    store.close()
    plan = _sqlite_plan(tmp_path / "s.db", name, params(where, 0.0, 0, 50))
    assert f"sluice_messages USING {index}" in plan, plan
    assert "SCAN sluice_messages" not in plan, plan  # no walk of the whole table


@pytest.mark.postgres
def test_postgres_searches_use_their_index(pg_url: str) -> None:
    from tests.conftest import reset_pg

    reset_pg(pg_url)
    store = open_store(pg_url)
    store.migrate()
    store.close()
    pg_queries = sql.queries("postgres")
    with psycopg.connect(pg_url) as conn:
        conn.execute("SET enable_seqscan = off")
        for name, where, index in (
            ("search_queue", MessageFilter(queue="q"), "sluice_messages_search"),
            ("search_ids", MessageFilter(ids=[1, 2]), "sluice_messages_pkey"),
        ):
            given = params(where, 0.0, 0, 50)
            rows = conn.execute(f"EXPLAIN {pg_queries[name]}", given).fetchall()
            plan = "\n".join(row[0] for row in rows)
            assert index in plan, plan
            assert "Seq Scan on sluice_messages" not in plan, plan
