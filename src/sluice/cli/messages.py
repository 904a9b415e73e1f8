"""``sluice messages``: find messages by any field, live or dead, a page at a time; show one's
status (finished ones too, on queues with ``keep_completed``); cancel one."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from sluice import codec
from sluice.cli import Context, cli, pass_context
from sluice.cli.format import age, clip, print_table
from sluice.store.search import STATES, Found, MessageFilter
from sluice.views import stamp
from sluice.web.views import status_view


@cli.group()
def messages() -> None:
    """Find messages, show one's status, cancel one."""


@messages.command("list")
@click.option("--id", "ids", type=int, multiple=True, help="This message (repeatable).")
@click.option("--dedup-id", default=None, help="Messages with this dedup id.")
@click.option("--queue", default=None, help="Messages of this queue and its DLQ.")
@click.option("--action", default=None, help="Messages for this action.")
@click.option("--run", "run_id", default=None, help="Messages of this run.")
@click.option("--state", type=click.Choice(STATES), default=None, help="Only in this state.")
@click.option("--error-contains", default=None, help="Last error has this (case-sensitive).")
@click.option("--errored", is_flag=True, help="Only messages with a last error.")
@click.option("--older-than", type=click.FloatRange(min=0), default=None, help="Seconds.")
@click.option("--newer-than", type=click.FloatRange(min=0), default=None, help="Seconds.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--cursor", default=None, help="The cursor a previous page printed.")
@pass_context
def list_(
    ctx: Context,
    ids: tuple[int, ...],
    dedup_id: str | None,
    queue: str | None,
    action: str | None,
    run_id: str | None,
    state: Any,
    error_contains: str | None,
    errored: bool,
    older_than: float | None,
    newer_than: float | None,
    limit: int,
    cursor: str | None,
) -> None:
    """Search messages by id, dedup id, queue, action, run, state, error text and age."""
    where = MessageFilter(
        list(ids) or None,
        dedup_id,
        queue,
        action,
        run_id,
        state,
        error_contains,
        min_age=older_than,
        max_age=newer_than,
        errored=errored or None,
    )
    with ctx.store() as store:
        page = store.search_messages(where, limit=limit, cursor=cursor)
        now = store.clock()
    if ctx.as_json:
        ctx.emit({"messages": [found_json(f) for f in page.found], "cursor": page.cursor})
        return
    if not page.found:
        click.echo("no messages match")
        return
    table = Table(title="messages")
    for column in ("id", "queue", "action", "state", "receives", "age", "last error"):
        table.add_column(column)
    for f in page.found:
        m = f.message
        table.add_row(
            str(m.id),
            m.queue,
            m.action,
            f.state,
            str(m.receive_count),
            age(max(0.0, now - m.enqueued_at)),
            clip(m.last_error, 40),
        )
    print_table(table)
    if page.cursor is not None:
        click.echo(f"more: --cursor {page.cursor}")


def found_json(f: Found) -> dict[str, Any]:
    m = f.message
    return {
        "id": m.id,
        "queue": m.queue,
        "action": m.action,
        "state": f.state,
        "dedup_id": m.dedup_id,
        "run_id": m.run_id,
        "receive_count": m.receive_count,
        "enqueued_at": m.enqueued_at,
        "last_error": m.last_error,
    }


@messages.command("cancel")
@click.argument("message_id", type=click.IntRange(min=1))
@pass_context
def cancel(ctx: Context, message_id: int) -> None:
    """Cancel a waiting, delayed or in-flight message (an in-flight one's ack is refused)."""
    with ctx.store() as store:
        was = store.cancel(message_id)
    if ctx.as_json:
        ctx.emit({"message_id": message_id, "cancelled": True, "was": was})
    else:
        click.echo(f"cancelled message {message_id} ({was.replace('_', ' ')})")


@messages.command("show")
@click.argument("message_id", type=click.IntRange(min=1))
@pass_context
def show(ctx: Context, message_id: int) -> None:
    """Show a message's status: waiting, delayed, in flight, succeeded, dead or cancelled."""
    with ctx.store() as store:
        view = status_view(store, message_id)
    if ctx.as_json:
        ctx.emit(view)
        return
    table = Table(title=f"message {message_id}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    result = "-" if view["result"] is None else codec.dumps(view["result"]).decode()
    for key, value in [
        ("state", view["state"].replace("_", " ")),
        ("queue", view["queue"]),
        ("action", view["action"]),
        ("run", view["run_id"] or "-"),
        ("receives", str(view["receive_count"])),
        ("enqueued", stamp(view["enqueued_at"])),
        ("visible at", stamp(view["visible_at"]) or "-"),
        ("finished", stamp(view["finished_at"]) or "-"),
        ("record expires", stamp(view["expires_at"]) or "-"),
        ("dead reason", view["dead_reason"] or "-"),
        ("last error", clip(view["last_error"], 200) or "-"),
        ("result", clip(result, 200)),
        ("result note", view["result_note"] or "-"),
    ]:
        table.add_row(key, value)
    print_table(table)
