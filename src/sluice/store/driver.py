"""The driver protocol: all that differs between databases, under the one store engine.

The engine (:class:`sluice.store.base.Store` and the modules it calls) holds every algorithm and
speaks to its database only through a :class:`Driver`: transactions, named queries from the
backend's ``sql/<backend>/queries.sql`` (the same names on every backend, see
``tests/store/test_query_contract.py``), batched writes, message insertion with id assignment,
wake-ups, and upkeep. A new backend is a new driver and a new ``queries.sql``.

Parameters cross the seam as Python values: a list is one array parameter (a JSON array on
SQLite, an array on PostgreSQL), :class:`Pairs` a list of pairs, :meth:`Driver.json` a JSON
document.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

if TYPE_CHECKING:
    from sluice.store.rows import Row

Params = Mapping[str, Any] | Sequence[Any]
T = TypeVar("T")


class WouldWait(BaseException):
    """Raised by :meth:`Driver.unblocked` before anything is written. A BaseException, so
    that the per-item ``except Exception`` of a write function lets it through to the caller,
    which runs the function again where waiting is fine (a thread)."""


class Pairs(NamedTuple):
    """Two parallel lists passed as one list of pairs (``firsts[i]``, ``seconds[i]``)."""

    firsts: Sequence[Any]
    seconds: Sequence[Any]


class Stored(NamedTuple):
    """What :meth:`Driver.insert` stored: row indexes with their new ids, and the dedup keys
    that a concurrent writer took first (those rows were not stored)."""

    indexes: list[int]
    ids: list[int]
    lost: list[tuple[str, str]]


class Driver(Protocol):
    """One database's connections, SQL dialect and upkeep."""

    backend: str
    """The name of the backend's SQL folder (``sqlite``, ``postgres``)."""
    url: str
    """The database URL, password redacted."""
    autocommit: bool
    """Whether single-statement calls may skip an explicit transaction (the fast paths)."""

    # -- transactions ----------------------------------------------------------------------
    def write(self) -> AbstractContextManager[Any]:
        """A write transaction; yields the handle :meth:`rows` takes."""

    def auto(self) -> AbstractContextManager[Any]:
        """A handle for one atomic write statement (autocommit where there is one)."""

    def read(self) -> AbstractContextManager[Any]:
        """A handle for reads (and the fast paths' single statements, where autocommit)."""

    def nested(self, db: Any) -> AbstractContextManager[Any]:
        """A savepoint inside ``db`` (where a statement must be atomic with its follow-ups)."""

    def begin(self) -> AbstractContextManager[Any]:
        """A user transaction yielding the native connection (see ``Store.begin``)."""

    def unblocked(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in this thread, its first write transaction started only if
        that needs no wait (later ones wait as usual); :class:`WouldWait` (nothing written)
        if it would have waited, or if every call of this backend waits on a server."""

    async def on_loop(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` on the running event loop's thread without blocking the loop:
        :meth:`unblocked` (SQLite, so :class:`WouldWait` if its lock is held), or with every
        wait on the server awaited by the loop (PostgreSQL)."""

    def joined(self, tx: Any) -> AbstractContextManager[Any]:
        """The handle for running the store's queries inside the user transaction ``tx``."""

    def adopt(self, connection: Any) -> Any:
        """The caller's own open connection as a ``tx`` for :meth:`joined`, after checking
        that it is of this backend's kind, open, in a transaction (or about to start one)
        and connected to this store's database (``WrongConnection`` otherwise)."""

    # -- queries ---------------------------------------------------------------------------
    def rows(self, db: Any, name: str, params: Params = ()) -> list[Any]:
        """Run the named query; its rows ([] if it returns none)."""

    def count(self, db: Any, name: str, params: Params = ()) -> int:
        """Run the named query; how many rows it changed."""

    def many(self, db: Any, name: str, rows: Sequence[Mapping[str, Any]], **shared: Any) -> None:
        """Run the named write once per row (or once for all rows: PostgreSQL reads each key
        as an array), with the ``shared`` parameters common to every row."""

    def json(self, value: Any) -> Any:
        """``value`` as a JSON parameter."""

    # -- messages --------------------------------------------------------------------------
    def insert(self, db: Any, rows: Sequence[Row], indexes: Sequence[int], now: float) -> Stored:
        """Insert ``rows[i]`` for ``i`` in ``indexes`` with ascending new ids, and record their
        dedup ids (a dedup id a concurrent writer stored first is *lost*: its row is skipped)."""

    def lock_groups(self, db: Any, exclusive: bool) -> None:
        """Guard FIFO group rows: shared while adding some, exclusive while dropping empty ones."""

    def notify(self, db: Any, queues: Sequence[str]) -> None:
        """Wake waiters of ``queues`` when ``db`` commits."""

    def wait(
        self, queues: Sequence[str], timeout: float, ready: Callable[[Any], bool]
    ) -> list[str]:
        """Block until ``ready(db)`` (new work may be in ``queues``) or ``timeout`` passes;
        return the queues that may have new work, in ``queues``' order: those a wake-up named,
        or all of them when that is not known; [] when the time ran out."""

    # -- schema and upkeep -----------------------------------------------------------------
    def lock_schema(self, db: Any) -> None:
        """Serialize concurrent migrations."""

    def run_script(self, db: Any, script: str) -> None:
        """Run one migration script."""

    def upkeep(self) -> None:
        """Database maintenance after housekeeping (vacuum when bloated)."""

    def close(self) -> None:
        """Release connections."""
