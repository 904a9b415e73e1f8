"""``sluice dlq``: list, redrive and purge dead letters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.table import Table

from sluice import codec
from sluice.cli import Context, cli, pass_context, queue_name
from sluice.cli.format import age, clip, print_table
from sluice.model import Message
from sluice.store.search import MessageFilter

_F = TypeVar("_F", bound=Callable[..., Any])


@cli.group()
def dlq() -> None:
    """Inspect and act on a queue's dead letters."""


@dlq.command("list")
@click.argument("queue", callback=queue_name)
@click.option(
    "--limit", type=click.IntRange(min=1), default=100, show_default=True, help="How many to show."
)
@pass_context
def list_(ctx: Context, queue: str, limit: int) -> None:
    """List a queue's dead letters, oldest first."""
    with ctx.store() as store:
        dead = store.dlq_list(queue, limit=limit)
        now = store.clock()  # the time base of visible_at (the database's on PostgreSQL)
    if ctx.as_json:
        ctx.emit([_dead_letter(m) for m in dead])
        return
    if not dead:
        click.echo(f"no dead letters in {queue}.dlq")
        return
    table = Table(title=f"dead letters of {queue}")
    for column in ("id", "receives", "reason", "last error", "dead for"):
        table.add_column(column)
    for m in dead:
        table.add_row(
            str(m.id),
            str(m.receive_count),
            m.dead_reason or "",
            clip(m.last_error),
            age(max(0.0, now - m.visible_at)),
        )
    print_table(table)


def dead_filters(command: _F) -> _F:
    """The options choosing dead letters: the message search's filters (``MessageFilter``),
    the same the API's and the dashboard's selections take."""
    for option in reversed(
        (
            click.option("--id", "ids", type=int, multiple=True, help="This one (repeatable)."),
            click.option("--error-contains", default=None, help="Last error has this text."),
            click.option("--action", default=None, help="Messages for this action."),
            click.option("--run", "run_id", default=None, help="Messages of this run."),
            click.option("--dedup-id", default=None, help="Messages with this dedup id."),
            click.option("--older-than", type=click.FloatRange(min=0), help="Seconds."),
            click.option("--newer-than", type=click.FloatRange(min=0), help="Seconds."),
        )
    ):
        command = option(command)
    return command


def _chosen(ids: tuple[int, ...], older_than: Any, newer_than: Any, **fields: Any) -> MessageFilter:
    return MessageFilter(ids=list(ids) or None, min_age=older_than, max_age=newer_than, **fields)


@dlq.command()
@click.argument("queue", callback=queue_name)
@dead_filters
@pass_context
def redrive(ctx: Context, /, queue: str, **chosen: Any) -> None:
    """Move dead letters (all, or those the options choose) back to their queue with a fresh
    receive count; recorded in the audit log."""
    with ctx.store() as store:
        moved = store.redrive_dead(queue, _chosen(**chosen))
    if ctx.as_json:
        ctx.emit({"queue": queue, "redriven": moved})
    else:
        click.echo(f"redrove {moved} message{'s' * (moved != 1)} from {queue}.dlq to {queue}")


@dlq.command()
@click.argument("queue", callback=queue_name)
@dead_filters
@click.option("--yes", is_flag=True, help="Confirm: the dead letters are deleted for good.")
@pass_context
def purge(ctx: Context, /, queue: str, yes: bool, **chosen: Any) -> None:
    """Delete a queue's dead letters (all, or those the options choose; needs --yes);
    recorded in the audit log."""
    if not yes:
        with ctx.store() as store:
            count = store.count_dead(queue, _chosen(**chosen))
        raise click.UsageError(
            f"purge deletes {count} dead letter{'s' * (count != 1)} of {queue} for good: add --yes"
        )
    with ctx.store() as store:
        deleted = store.purge_dead(queue, _chosen(**chosen))
    if ctx.as_json:
        ctx.emit({"queue": queue, "purged": deleted})
    else:
        click.echo(f"purged {deleted} dead letter{'s' * (deleted != 1)} of {queue}")


def _dead_letter(message: Message) -> dict[str, Any]:
    body, body_error = codec.shown(message.body)
    return {
        "id": message.id,
        "action": message.action,
        "receive_count": message.receive_count,
        "dead_reason": message.dead_reason,
        "last_error": message.last_error,
        "enqueued_at": message.enqueued_at,
        "dead_since": message.visible_at,
        "body": body,
        "body_error": body_error,
    }
