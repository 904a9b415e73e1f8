"""The ``sluice`` command line: operate queues and dead letters, run the demo."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import click
import orjson

from sluice.errors import ConfigError, InvalidQueueName, SluiceError
from sluice.model import DLQ_SUFFIX, validate_queue_name
from sluice.store import Store, open_store, resolve_url

_PASSWORD = re.compile(r"(://[^/?#@\s:]*:)[^/?#\s]*@|(password=)[^&\s]*", re.IGNORECASE)


class Context:
    """What every command needs: the store URL and how to print."""

    def __init__(self, url: str | None, as_json: bool) -> None:
        self.url = resolve_url(url)
        self.as_json = as_json

    @contextmanager
    def store(self) -> Iterator[Store]:
        """The migrated store; its errors reach :func:`main` as one clear line."""
        try:
            urlsplit(self.url).port  # noqa: B018  (raises on a malformed port)
        except ValueError as exc:
            raise ConfigError(f"invalid store URL {redact_all(self.url)!r}: {exc}") from None
        store = open_store(self.url)
        try:
            store.migrate()
            yield store
        finally:
            store.close()

    def emit(self, data: Any) -> None:
        click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


pass_context = click.make_pass_decorator(Context)


def queue_name(_ctx: click.Context, _param: click.Parameter, name: str) -> str:
    """Click callback: ``name`` if it is a valid queue name (a DLQ's name points to its queue)."""
    if name.endswith(DLQ_SUFFIX):
        queue = name.removesuffix(DLQ_SUFFIX)
        raise InvalidQueueName(
            f"{name!r} is a dead-letter queue: name its queue instead ({queue!r}), "
            f"e.g. sluice dlq list {queue}"
        )
    return validate_queue_name(name)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--url",
    envvar="SLUICE_URL",
    default=None,
    help="Store URL (default $SLUICE_URL, else sqlite:///sluice.db).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.version_option(package_name="sluice")
@click.pass_context
def cli(ctx: click.Context, url: str | None, as_json: bool) -> None:
    """sluice: a durable work queue with SQS semantics on SQLite or PostgreSQL."""
    ctx.obj = Context(url, as_json)


def main() -> None:
    """Console entry point: errors print one line (passwords redacted) and exit 1;
    ``SLUICE_DEBUG=1`` shows the traceback of an unexpected one."""
    from sluice.cli import (  # noqa: F401  (registers the commands)
        demo,
        dlq,
        queues,
        runs,
        scheduler,
        serve,
        worker,
    )  # fmt: skip

    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except SluiceError as exc:
        click.echo(f"error: {redact_all(str(exc))}", err=True)
        sys.exit(1)
    except Exception as exc:
        if os.environ.get("SLUICE_DEBUG"):
            raise
        detail = " ".join(redact_all(str(exc)).split())
        click.echo(
            f"error: unexpected {type(exc).__name__}: {detail} "
            "(SLUICE_DEBUG=1 shows the traceback)",
            err=True,
        )
        sys.exit(1)


def redact_all(text: str) -> str:
    """``text`` with every URL password (``scheme://user:PASSWORD@``, ``password=``) as ***."""
    return _PASSWORD.sub(_mask, text)


def _mask(match: re.Match[str]) -> str:
    return f"{match.group(1)}***@" if match.group(1) else f"{match.group(2)}***"
