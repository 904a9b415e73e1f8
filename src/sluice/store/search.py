"""Message search: one keyset-paged query over every message, live or dead, by any of its fields.

Pages are ordered by id (stable: ids never change and new messages get larger ones), so a
cursor is the last id shown and paging returns every matching message once, even while others
are added or acked. Three queries, so that each filter reaches its index: a search by ids reads
them by primary key; a search of one queue reads each of its two halves (the live messages,
the dead letters) from ``sluice_messages_search (queue, id)`` in id order and stops after a
page instead of sorting the queue; any other reads the table in id order. (One query with
``:queue IS NULL OR ...`` conditions had no index to use on SQLite: every page and every
``app.status`` read the table.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from sluice.errors import ConfigError
from sluice.model import DLQ_SUFFIX, Message, is_dlq
from sluice.store.rows import message_from_row

if TYPE_CHECKING:
    from collections.abc import Callable

    from sluice.store.driver import Driver, Params

State = Literal["waiting", "delayed", "in_flight", "dead"]
STATES: tuple[State, ...] = ("waiting", "delayed", "in_flight", "dead")
MAX_PAGE = 1000


@dataclass(frozen=True)
class MessageFilter:
    """What a search selects; every field left None matches all. ``queue`` matches the queue's
    live messages and its dead letters (``q.dlq``); ``error_contains`` is a case-sensitive
    substring of the last error, ``errored`` (True) selects messages that have one (failed
    at least once, or dead); ages are seconds since enqueue (``min_age``: at least this old,
    ``max_age``: at most)."""

    ids: Sequence[int] | None = None
    dedup_id: str | None = None
    queue: str | None = None
    action: str | None = None
    run_id: str | None = None
    state: State | None = None
    error_contains: str | None = None
    min_age: float | None = None
    max_age: float | None = None
    errored: bool | None = None

    def __post_init__(self) -> None:
        if self.state is not None and self.state not in STATES:
            raise ConfigError(
                f"unknown message state {self.state!r}: use one of {', '.join(STATES)}"
            )
        for name in ("min_age", "max_age"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise ConfigError(f"{name} must be a number of seconds >= 0, got {value!r}")


class Found(NamedTuple):
    """A message a search found, with its state at the time of the search."""

    message: Message
    state: State


class MessagePage(NamedTuple):
    """One page of a search; ``cursor`` fetches the next (None: this was the last)."""

    found: list[Found]
    cursor: str | None


def parse_cursor(cursor: str | None) -> int:
    """The id a cursor token stands for (0 for none); a bad token is a clear error."""
    if cursor is None or cursor == "":
        return 0
    if not cursor.isdigit() or len(cursor) > 19:
        raise ConfigError(f"bad cursor {cursor[:40]!r}: pass the cursor of the previous page")
    return int(cursor)


def params(f: MessageFilter, now: float, after: int, limit: int) -> dict[str, Any]:
    """The ``search_messages`` query's parameters for a filter."""
    return {
        "now": now,
        "after": after,
        "limit": limit + 1,
        "ids": None if f.ids is None else list(f.ids),
        "dedup_id": f.dedup_id,
        "queue": f.queue,
        # search_queue's halves (None: the state rules the half out): a queue's live messages
        # are never dead unless it is a DLQ itself, and its dead letters are only dead
        "live": None if f.state == "dead" and not is_dlq(f.queue or "") else f.queue,
        "dlq": None if f.queue is None or f.state not in (None, "dead") else f.queue + DLQ_SUFFIX,
        "action": f.action,
        "run_id": f.run_id,
        "state": f.state,
        "contains": f.error_contains,
        "errored": True if f.errored else None,
        "oldest": None if f.max_age is None else now - f.max_age,
        "newest": None if f.min_age is None else now - f.min_age,
    }


class SearchVerbs:
    """The Store's search verb (a mixin of :class:`~sluice.store.base.Store`)."""

    if TYPE_CHECKING:
        _driver: Driver
        clock: Callable[[], float]

        def _sql(self, db: Any, name: str, params: Params = ()) -> list[Any]: ...

    def search_messages(
        self, where: MessageFilter, limit: int = 50, cursor: str | None = None
    ) -> MessagePage:
        """Messages matching ``where``, ``limit`` a page (1..1000) in id order, from ``cursor``."""
        if not 1 <= limit <= MAX_PAGE:
            raise ConfigError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
        after = parse_cursor(cursor)
        now = self.clock()
        chosen = params(where, now, after, limit)
        with self._driver.read() as db:
            if where.ids is not None:
                rows = self._sql(db, "search_ids", chosen)
            elif where.queue is not None:
                rows = self._sql(db, "search_queue", chosen)
            else:
                rows = self._sql(db, "search_messages", chosen)
        found = [Found(message_from_row(row[:15]), row[15]) for row in rows[:limit]]
        more = len(rows) > limit
        return MessagePage(found, str(found[-1].message.id) if more else None)
