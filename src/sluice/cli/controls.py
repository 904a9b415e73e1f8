"""Operator controls on the command line: ``sluice queues pause|resume``, ``sluice limits``
(list, set, reset), ``sluice schedules pause|resume``, ``sluice rules disable|enable`` and
``sluice audit``. Each change goes through :mod:`sluice.operate` (as the API's do) and is
recorded in the audit log as ``local``."""

from __future__ import annotations

import datetime
from typing import Any

import click
from rich.table import Table

from sluice import operate
from sluice.cli import Context, cli, count_option, pass_context, queue_name
from sluice.cli.format import print_table
from sluice.cli.queues import queues


def _done(ctx: Context, result: dict[str, Any], line: str) -> None:
    if ctx.as_json:
        ctx.emit(result)
    else:
        click.echo(line)


@queues.command("pause")
@click.argument("name", callback=queue_name)
@pass_context
def pause_queue(ctx: Context, name: str) -> None:
    """Pause queue NAME: no worker claims from it (running calls finish); enqueueing goes on."""
    with ctx.store() as store:
        done = operate.pause_queue(store, name, True)
    _done(ctx, done, f"queue {name} paused" + (" (it was already)" if done["was_paused"] else ""))


@queues.command("resume")
@click.argument("name", callback=queue_name)
@pass_context
def resume_queue(ctx: Context, name: str) -> None:
    """Resume queue NAME: workers claim from it again within about a second."""
    with ctx.store() as store:
        done = operate.pause_queue(store, name, False)
    _done(ctx, done, f"queue {name} resumed" + ("" if done["was_paused"] else " (not paused)"))


def _number(value: float | int | None) -> str:
    return "-" if value is None else f"{value:g}"


@cli.group(invoke_without_command=True)
@pass_context
@click.pass_context
def limits(click_ctx: click.Context, ctx: Context) -> None:
    """List every action's limits: declared, live override, and in force."""
    if click_ctx.invoked_subcommand is not None:
        return
    with ctx.store() as store:
        views = [operate.limit_view(info) for info in store.limit_infos()]
    if ctx.as_json:
        ctx.emit(views)
        return
    table = Table(title="action limits (rate in messages per second)")
    columns = ("action", "concurrency", "rate", "override conc.", "override rate", "adaptive")
    for column in columns:
        table.add_column(column, justify="left" if column == "action" else "right")
    for v in views:
        table.add_row(
            v["action"],
            _number(v["concurrency"]),
            _number(v["rate"]),
            _number(v["override_concurrency"]),
            _number(v["override_rate"]),
            _number(v["effective"]),
        )
    print_table(table)


@limits.command("set")
@click.argument("action")
@click.option("--concurrency", type=click.IntRange(min=1), help="Calls in flight at most.")
@click.option("--rate", help="Starts per time, in the code's syntax: 5/s, 30/m, 100/h.")
@pass_context
def set_limits(ctx: Context, action: str, concurrency: int | None, rate: str | None) -> None:
    """Override ACTION's concurrency and/or rate until `sluice limits reset ACTION`."""
    with ctx.store() as store:
        view = operate.set_limits(store, action, concurrency, rate)
    force = view["in_force"]
    line = f"{action}: concurrency {_number(force['concurrency'])}, rate {_number(force['rate'])}/s"
    _done(ctx, view, f"{line} (override; workers obey it within about a second)")


@limits.command("reset")
@click.argument("action")
@pass_context
def reset_limits(ctx: Context, action: str) -> None:
    """Drop ACTION's override: the limits its code declares are in force again."""
    with ctx.store() as store:
        view = operate.reset_limits(store, action)
    force = view["in_force"]
    line = f"{action}: concurrency {_number(force['concurrency'])}, rate {_number(force['rate'])}/s"
    _done(ctx, view, f"{line} (as declared)")


@cli.group()
def schedules() -> None:
    """Pause and resume cron schedules."""


@schedules.command("pause")
@click.argument("name")
@pass_context
def pause_schedule(ctx: Context, name: str) -> None:
    """Pause schedule NAME: it fires no tick until resumed."""
    with ctx.store() as store:
        done = operate.pause_schedule(store, name, True)
    _done(ctx, done, f"schedule {name} paused")


@schedules.command("resume")
@click.argument("name")
@pass_context
def resume_schedule(ctx: Context, name: str) -> None:
    """Resume schedule NAME from its next tick (ticks missed while paused are skipped)."""
    with ctx.store() as store:
        done = operate.pause_schedule(store, name, False)
    at = datetime.datetime.fromtimestamp(done["next_at"], datetime.UTC).isoformat()
    _done(ctx, done, f"schedule {name} resumed: next tick {at}")


@cli.group()
def rules() -> None:
    """Disable and enable event rules."""


@rules.command("disable")
@click.argument("name")
@pass_context
def disable_rule(ctx: Context, name: str) -> None:
    """Disable rule NAME: it routes no published event until enabled."""
    with ctx.store() as store:
        done = operate.disable_rule(store, name, True)
    _done(ctx, done, f"rule {name} disabled")


@rules.command("enable")
@click.argument("name")
@pass_context
def enable_rule(ctx: Context, name: str) -> None:
    """Enable rule NAME again."""
    with ctx.store() as store:
        done = operate.disable_rule(store, name, False)
    _done(ctx, done, f"rule {name} enabled")


@cli.command()
@count_option("--limit", 50, "Entries to show, newest first.")
@pass_context
def audit(ctx: Context, limit: int) -> None:
    """Show the operator actions: who, what, on what, when, old and new value."""
    with ctx.store() as store:
        entries = [operate.audit_view(e) for e in store.audit(limit)]
    if ctx.as_json:
        ctx.emit(entries)
        return
    if not entries:
        click.echo("no operator actions recorded")
        return
    table = Table(title="audit log (newest first)")
    for column in ("when (UTC)", "who", "what", "target", "old", "new"):
        table.add_column(column)
    for e in entries:
        when = datetime.datetime.fromtimestamp(e["at"], datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(when, e["who"], e["what"], e["target"], str(e["old"]), str(e["new"]))
    print_table(table)
