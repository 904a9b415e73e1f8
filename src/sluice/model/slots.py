"""Positional constructors of frozen slotted dataclasses for the objects made per message."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def positional(cls: type[T]) -> Callable[..., T]:
    """A function taking every field of the frozen slotted dataclass ``cls`` in order and
    returning the instance. It sets the slots through their descriptors: a frozen dataclass's
    ``__init__`` goes through ``object.__setattr__`` per field, which doubles the cost of a
    claimed message (16 fields) or an outcome. No ``__post_init__`` runs, so ``cls`` must
    define none."""
    if not (dataclasses.is_dataclass(cls) and "__slots__" in cls.__dict__):
        raise TypeError(f"{cls.__name__} is not a slotted dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__ that positional() would skip")
    names = [f.name for f in dataclasses.fields(cls)]
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls}
    scope.update({f"set{i}": getattr(cls, name).__set__ for i, name in enumerate(names)})
    args = ", ".join(f"v{i}" for i in range(len(names)))
    sets = "".join(f"    set{i}(obj, v{i})\n" for i in range(len(names)))
    exec(f"def make({args}):\n    obj = new(cls)\n{sets}    return obj\n", scope)
    make: Callable[..., T] = scope["make"]
    make.__name__ = make.__qualname__ = f"positional_{cls.__name__}"
    return make
