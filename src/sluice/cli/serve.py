"""``sluice serve module:app``: the HTTP API under uvicorn, in one process or several."""

from __future__ import annotations

import os
import signal
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from sluice.cli import cli
from sluice.web.guard import LOOPBACK, check_exposure

if TYPE_CHECKING:
    from starlette.applications import Starlette

TARGET_VAR = "SLUICE_SERVE_TARGET"
"""The ``module:app`` each process of ``sluice serve --workers N`` serves (set by the parent)."""


def _stopped(signum: int, frame: FrameType | None) -> None:
    """SIGTERM outside uvicorn's own handler: before it starts, or re-raised by uvicorn after
    a clean shutdown. Either way the process ends normally (status 0)."""
    raise SystemExit(0)


def served_api() -> Starlette:
    """The API of the app named by ``$SLUICE_SERVE_TARGET``, closed at shutdown: the factory
    each worker process of ``sluice serve --workers N`` builds its server from."""
    from sluice.targets import load_app
    from sluice.web.api import create_app

    return create_app(load_app(os.environ[TARGET_VAR]), close_app=True)


@cli.command()
@click.argument("target")
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Server processes sharing the port (one Python process uses one core at most).",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
def serve(target: str, host: str | None, port: int, workers: int, log_level: str) -> None:
    """Serve the HTTP API of TARGET (module:app) until SIGTERM or Ctrl-C.

    Bearer tokens come from $SLUICE_TOKENS ("admin:TOKEN1,read:TOKEN2"). Without tokens the
    API is open, so it binds to 127.0.0.1 only. With --workers N, N processes serve the same
    port, each with its own connections to the store; uvicorn's supervisor restarts one that
    dies.
    """
    import uvicorn

    from sluice.targets import load_app
    from sluice.web.api import create_app
    from sluice.web.auth import ENV_VAR, parse_tokens
    from sluice.web.protocol import server_options

    tokens = parse_tokens(os.environ.get(ENV_VAR))
    warning = check_exposure(host, tokens)
    if warning:
        click.echo(warning, err=True)
    app = load_app(target)  # in the parent too: a bad target fails here, before any spawn
    signal.signal(signal.SIGTERM, _stopped)
    options: dict[str, Any] = {
        "host": host or LOOPBACK,
        "port": port,
        "log_level": log_level,
        **server_options(),
    }
    if workers > 1:
        app.close()
        os.environ[TARGET_VAR] = target
        uvicorn.run("sluice.cli.serve:served_api", factory=True, workers=workers, **options)
        return
    try:
        uvicorn.run(create_app(app, tokens), **options)
    finally:
        app.close()
