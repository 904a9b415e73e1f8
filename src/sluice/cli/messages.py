"""``sluice messages``: one message by id (cancel)."""

from __future__ import annotations

import click

from sluice.cli import Context, cli, pass_context


@cli.group()
def messages() -> None:
    """One message by id."""


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
