"""The ``sluice`` command line: operate queues and dead letters, run the demo."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
import orjson

from sluice.errors import SluiceError
from sluice.store import Store, open_store, redact, resolve_url


class Context:
    """What every command needs: the store URL and how to print."""

    def __init__(self, url: str | None, as_json: bool) -> None:
        self.url = resolve_url(url)
        self.as_json = as_json

    @contextmanager
    def store(self) -> Iterator[Store]:
        """The migrated store; its errors become one clear line and exit status 1."""
        store = open_store(self.url)
        try:
            store.migrate()
            yield store
        finally:
            store.close()

    def emit(self, data: Any) -> None:
        click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


pass_context = click.make_pass_decorator(Context)


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
    """Console entry point: sluice errors print one line (password redacted) and exit 1."""
    from sluice.cli import demo, dlq, queues, worker  # noqa: F401  (registers the commands)

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


def redact_all(text: str) -> str:
    """Redact any URL password that an error message may carry."""
    return " ".join(redact(word) if "://" in word else word for word in text.split(" "))
