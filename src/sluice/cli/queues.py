"""``sluice queues``: every queue with its figures, or one queue in detail."""

from __future__ import annotations

import dataclasses

import click
from rich.table import Table

from sluice.cli import Context, cli, pass_context, queue_name, redact_all
from sluice.cli.format import age, duration, print_table


@cli.group(invoke_without_command=True)
@pass_context
@click.pass_context
def queues(click_ctx: click.Context, ctx: Context) -> None:
    """List queues: depth, in flight, delayed, oldest age, DLQ depth."""
    if click_ctx.invoked_subcommand is not None:
        return
    with ctx.store() as store:
        policies = {p.name: p for p in store.queues()}
        stats = store.stats()
        paused = store.stopped("queue")
    if ctx.as_json:
        ctx.emit(
            [
                {
                    **dataclasses.asdict(s),
                    "fifo": policies[s.queue].fifo,
                    "paused": s.queue in paused,
                }
                for s in stats
            ]
        )
        return
    if not stats:
        click.echo(f"no queues in {redact_all(ctx.url)}")
        return
    table = Table(title=f"queues in {redact_all(ctx.url)}")
    for column in ("queue", "type", "state", "depth", "in flight", "delayed", "oldest", "DLQ"):
        table.add_column(
            column, justify="left" if column in ("queue", "type", "state") else "right"
        )
    for s in stats:
        table.add_row(
            s.queue,
            "fifo" if policies[s.queue].fifo else "standard",
            "[yellow]paused[/yellow]" if s.queue in paused else "active",
            str(s.depth),
            str(s.in_flight),
            str(s.delayed),
            age(s.oldest_age) if s.depth else "-",
            f"[red]{s.dlq_depth}[/red]" if s.dlq_depth else "0",
        )
    print_table(table)


@queues.command("show")
@click.argument("name", callback=queue_name)
@pass_context
def show(ctx: Context, name: str) -> None:
    """Show one queue's policy and figures."""
    with ctx.store() as store:
        policy = store.policy(name)
        [stats] = store.stats([name])
    if ctx.as_json:
        ctx.emit({"policy": dataclasses.asdict(policy), "stats": dataclasses.asdict(stats)})
        return
    table = Table(title=f"queue {name}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("type", "fifo" if policy.fifo else "standard"),
        ("visibility timeout", duration(policy.visibility_timeout)),
        ("max receives", str(policy.max_receives or "never dead-letters")),
        ("dedup window", duration(policy.dedup_window)),
        ("retention", duration(policy.retention)),
        ("max message bytes", str(policy.max_message_bytes)),
        ("depth", str(stats.depth)),
        ("in flight", str(stats.in_flight)),
        ("delayed", str(stats.delayed)),
        ("oldest visible", age(stats.oldest_age) if stats.depth else "-"),
        ("dead letters", f"{stats.dlq_depth} (in {policy.dlq.name})"),
    ]
    for key, value in rows:
        table.add_row(key, value)
    print_table(table)
