"""The HTTP API of sluice (starlette): ``create_app(app)``; ``sluice serve`` runs it."""

from sluice.web.api import create_app
from sluice.web.auth import Scope, parse_tokens

__all__ = ["Scope", "create_app", "parse_tokens"]
