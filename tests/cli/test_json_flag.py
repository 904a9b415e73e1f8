"""``--json`` before or after the subcommand: one flag for the whole invocation."""

from __future__ import annotations

import json
from typing import Any

import click
import pytest

from sluice.cli import cli
from sluice.model import RunSpec
from sluice.store import open_store
from tests.cli.test_cli import sluice

READS = [
    ("queues",),
    ("queues", "show", "orders"),
    ("dlq", "list", "orders"),
    ("dlq", "list", "orders", "--limit", "2"),
    ("runs",),
    ("runs", "show", "r1"),
]


@pytest.fixture
def with_run(filled: str) -> str:
    store = open_store(filled)
    store.start_run(RunSpec("r1", "nightly"))
    store.close()
    return filled


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_json_after_the_command_is_the_same_as_before_it(with_run: str, args: tuple[str]) -> None:
    before = sluice("--json", *args, url=with_run)
    after = sluice(*args, "--json", url=with_run)
    assert after.returncode == 0, after.stderr
    assert _stable(json.loads(after.stdout)) == _stable(json.loads(before.stdout))
    assert json.loads(after.stdout)


def _stable(data: Any) -> Any:
    """``data`` without the figures that move with the clock between two calls."""
    if isinstance(data, list):
        return [_stable(item) for item in data]
    if isinstance(data, dict):
        return {k: _stable(v) for k, v in data.items() if k not in ("oldest_age", "rate", "eta")}
    return data


def test_json_after_a_command_that_changes_the_store(filled: str) -> None:
    [first, *_] = json.loads(sluice("dlq", "list", "orders", "--json", url=filled).stdout)
    moved = sluice("dlq", "redrive", "orders", "--id", str(first["id"]), "--json", url=filled)
    assert json.loads(moved.stdout) == {"queue": "orders", "redriven": 1}
    purged = sluice("dlq", "purge", "orders", "--json", "--yes", url=filled)
    assert json.loads(purged.stdout) == {"queue": "orders", "purged": 2}


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


def test_every_command_takes_json_by_one_mechanism() -> None:
    from sluice.cli import demo, dlq, queues, runs, scheduler, serve, worker  # noqa: F401

    commands = _commands(cli)
    assert {("queues", "show"), ("dlq", "list"), ("runs", "show"), ("worker",)} <= set(commands)
    for path in commands:
        command: click.Command = cli
        for name in path:
            assert isinstance(command, click.Group)
            command = command.commands[name]
        assert [p for p in command.params if "--json" in getattr(p, "opts", ())], path
