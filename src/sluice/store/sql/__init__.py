"""Loads each backend's named queries and versioned migrations from the ``.sql`` files here.

``<backend>/queries.sql`` holds queries separated by ``-- name: NAME`` lines. Every query the
engine runs is defined by every backend under the same name; the few others are the backend's
driver's own (``tests/store/test_query_contract.py`` checks both and lists those).
A query may include a shared fragment of the same file: ``{{part_NAME}}`` stands for the text
under ``-- name: part_NAME``, in parentheses and without its comment lines (fragments are not
queries: they are not returned).
``<backend>/migrations/NNNN_title.sql`` are applied in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

_NAME = re.compile(r"^-- name: ([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
_PART = re.compile(r"\{\{(part_[a-z0-9_]+)\}\}")
_MIGRATION = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


@cache
def queries(backend: str) -> dict[str, str]:
    """Named queries of ``backend`` (``sqlite`` or ``postgres``)."""
    text = resources.files(__package__).joinpath(backend, "queries.sql").read_text()
    parts = _NAME.split(text)
    named: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in named:
            raise ValueError(f"{backend}/queries.sql defines {name!r} twice")
        named[name] = body.strip()
    fragments = {
        name: "(" + "\n".join(ln for ln in body.splitlines() if not ln.startswith("--")) + ")"
        for name, body in named.items()
        if name.startswith("part_")
    }

    def include(match: re.Match[str]) -> str:
        if match.group(1) not in fragments:
            raise ValueError(f"{backend}/queries.sql includes an unknown {match.group(0)}")
        return _PART.sub(include, fragments[match.group(1)])  # fragments may include others

    return {n: _PART.sub(include, q) for n, q in named.items() if n not in fragments}


@cache
def migrations(backend: str) -> tuple[Migration, ...]:
    """Migrations of ``backend`` in version order."""
    folder = resources.files(__package__).joinpath(backend, "migrations")
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"{backend} migrations must be numbered 1..n without gaps: {versions}")
    return tuple(found)


def latest_version(backend: str) -> int:
    return len(migrations(backend))
