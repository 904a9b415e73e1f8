"""Load the ``App`` a command names as ``module:attribute``, saying exactly what is missing."""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType
from typing import TYPE_CHECKING

from sluice.errors import ConfigError

if TYPE_CHECKING:
    from sluice.app import App


def load_app(target: str) -> App:
    """The ``App`` named by ``module:attribute`` (the current directory is importable)."""
    from sluice.app import App

    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"expected module:attribute (like myproject.jobs:app), got {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module = _import(module_name)
    if not hasattr(module, attribute):
        raise ConfigError(
            f"module {module_name!r} has no attribute {attribute!r} (in {module.__file__})"
        )
    app = getattr(module, attribute)
    if not isinstance(app, App):
        raise ConfigError(f"{target!r} is not a sluice.App (found {type(app).__name__})")
    return app


def _import(module_name: str) -> ModuleType:
    """The module, or a ConfigError telling a missing module from one that fails to import."""
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
        if missing is None or not _is_prefix(missing, module_name):
            raise ConfigError(
                f"cannot import {module_name!r}: importing it failed with "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        raise ConfigError(
            f"cannot import {module_name!r}: module {missing!r} not found on sys.path (which "
            f"holds the current directory {os.getcwd()!r}); run from the project's directory "
            "or add its directory to PYTHONPATH"
        ) from exc


def _is_prefix(missing: str, module_name: str) -> bool:
    """Whether the missing module is ``module_name`` itself or one of its parent packages."""
    return module_name == missing or module_name.startswith(missing + ".")
