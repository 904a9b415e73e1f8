"""Schema versions and unreachable stores."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from sluice.errors import SchemaMismatch, StoreUnavailable
from sluice.model import NewMessage
from sluice.store import Store, open_store
from tests.conformance.helpers import declare, put


def _set_version(url: str, version: int) -> None:
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        with conn:
            conn.execute("UPDATE sluice_schema SET version = ?", (version,))
        conn.close()
    else:
        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute("UPDATE sluice_schema SET version = %s", (version,))


def test_migrating_twice_keeps_the_data(store: Store, url: str) -> None:
    declare(store)
    put(store, "q", "kept")
    again = open_store(url)
    again.migrate()
    assert [m.body for m in again.claim(["q"], 1)] == ["kept"]
    again.close()


def test_a_newer_schema_refuses_this_library(store: Store, url: str) -> None:
    _set_version(url, 999)
    newer = open_store(url)
    with pytest.raises(SchemaMismatch, match="999"):
        newer.migrate()
    newer.close()


def test_an_unreachable_postgres_names_the_url_without_its_password() -> None:
    store = open_store("postgresql://sluice:hunter2@127.0.0.1:1/nowhere")
    with pytest.raises(StoreUnavailable) as caught:
        store.migrate()
    assert "127.0.0.1:1" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert "***" in str(caught.value)


def test_an_unreachable_sqlite_file_names_the_url(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/no/such/dir/x.db"
    with pytest.raises(StoreUnavailable, match="no/such/dir"):
        open_store(url).migrate()


def test_enqueue_to_a_dead_database_raises_store_unavailable(tmp_path: object) -> None:
    from tests.conftest import PG_URL

    missing_db = PG_URL.rsplit("/", 1)[0] + "/sluice_no_such_database"
    for url in (missing_db, f"sqlite:///{tmp_path}/gone/x.db"):
        store = open_store(url)
        with pytest.raises(StoreUnavailable) as caught:
            store.enqueue([NewMessage("q", "lost?")])
        assert url.split("://")[0] in str(caught.value)
        store.close()
