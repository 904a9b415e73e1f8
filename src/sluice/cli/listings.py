"""``sluice schedules``, ``sluice rules`` and ``sluice events``: what is stored, listed."""

from __future__ import annotations

import click
from rich.table import Table

from sluice.cli import Context, cli, pass_context
from sluice.cli.format import clip, print_table
from sluice.views import event_json, rule_json, schedule_json, stamp


@cli.group(invoke_without_command=True)
@pass_context
@click.pass_context
def schedules(click_ctx: click.Context, ctx: Context) -> None:
    """List stored schedules: cron, action, next and last fire, misfire policy, paused."""
    if click_ctx.invoked_subcommand is not None:
        return
    with ctx.store() as store:
        stored = store.schedules()
        paused = store.paused_schedules()
    if ctx.as_json:
        ctx.emit([schedule_json(s, paused) for s in stored])
        return
    if not stored:
        click.echo("no schedules")
        return
    table = Table(title="schedules")
    for column in (
        "name",
        "cron",
        "action",
        "queue",
        "next fire",
        "last fire",
        "misfire",
        "paused",
    ):
        table.add_column(column)
    for s in stored:
        table.add_row(
            s.schedule.name,
            s.schedule.cron,
            s.schedule.action,
            s.schedule.queue,
            stamp(s.next_at),
            stamp(s.last_tick),
            s.schedule.misfire,
            "yes" if s.schedule.name in paused else "",
        )
    print_table(table)


@cli.command()
@click.option(
    "--since", type=click.FloatRange(min=0), default=3600, show_default=True, help="Seconds ago."
)
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@pass_context
def events(ctx: Context, since: float, limit: int) -> None:
    """List archived events published in the last --since seconds, oldest first."""
    with ctx.store() as store:
        now = store.clock()
        found = store.events(now - since, now + 1, limit)
    if ctx.as_json:
        ctx.emit([event_json(at, e) for at, e in found])
        return
    if not found:
        click.echo(f"no events in the last {since:g} s")
        return
    table = Table(title="events")
    for column in ("id", "source", "detail type", "published", "envelope"):
        table.add_column(column)
    for at, e in found:
        row = event_json(at, e)
        table.add_row(
            e.id, str(row["source"]), str(row["detail_type"]), stamp(at), clip(str(e.envelope), 50)
        )
    print_table(table)


@cli.group(invoke_without_command=True)
@pass_context
@click.pass_context
def rules(click_ctx: click.Context, ctx: Context) -> None:
    """List the event rules apps declared in this store, and whether each is disabled."""
    if click_ctx.invoked_subcommand is not None:
        return
    with ctx.store() as store:
        names = store.declared("rule")
        disabled = store.stopped("rule")
    if ctx.as_json:
        ctx.emit([rule_json(name, disabled) for name in names])
        return
    if not names:
        click.echo("no rules")
        return
    table = Table(title="rules")
    for column in ("name", "state"):
        table.add_column(column)
    for name in names:
        table.add_row(name, "disabled" if name in disabled else "enabled")
    print_table(table)
