"""A message's status as :meth:`Store.status` reads it: live, dead, or finished with a record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

StatusState = Literal["waiting", "delayed", "in_flight", "succeeded", "dead", "cancelled"]
"""What a message is doing: ``waiting`` (visible), ``delayed`` (not visible yet, no lease),
``in_flight`` (leased by a worker), or finished: ``succeeded`` (acked), ``dead`` (a dead
letter) or ``cancelled`` (by ``cancel`` or a cancelled run)."""
DONE_STATES: tuple[StatusState, ...] = ("succeeded", "dead", "cancelled")

RESULT_LIMIT = 64 * 1024
"""Bytes of JSON a completion record keeps of a handler's return value; a larger (or non-JSON)
value is not kept: the record says why in ``result_note`` and ``result`` is None."""


@dataclass(frozen=True, slots=True)
class MessageStatus:
    """One message's status with its times (epoch seconds of the store's clock).

    ``finished_at`` is set once it finished (the ack, the cancel or the dead-lettering);
    ``expires_at`` is when a completion record is dropped (None while the message lives:
    dead letters stay until purged or redriven). ``result`` is the handler's return value
    (``succeeded`` only, when it was JSON within :data:`RESULT_LIMIT`), ``result_note`` why
    it was not kept otherwise."""

    id: int
    state: StatusState
    queue: str
    action: str
    run_id: str | None
    receive_count: int
    enqueued_at: float
    visible_at: float | None = None
    finished_at: float | None = None
    expires_at: float | None = None
    result: Any = None
    result_note: str | None = None
    last_error: str | None = None
    dead_reason: str | None = None

    @property
    def finished(self) -> bool:
        """Whether the message will not run again (short of a redrive of a dead letter)."""
        return self.state in DONE_STATES

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape the API and ``sluice messages show --json`` print."""
        return {name: getattr(self, name) for name in self.__slots__}
