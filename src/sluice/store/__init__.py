"""Store backends and the URL that picks one."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from sluice.errors import ConfigError
from sluice.store.base import Clock, Store

DEFAULT_URL = "sqlite:///sluice.db"


def resolve_url(url: str | None) -> str:
    """``url``, else ``$SLUICE_URL``, else the embedded default ``sqlite:///sluice.db``."""
    return url or os.environ.get("SLUICE_URL") or DEFAULT_URL


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]  # as written: a malformed port must not raise here
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def open_store(url: str | None = None, clock: Clock | None = None) -> Store:
    """Open (without migrating) the store named by ``url`` (see :func:`resolve_url`).

    ``sqlite:///relative.db``, ``sqlite:////absolute/path.db``, ``postgresql://user@host/db``.
    """
    url = resolve_url(url)
    try:
        urlsplit(url).port  # noqa: B018  (validates the port)
    except ValueError as exc:
        raise ConfigError(f"invalid store URL {redact(url)!r}: {exc}") from exc
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from sluice.store.sqlite import SqliteStore

        return SqliteStore(url, clock=clock)
    if scheme in ("postgresql", "postgres"):
        from sluice.store.postgres import PostgresStore

        return PostgresStore(url, clock=clock)
    raise ConfigError(
        f"unsupported store URL {redact(url)!r}: use sqlite:///path/to/file.db or "
        "postgresql://user@host:port/db"
    )


__all__ = ["DEFAULT_URL", "Store", "open_store", "redact", "resolve_url"]
