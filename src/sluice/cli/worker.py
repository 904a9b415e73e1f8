"""``sluice worker module:app``: run workers for an app's actions."""

from __future__ import annotations

import sys

import click

from sluice.cli import cli, count_option


@cli.command()
@click.argument("target")
@click.option("--queues", default=None, help="Comma-separated queues (default: all the app's).")
@count_option("--concurrency", 10, "Handler calls per process.")
@count_option("--processes", 1, "Worker processes to run.")
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds running calls get to finish after SIGTERM / Ctrl-C; the messages of those "
    "still running then are given back.",
)
@click.option(
    "--log-format",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="JSON lines (one per outcome, each with a timestamp and level), or human text.",
)
@click.option(
    "--sources",
    is_flag=True,
    help="Also fire the app's cron schedules and scan its file watches (a scheduler thread "
    "in the first process).",
)
def worker(
    target: str,
    queues: str | None,
    concurrency: int,
    processes: int,
    grace: float,
    log_format: str,
    sources: bool,
) -> None:
    """Run workers for the actions of TARGET (module:app) until SIGTERM or Ctrl-C."""
    from sluice.worker.supervisor import run_worker, supervise

    names = [q.strip() for q in queues.split(",") if q.strip()] if queues else None
    if processes <= 1:
        run_worker(target, names, concurrency, log_format, sources=sources, grace=grace)
    else:
        code = supervise(
            target, names, concurrency, processes, log_format, sources=sources, grace=grace
        )
        sys.exit(code)
