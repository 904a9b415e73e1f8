"""Fixtures shared by every test: a fake clock and a store on each backend.

The PostgreSQL store uses ``$SLUICE_TEST_PG`` (default the local ``test`` database) with one
database per pytest-xdist worker, emptied before each test. Without PostgreSQL its tests skip,
except when ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from hypothesis import settings

from sluice.store import Store, open_store

# Timing is not what property tests check: on a loaded 2-core machine a deadline only flakes.
settings.register_profile("sluice", deadline=None)
settings.load_profile("sluice")

PG_URL = os.environ.get("SLUICE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


class FakeClock:
    """A clock that moves only when told: ``clock()`` reads it, ``advance(s)`` moves it."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _with_db(url: str, db: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + db))


@pytest.fixture(scope="session")
def pg_url(request: pytest.FixtureRequest) -> str:
    """A PostgreSQL database of this xdist worker's own (created once per session)."""
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    # SLUICE_TEST_DB_PREFIX keeps concurrent checkouts on one server out of each other's way.
    name = f"{os.environ.get('SLUICE_TEST_DB_PREFIX', 'sluice_test')}_{worker}"
    try:
        with psycopg.connect(_with_db(PG_URL, "postgres"), autocommit=True, connect_timeout=5) as c:
            if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                c.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {PG_URL} is unreachable: {exc}"
        if IN_CI:
            pytest.fail(message + " (CI=true: PostgreSQL tests may not skip)")
        pytest.skip(message)
    return _with_db(PG_URL, name)


def reset_pg(url: str) -> None:
    """Drop every sluice table and sequence so the next store starts from an empty schema."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename LIKE 'sluice%%'"
            )
        ]
        if tables:
            conn.execute("DROP TABLE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
        conn.execute("DROP SEQUENCE IF EXISTS sluice_message_ids")


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    """A URL of an empty store on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{os.fspath(tmp_path)}/sluice.db"
    pg: str = request.getfixturevalue("pg_url")
    reset_pg(pg)
    return pg


@pytest.fixture
def store(url: str, clock: FakeClock) -> Iterator[Store]:
    """A migrated store on each backend, on the fake clock."""
    opened = open_store(url, clock=clock)
    opened.migrate()
    yield opened
    opened.close()
