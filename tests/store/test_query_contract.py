"""The named-query contract between the engine and the backends' ``queries.sql`` files: every
query the engine runs exists on every backend; every other query is a driver's own, listed
here by backend, and used by that driver."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sluice.store import sql

STORE = Path(sql.__file__).resolve().parent.parent
BACKENDS = ("sqlite", "postgres")
DRIVERS = {"sqlite": STORE / "sqlite.py", "postgres": STORE / "postgres.py"}
ENGINE = [p for p in sorted(STORE.glob("*.py")) if p not in DRIVERS.values()]
RUNNERS = {"_sql", "rows", "count", "many"}
"""Methods that take a query name as their second argument."""

DRIVER_ONLY = {
    "sqlite": {"insert_message", "last_id", "dedup_upsert"},
    "postgres": {
        "ack_fenced_plain",  # the autocommit ack fast path (the engine asks for it there only)
        "ack_fenced_plain_kept",  # the same with completion records (store/completed.py)
        "insert_plain",  # the autocommit enqueue of a few plain messages (store/inserting.py)
        "copy_messages",
        "dead_tuples",
        "dedup_claim",
        "groups_exclusive_lock",
        "groups_shared_lock",
        "listen",
        "notify",
        "reserve_ids",
        "schema_lock",
        "server_time",  # the store's clock follows the server's (store/clock.py)
        "vacuum",
    },
}
"""Queries that only one backend's driver runs (or, for ``insert_plain`` and the
``ack_fenced_plain`` ones, that the engine runs only on a driver with ``autocommit``)."""


def _names_at_call_sites(tree: ast.AST) -> set[str]:
    """Query names passed as constants (or either branch of a conditional) to a runner."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in RUNNERS or len(node.args) < 2:
            continue
        arg = node.args[1]
        options = [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]
        found.update(
            o.value for o in options if isinstance(o, ast.Constant) and isinstance(o.value, str)
        )
    return found


def _constants(tree: ast.AST) -> set[str]:
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def _parsed(paths: list[Path]) -> list[ast.AST]:
    return [ast.parse(path.read_text()) for path in paths]


def engine_queries() -> set[str]:
    """Every query name the engine's modules mention: at a runner's call site, or as a string
    that names a query of some backend (names passed on, like ``fenced(store, "extend")``)."""
    known = set().union(*(sql.queries(b) for b in BACKENDS))
    trees = _parsed(ENGINE)
    at_calls = set().union(*(_names_at_call_sites(t) for t in trees))
    mentioned = set().union(*(_constants(t) for t in trees)) & known
    return at_calls | mentioned


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_query_the_engine_runs_exists_on_the_backend(backend: str) -> None:
    defined = set(sql.queries(backend))
    missing = engine_queries() - defined - DRIVER_ONLY[backend]
    if backend == "sqlite":
        missing -= {"ack_fenced_plain", "ack_fenced_plain_kept", "sqs_ack_plain", "insert_plain"}
    assert missing == set(), f"{backend}/queries.sql lacks {sorted(missing)}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_other_query_is_listed_as_the_drivers_own_and_used_by_it(backend: str) -> None:
    defined = set(sql.queries(backend))
    unexplained = defined - engine_queries() - DRIVER_ONLY[backend]
    assert unexplained == set(), f"{backend}/queries.sql: no one runs {sorted(unexplained)}"
    own = DRIVER_ONLY[backend] - engine_queries()
    driver_text = _constants(ast.parse(DRIVERS[backend].read_text()))
    assert own <= defined
    assert own <= driver_text, f"the {backend} driver never runs {sorted(own - driver_text)}"


def test_the_engine_names_no_query_that_no_backend_defines() -> None:
    known = set().union(*(sql.queries(b) for b in BACKENDS))
    at_calls = set().union(*(_names_at_call_sites(t) for t in _parsed(ENGINE)))
    assert at_calls - known == set()
