"""Trace-context headers stored beside messages (``sluice_headers``, written by the insert path
when a message has ``headers``), and the claim that reads them back: a mixin of
:class:`~sluice.store.Store`, used only while tracing is on (``observe/tracing.py``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from sluice import codec
from sluice.model import Message

if TYPE_CHECKING:
    from sluice.store.base import Store


class HeaderVerbs:
    """``headers`` and ``claim_with_headers``."""

    def headers(self, ids: Sequence[int]) -> dict[int, dict[str, str]]:
        """The stored headers of these messages (those that have any), by id."""
        store = cast("Store", self)
        if not ids:
            return {}
        with store._driver.read() as db:
            rows = store._sql(db, "headers_get", (list(ids),))
        return {int(id_): codec.loads(text) for id_, text in rows}

    def claim_with_headers(
        self, queues: Sequence[str], n: int, lease: float | None = None
    ) -> list[Message]:
        """:meth:`Store.claim`, each message with the headers it was enqueued with."""
        store = cast("Store", self)
        claimed = store.claim(queues, n, lease)
        found = store.headers([m.id for m in claimed])
        if not found:
            return claimed
        return [dataclasses.replace(m, headers=found.get(m.id)) for m in claimed]
