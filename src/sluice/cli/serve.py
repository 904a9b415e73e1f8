"""``sluice serve module:app``: the HTTP API under uvicorn."""

from __future__ import annotations

import os
import signal
from types import FrameType

import click

from sluice.cli import cli
from sluice.web.guard import LOOPBACK, check_exposure


def _stopped(signum: int, frame: FrameType | None) -> None:
    """SIGTERM outside uvicorn's own handler: before it starts, or re-raised by uvicorn after
    a clean shutdown. Either way the process ends normally (status 0)."""
    raise SystemExit(0)


@cli.command()
@click.argument("target")
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
def serve(target: str, host: str | None, port: int, log_level: str) -> None:
    """Serve the HTTP API of TARGET (module:app) until SIGTERM or Ctrl-C.

    Bearer tokens come from $SLUICE_TOKENS ("admin:TOKEN1,read:TOKEN2"). Without tokens the
    API is open, so it binds to 127.0.0.1 only.
    """
    import uvicorn

    from sluice.targets import load_app
    from sluice.web.api import create_app
    from sluice.web.auth import ENV_VAR, parse_tokens

    tokens = parse_tokens(os.environ.get(ENV_VAR))
    warning = check_exposure(host, tokens)
    if warning:
        click.echo(warning, err=True)
    app = load_app(target)
    signal.signal(signal.SIGTERM, _stopped)
    try:
        api = create_app(app, tokens)
        # httptools parses HTTP in C (with h11, uvicorn's fallback, the server spent more CPU
        # per SQS message); uvloop gave no steady gain in the same runs (docs/benchmarks.md)
        uvicorn.run(
            api,
            host=host or LOOPBACK,
            port=port,
            log_level=log_level,
            http="httptools",
            loop="asyncio",
        )
    finally:
        app.close()
