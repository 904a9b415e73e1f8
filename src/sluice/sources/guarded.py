"""The handler wrapper that the file and bucket sources share: ask the source whether each
message's file or object is still to process before the handler gets it, and hook the
source's moves onto the worker's settle step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from sluice.errors import FileRefused
from sluice.model import Message, Partial
from sluice.worker.actions import Action, Settled

ToHandle = Callable[[Any], bool]
"""Whether the handler gets a body; raises ``FileRefused`` (dead-lettered at once) or
``FileNotFoundError`` (retried, then dead-lettered) for one it must not get."""


def _split(to_handle: ToHandle, messages: list[Message]) -> tuple[list[Message], dict[int, str]]:
    """The messages to hand to the handler, and those to fail through ``Partial``."""
    todo: list[Message] = []
    failed: dict[int, str] = {}
    for message in messages:
        try:
            if to_handle(message.body):
                todo.append(message)
        except (FileRefused, FileNotFoundError) as exc:
            failed[message.id] = str(exc)
    return todo, failed


def _merge(result: Any, failed: dict[int, str]) -> Any:
    if not failed:
        return result
    if isinstance(result, Partial):
        return Partial({**failed, **result.failed})
    return Partial(failed)


def guard(
    action: Action, to_handle: ToHandle, settle: Callable[[Sequence[Settled]], None]
) -> Action:
    """``action`` with a handler that only gets the messages ``to_handle`` accepts (failing
    the ones it raises for) and ``settle`` as its settle hook."""
    handler = action.handler
    wrapped: Any
    if action.takes_batches and action.is_async:

        async def wrapped(messages: list[Message], ctx: Any) -> Any:
            todo, failed = _split(to_handle, messages)
            return _merge(await handler(todo, ctx) if todo else None, failed)

    elif action.takes_batches:

        def wrapped(messages: list[Message], ctx: Any) -> Any:
            todo, failed = _split(to_handle, messages)
            return _merge(handler(todo, ctx) if todo else None, failed)

    elif action.is_async:

        async def wrapped(body: Any, ctx: Any) -> Any:
            return await handler(body, ctx) if to_handle(body) else None

    else:

        def wrapped(body: Any, ctx: Any) -> Any:
            return handler(body, ctx) if to_handle(body) else None

    wrapped.__name__ = getattr(handler, "__name__", action.name)
    wrapped.__doc__ = handler.__doc__
    return replace(action, handler=wrapped, on_settled=settle)
