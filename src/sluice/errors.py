"""sluice's exceptions: one tree rooted at :class:`SluiceError`.

::

    SluiceError
    ├── ConfigError                 a value in a policy or URL is invalid
    │   ├── InvalidQueueName
    │   └── InvalidPattern          an event pattern is malformed (the message names the path)
    ├── UnknownQueue                a message names a queue the store does not know
    ├── UnknownAction               an enqueue names an action the app does not know
    ├── MessageError                a message cannot be stored as given
    │   ├── MessageTooLarge
    │   └── BodyNotSerializable
    ├── RunError                    a run cannot take what was asked
    │   ├── UnknownRun              no run has this id
    │   └── RunSealed               the run's discovery is over: its first stage is closed
    ├── UnknownMessage              no message (nor completion record) has this id
    ├── MessageIsDead               a dead letter cannot be cancelled
    ├── NotFinished                 ``result()`` timed out before the message finished
    ├── MessageFailed               ``result()`` of a message that died or was cancelled
    ├── StoreError                  the store cannot do what was asked
    │   ├── StoreUnavailable        the database cannot be reached
    │   └── SchemaMismatch          the store's schema is newer than this library
    └── HandlerSignal               raised by a handler to steer what happens to its messages
        ├── Retry                   retry after a given delay
        ├── Backoff                 downstream is overloaded: retry later, run fewer at once
        └── Discard                 dead-letter at once with a reason
            └── FileRefused         a file message names a path its watch does not take

An exception's docstring is its default message.
"""

from __future__ import annotations

from typing import Any


class SluiceError(Exception):
    """sluice failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (type(self).__doc__ or "").strip())


class ConfigError(SluiceError, ValueError):
    """A configuration value is invalid."""


class WrongConnection(ConfigError):
    """The connection passed as ``connection=`` cannot carry this enqueue."""


class InvalidQueueName(ConfigError):
    """A queue name may hold only letters, digits, '-', '_' and '.', and at most 80 characters."""


class InvalidPattern(ConfigError):
    """The event pattern is malformed."""


class UnknownQueue(SluiceError, LookupError):
    """The queue is not known to this store: declare it with app.queue(name) first."""


class UnknownAction(SluiceError, LookupError):
    """The action is not registered with this app: declare it with @app.action first."""


class UnknownSchedule(SluiceError, LookupError):
    """No schedule of this name is stored: declare it with @app.schedule first."""


class UnknownRule(SluiceError, LookupError):
    """No rule of this name was declared: declare it with app.rule first."""


class MessageError(SluiceError, ValueError):
    """The message cannot be stored as given; nothing was stored."""

    stored: int = 0
    """Messages that earlier chunks of the same ``enqueue_many`` or ``discover`` had committed
    before this error (they stay stored): 0 unless raised mid-stream."""
    item: int | None = None
    """The position (from 0) of the offending item in the input of ``enqueue_many`` or of the
    discovery, when raised mid-stream."""

    def __init__(self, detail: str | None = None, *, stored_nothing: bool = False) -> None:
        self.detail = detail or (type(self).__doc__ or "").strip()
        """The fault alone, without what became of the batch."""
        super().__init__(f"{self.detail}; nothing was stored" if stored_nothing else self.detail)

    def mid_stream(self, item: int, stored: int, outcome: str) -> MessageError:
        """Say which item failed, how many messages earlier chunks stored and how to resume
        (``outcome``); return the error, ready to raise again."""
        self.item, self.stored = item, stored
        self.args = (f"item {item}: {self.detail}; {outcome}",)
        return self


class MessageTooLarge(MessageError):
    """The message body is larger than the queue's max_message_bytes."""

    def __init__(self, size: int, limit: int, queue: str) -> None:
        super().__init__(
            f"message body is {size} bytes, above the limit of {limit} bytes of queue "
            f"{queue!r} (raise max_message_bytes or configure a blob store)",
            stored_nothing=True,
        )
        self.size = size
        self.limit = limit
        self.queue = queue


class BodyNotSerializable(MessageError):
    """The message body cannot be stored as JSON."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, stored_nothing=True)


class RunError(SluiceError):
    """The run cannot take what was asked."""


class UnknownRun(RunError, LookupError):
    """No run has this id."""


class RunSealed(RunError):
    """The run is sealed: its total is fixed, so nothing more can be enqueued into it from
    outside its own handlers (handlers may still add children with ``ctx.enqueue(run=ctx.run)``)."""


class UnknownMessage(SluiceError, LookupError):
    """No waiting, delayed or in-flight message has this id: it never existed, or it finished
    (an acknowledged message is deleted)."""


class MessageFinished(SluiceError):
    """The message has finished (succeeded, dead or cancelled: its completion record says
    so), so there is nothing to cancel."""


class MessageIsDead(MessageFinished):
    """The message is a dead letter: it has finished, so it cannot be cancelled (purge or
    redrive its dead-letter queue instead)."""


class NotFinished(SluiceError, TimeoutError):
    """The message has not finished within the timeout: wait longer, or read its status."""


class MessageFailed(SluiceError):
    """The message did not succeed: it is a dead letter, or it was cancelled."""

    status: Any = None
    """The :class:`~sluice.model.MessageStatus` it finished with."""


class StoreError(SluiceError):
    """The store could not complete the operation."""


class StoreUnavailable(StoreError):
    """The store cannot be reached."""

    def __init__(self, url: str, cause: BaseException | str) -> None:
        super().__init__(f"store {url} is unavailable: {cause}")
        self.url = url


class StoreNotFound(StoreError, LookupError):
    """No sluice store is at the URL (and the tool asking must not create one)."""


class SchemaMismatch(StoreError):
    """The store's schema was written by a newer sluice; upgrade sluice to use it."""


class HandlerSignal(SluiceError):
    """A handler's instruction about the messages it was given."""


class Retry(HandlerSignal):
    """Retry the message(s) after ``delay`` seconds instead of the computed backoff."""

    def __init__(self, delay: float = 0.0, reason: str | None = None) -> None:
        super().__init__(reason or f"retry requested in {delay:g}s")
        self.delay = delay


class Backoff(HandlerSignal):
    """The downstream system is overloaded: retry with backoff and lower the concurrency."""


class Discard(HandlerSignal):
    """Dead-letter the message(s) at once with this reason; no more retries."""

    def __init__(self, reason: str = "discarded by handler") -> None:
        super().__init__(reason)
        self.reason = reason


class FileRefused(Discard):
    """A file message names a path outside its watch's root (or through a symlink), or a
    version of the file that is not there: the message is dead-lettered with this reason."""
