"""``sluice runs``: list runs, show one, watch one live, cancel one."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table

from sluice.cli import Context, cli, pass_context, redact_all
from sluice.cli.format import age, print_table
from sluice.errors import RunError

if TYPE_CHECKING:
    from sluice.model import RunState
    from sluice.store import Store

STATUS_STYLE = {
    "discovering": "cyan",
    "running": "yellow",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "magenta",
}


def _status(state: RunState) -> str:
    return f"[{STATUS_STYLE.get(state.status, 'white')}]{state.status}[/]"


def _eta(state: RunState) -> str:
    return age(state.eta) if state.eta is not None else "-"


def _rate(state: RunState) -> str:
    return f"{state.rate:,.0f}/s" if state.rate is not None else "-"


@cli.group(invoke_without_command=True)
@click.option("--limit", default=50, show_default=True, help="How many runs, newest first.")
@pass_context
@click.pass_context
def runs(click_ctx: click.Context, ctx: Context, limit: int) -> None:
    """List runs: status, progress, failures, dead, rate, ETA."""
    if click_ctx.invoked_subcommand is not None:
        return
    with ctx.store() as store:
        states = store.runs(limit)
    if ctx.as_json:
        ctx.emit([s.to_dict() for s in states])
        return
    if not states:
        click.echo(f"no runs in {redact_all(ctx.url)}")
        return
    table = Table(title=f"runs in {redact_all(ctx.url)}")
    for column in ("id", "name", "status", "done/total", "failed", "dead", "rate", "ETA"):
        table.add_column(column, justify="right" if column not in ("id", "name") else "left")
    for s in states:
        table.add_row(
            escape(s.id),
            escape(s.name),
            _status(s),
            f"{s.done:,}/{s.total:,}",
            f"{s.failed:,}",
            f"[red]{s.dead:,}[/red]" if s.dead else "0",
            _rate(s),
            _eta(s),
        )
    print_table(table)


def stage_label(index: int, stages: int) -> str:
    """A stage as the dashboard shows it too: counted from 1, of how many ("1/3")."""
    return f"{index + 1}/{stages}"


@runs.command("show")
@click.argument("run_id")
@pass_context
def show(ctx: Context, run_id: str) -> None:
    """Show one run with its stages."""
    with ctx.store() as store:
        state = store.run_state(run_id)
    if ctx.as_json:
        ctx.emit(state.to_dict())
        return
    console = Console()
    summary = Table(title=f"run {escape(state.id)} ({escape(state.name)})", show_header=False)
    summary.add_column(style="bold")
    summary.add_column()
    for key, value in [
        ("status", _status(state)),
        ("stage", stage_label(state.stage, len(state.stages))),
        ("done / total", f"{state.done:,} / {state.total:,}"),
        ("succeeded", f"{state.succeeded:,}"),
        ("failed attempts", f"{state.failed:,}"),
        ("dead", f"{state.dead:,}"),
        ("rows", f"{state.units:,}" if state.units else "-"),
        ("rate", _rate(state)),
        ("ETA", _eta(state)),
        ("started", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(state.started_at))),
        ("checkpoint", "-" if state.checkpoint is None else repr(state.checkpoint)),
    ]:
        summary.add_row(key, value)
    print_table(summary, console)
    stages = Table(title="stages")
    for column in ("#", "action", "total", "succeeded", "failed", "dead", "state"):
        stages.add_column(column, justify="right" if column not in ("action", "state") else "left")
    for s in state.stages:
        where = "done" if s.finished else ("open" if not s.sealed else "running")
        stages.add_row(
            stage_label(s.index, len(state.stages)),
            s.action or "(any)",
            f"{s.total:,}",
            f"{s.succeeded:,}",
            f"{s.failed:,}",
            f"{s.dead:,}",
            where,
        )
    print_table(stages, console)


@runs.command("watch")
@click.argument("run_id")
@click.option("--interval", default=0.5, show_default=True, help="Seconds between reads.")
@pass_context
def watch(ctx: Context, run_id: str, interval: float) -> None:
    """Follow a run live (from any process) until it finishes."""
    with ctx.store() as store:
        state = watch_run(store, run_id, Console(), interval)
    rows = f", {state.units:,} rows" if state.units else ""
    click.echo(
        f"run {state.id} {state.status}: {state.succeeded:,} succeeded, {state.dead:,} dead{rows}"
    )


@runs.command("cancel")
@click.argument("run_id")
@pass_context
def cancel(ctx: Context, run_id: str) -> None:
    """Cancel a run: its remaining messages move to their DLQs (reason ``cancelled``).
    A run that has finished already is left as it is (exit status 1)."""
    with ctx.store() as store:
        if (before := store.run_state(run_id)).finished:
            raise RunError(f"run {run_id!r} has finished already ({before.status}): not cancelled")
        moved = store.cancel_run(run_id)
        if (after := store.run_state(run_id)).status != "cancelled":
            raise RunError(f"run {run_id!r} finished ({after.status}) before it could be cancelled")
    if ctx.as_json:
        ctx.emit({"run": run_id, "moved": moved})
    else:
        click.echo(f"cancelled run {run_id}: {moved:,} messages moved to their DLQs")


def watch_run(store: Store, run_id: str, console: Console, interval: float = 0.5) -> RunState:
    """Draw a live progress bar of the run until it finishes; return its final state."""
    state = store.run_state(run_id)
    columns = (
        TextColumn("[bold]{task.fields[name]}[/] {task.fields[status]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]} ETA {task.fields[eta]}"),
        TextColumn("failed {task.fields[failed]} dead {task.fields[dead]}{task.fields[rows]}"),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("run", total=max(state.total, 1), **_fields(state))
        while True:
            progress.update(task, completed=state.done, total=max(state.total, 1), **_fields(state))
            if state.finished:
                break
            time.sleep(interval)
            state = store.run_state(run_id)
    return state


def _fields(state: RunState) -> dict[str, Any]:
    return {
        "name": state.name,
        "status": _status(state),
        "rate": _rate(state),
        "eta": _eta(state),
        "failed": f"{state.failed:,}",
        "dead": f"[red]{state.dead:,}[/red]" if state.dead else "0",
        "rows": f" rows {state.units:,}" if state.units else "",
    }
