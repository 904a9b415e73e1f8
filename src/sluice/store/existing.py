"""Opening a store only where one exists, for tools that inspect stores and must never create
one (a mistyped URL would otherwise leave an empty file or empty tables behind)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from sluice.errors import StoreNotFound, StoreUnavailable
from sluice.store import Store, open_store, redact, resolve_url
from sluice.store.base import Clock
from sluice.store.sqlite import sqlite_path

SCHEMA_TABLE = "sluice_schema"
"""The table every sluice store has from its first migration on."""


def open_existing(url: str | None = None, clock: Clock | None = None) -> Store:
    """Open (without migrating) the store at ``url`` if there is one; else raise
    :class:`StoreNotFound` naming what is missing. Creates no file, database or table."""
    url = resolve_url(url)
    store = open_store(url, clock=clock)  # validates the URL and its scheme first
    try:
        if url.split(":", 1)[0].lower() == "sqlite":
            _check_sqlite(url, Path(sqlite_path(url)))
        else:
            _check_postgres(url)
    except BaseException:
        store.close()
        raise
    return store


def _check_sqlite(url: str, path: Path) -> None:
    shown = redact(url)
    if not path.parent.is_dir():
        raise StoreUnavailable(shown, f"directory {os.fspath(path.parent)!r} does not exist")
    if not path.is_file():
        raise StoreNotFound(
            f"no sluice store at {shown}: file {os.fspath(path)!r} does not exist (check the "
            "path: a worker, or the app on first use, creates the store)"
        )
    try:  # read-only: probing must not change a file that is not ours
        probe = sqlite3.connect(f"file:{quote(os.fspath(path.absolute()))}?mode=ro", uri=True)
        try:
            found = probe.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (SCHEMA_TABLE,)
            ).fetchone()
        finally:
            probe.close()
    except sqlite3.DatabaseError as exc:
        raise StoreNotFound(
            f"no sluice store at {shown}: {os.fspath(path)!r} is not a database ({exc})"
        ) from exc
    if found is None:
        raise StoreNotFound(f"no sluice store at {shown}: the database has no sluice tables")


def _check_postgres(url: str) -> None:
    import psycopg

    from sluice.store.postgres import CONNECT_TIMEOUT

    try:
        with psycopg.connect(url, connect_timeout=int(CONNECT_TIMEOUT)) as conn:
            row = conn.execute("SELECT to_regclass(%s)", (SCHEMA_TABLE,)).fetchone()
    except psycopg.Error as exc:
        raise StoreUnavailable(redact(url), str(exc).strip() or type(exc).__name__) from exc
    if row is None or row[0] is None:
        raise StoreNotFound(f"no sluice store at {redact(url)}: the database has no sluice tables")
