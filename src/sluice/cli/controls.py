"""Operator controls on the command line: ``sluice queues pause|resume``, ``sluice limits``
(list, set, reset), ``sluice schedules pause|resume``, ``sluice rules disable|enable`` and
``sluice audit``. Each change goes through :mod:`sluice.operate` (as the API's do) and is
recorded in the audit log as ``local``."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import click
from rich.table import Table

from sluice import operate
from sluice.cli import Context, cli, count_option, pass_context, queue_name
from sluice.cli.format import print_table
from sluice.cli.listings import rules, schedules
from sluice.cli.queues import queues


def _done(ctx: Context, result: dict[str, Any], line: str) -> None:
    if ctx.as_json:
        ctx.emit(result)
    else:
        click.echo(line)


def _toggle(
    group: click.Group,
    verb: str,
    change: Callable[..., dict[str, Any]],
    value: bool,
    help: str,
    callback: Callable[..., str] | None = None,
) -> None:
    """Register ``sluice GROUP VERB NAME``: ``change(store, NAME, value)`` and one line."""

    @group.command(verb, help=help)
    @click.argument("name", callback=callback)
    @pass_context
    def command(ctx: Context, name: str) -> None:
        with ctx.store() as store:
            done = change(store, name, value)
        line = f"{group.name} {name}: {verb}d"
        if done.get("next_at") is not None:
            at = datetime.datetime.fromtimestamp(done["next_at"], datetime.UTC).isoformat()
            line += f", next tick {at}"
        _done(ctx, done, line)


_toggle(
    queues,
    "pause",
    operate.pause_queue,
    True,
    "Pause queue NAME: no worker claims from it (running calls finish); enqueueing goes on.",
    queue_name,
)
_toggle(
    queues,
    "resume",
    operate.pause_queue,
    False,
    "Resume queue NAME: workers claim from it again within about a second.",
    queue_name,
)


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


_toggle(
    schedules,
    "pause",
    operate.pause_schedule,
    True,
    "Pause schedule NAME: it fires no tick until resumed.",
)
_toggle(
    schedules,
    "resume",
    operate.pause_schedule,
    False,
    "Resume schedule NAME from its next tick (ticks missed while paused are skipped).",
)


_toggle(
    rules,
    "disable",
    operate.disable_rule,
    True,
    "Disable rule NAME: it routes no published event until enabled.",
)
_toggle(rules, "enable", operate.disable_rule, False, "Enable rule NAME again.")


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
