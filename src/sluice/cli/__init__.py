"""The ``sluice`` command line: operate queues and dead letters, run the demo."""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from sluice import codec
from sluice.errors import ConfigError, InvalidQueueName, SluiceError
from sluice.model import DLQ_SUFFIX, validate_queue_name
from sluice.store import Store, resolve_url
from sluice.store.existing import open_existing

_F = TypeVar("_F", bound=Callable[..., Any])
_PASSWORD = re.compile(r"(://[^/?#@\s:]*:)[^/?#\s]*@|(password=)[^&\s]*", re.IGNORECASE)


_JSON = "sluice.json"
"""The key of ``--json`` in click's context meta (shared by a command and its parents)."""


class Context:
    """What every command needs: the store URL and how to print."""

    def __init__(self, url: str | None) -> None:
        self.url = resolve_url(url)

    @property
    def as_json(self) -> bool:
        """Whether ``--json`` was given, before or after the subcommand."""
        return bool(click.get_current_context().meta.get(_JSON))

    @contextmanager
    def store(self) -> Iterator[Store]:
        """The existing store, migrated; never creates one. Its errors reach :func:`main` as
        one clear line."""
        try:
            urlsplit(self.url).port  # noqa: B018  (raises on a malformed port)
        except ValueError as exc:
            raise ConfigError(f"invalid store URL {redact_all(self.url)!r}: {exc}") from None
        store = open_existing(self.url)
        try:
            store.migrate()
            yield store
        finally:
            store.close()

    def emit(self, data: Any) -> None:
        click.echo(codec.dumps(data, indent=True).decode())


pass_context = click.make_pass_decorator(Context)


def count_option(flag: str, default: int, help: str) -> Callable[[_F], _F]:
    """An option taking a whole number of 1 or more (below that: a usage error naming it)."""
    return click.option(
        flag, type=click.IntRange(min=1), default=default, show_default=True, help=help
    )


def queue_name(_ctx: click.Context, _param: click.Parameter, name: str) -> str:
    """Click callback: ``name`` if it is a valid queue name (a DLQ's name points to its queue)."""
    if name.endswith(DLQ_SUFFIX):
        queue = name.removesuffix(DLQ_SUFFIX)
        raise InvalidQueueName(
            f"{name!r} is a dead-letter queue: name its queue instead ({queue!r}), "
            f"e.g. sluice dlq list {queue}"
        )
    return validate_queue_name(name)


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[_JSON] = True


def _with_json(command: click.Command) -> None:
    """Give ``command`` the ``--json`` flag (it sets the flag of the whole invocation)."""
    command.params.append(
        click.Option(
            ["--json"],
            is_flag=True,
            expose_value=False,
            callback=_set_json,
            help="Print JSON for scripts (before or after the command).",
        )
    )


class JsonCommand(click.Command):
    """A command that takes ``--json`` after its name too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _with_json(self)


class JsonGroup(click.Group):
    """A group that takes ``--json`` and gives it to every command and group under it."""

    command_class = JsonCommand
    group_class = type  # subgroups are JsonGroups too

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _with_json(self)


_COMMAND_MODULES = (
    "controls",
    "demo",
    "dlq",
    "listings",
    "messages",
    "queues",
    "runs",
    "scheduler",
    "serve",
    "worker",
)
_ALONE = {"worker": "worker", "scheduler": "scheduler"}
"""Commands whose module is all they need: a worker starts without importing the web layer."""


class RootGroup(JsonGroup):
    """The root group: its commands' modules are imported when a command is asked for."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        _load(_ALONE.get(cmd_name))
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        _load(None)
        return super().list_commands(ctx)


def _load(module: str | None) -> None:
    """Import (registering its commands) one command module, or with None all of them."""
    for name in (module,) if module else _COMMAND_MODULES:
        importlib.import_module(f"sluice.cli.{name}")


def _given_url(_ctx: click.Context, _param: click.Parameter, url: str | None) -> str | None:
    if url is not None and not url.strip():
        raise click.BadParameter(
            "is empty: give a store URL such as sqlite:///sluice.db, or leave --url out to use "
            "$SLUICE_URL (else sqlite:///sluice.db)"
        )
    return url


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--url",
    envvar="SLUICE_URL",
    default=None,
    callback=_given_url,
    help="Store URL (default $SLUICE_URL, else sqlite:///sluice.db).",
)
@click.version_option(package_name="sluice")
@click.pass_context
def cli(ctx: click.Context, url: str | None) -> None:
    """sluice: a durable work queue with SQS semantics on SQLite or PostgreSQL."""
    ctx.obj = Context(url)


def main() -> None:
    """Console entry point: errors print one line (passwords redacted) and exit 1;
    ``SLUICE_DEBUG=1`` shows the traceback of an unexpected one."""
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
