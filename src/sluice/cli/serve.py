"""``sluice serve module:app``: the HTTP API under uvicorn."""

from __future__ import annotations

import ipaddress
import os

import click

from sluice.cli import cli
from sluice.errors import ConfigError

LOOPBACK = "127.0.0.1"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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

    from sluice.web.api import create_app
    from sluice.web.auth import ENV_VAR, parse_tokens
    from sluice.worker.supervisor import load_app

    tokens = parse_tokens(os.environ.get(ENV_VAR))
    if not tokens:
        if host is not None and not is_loopback(host):
            raise ConfigError(
                f"refusing to serve on {host} without tokens: anyone could use the API; set "
                f"{ENV_VAR}=admin:TOKEN (and read:TOKEN for read-only clients) or bind to "
                f"{LOOPBACK}"
            )
        click.echo(
            f"no {ENV_VAR} set: the API is open without tokens, so it is bound to "
            f"{host or LOOPBACK} only",
            err=True,
        )
    app = load_app(target)
    try:
        api = create_app(app, tokens)
        uvicorn.run(api, host=host or LOOPBACK, port=port, log_level=log_level)
    finally:
        app.close()
