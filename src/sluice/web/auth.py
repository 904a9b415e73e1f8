"""Bearer tokens for the HTTP API: parsed from ``SLUICE_TOKENS``, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from enum import IntEnum

from sluice.errors import ConfigError

ENV_VAR = "SLUICE_TOKENS"
MIN_TOKEN_LENGTH = 16


class Scope(IntEnum):
    """What a token may do; a higher scope includes the lower ones."""

    READ = 1
    ADMIN = 2


Tokens = Mapping[str, Scope]
"""Token text -> its scope."""


def parse_tokens(text: str | None) -> dict[str, Scope]:
    """Parse ``"admin:TOKEN1,read:TOKEN2"`` (empty or None: no tokens, the API is open).

    ``ConfigError`` names the faulty entry (never the token itself) and how to write it.
    """
    tokens: dict[str, Scope] = {}
    if not text or not text.strip():
        return tokens
    for position, entry in enumerate(text.split(","), start=1):
        entry = entry.strip()
        scope_name, sep, token = entry.partition(":")
        scope = {"read": Scope.READ, "admin": Scope.ADMIN}.get(scope_name.strip().lower())
        if not sep or scope is None:
            # Never echo the entry: written the wrong way round, its "scope" is the token.
            raise ConfigError(
                f"{ENV_VAR} entry {position} must look like 'admin:TOKEN' or 'read:TOKEN'"
                + (": the text before its first ':' is not read or admin" if sep else "")
            )
        token = token.strip()
        if len(token) < MIN_TOKEN_LENGTH or not token.isprintable() or " " in token:
            raise ConfigError(
                f"{ENV_VAR} entry {position}: a token needs at least {MIN_TOKEN_LENGTH} printable "
                "characters without spaces (e.g. python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))')"
            )
        if token in tokens:
            raise ConfigError(f"{ENV_VAR} entry {position} repeats an earlier token")
        tokens[token] = scope
    return tokens


def scope_of(authorization: str | None, tokens: Tokens) -> Scope | None:
    """The scope of the bearer token in an ``Authorization`` header, or None if it is missing
    or matches no token. Every configured token is compared in constant time."""
    if authorization is None:
        return None
    kind, _, presented = authorization.partition(" ")
    if kind.lower() != "bearer" or not presented.strip():
        return None
    found = _match(presented, tokens)
    return None if found is None else tokens[found]


def _match(presented: str, tokens: Tokens) -> str | None:
    given = presented.strip().encode()
    found: str | None = None
    for token in tokens:
        # No early exit: the time taken does not tell which token (if any) matched.
        if hmac.compare_digest(given, token.encode()):
            found = token
    return found


def token_name(token: str, scope: Scope) -> str:
    """The name a token goes by in the audit log: its scope and a short fingerprint (the
    first 8 hex digits of its SHA-256), which tells tokens apart and does not reveal one."""
    return f"{scope.name.lower()}-{hashlib.sha256(token.encode()).hexdigest()[:8]}"


def who(authorization: str | None, tokens: Tokens) -> str:
    """Who is asking, for the audit log: the bearer token's name, or ``local`` when the API
    is open (no tokens: served on loopback only)."""
    if not tokens:
        return "local"
    kind, _, presented = (authorization or "").partition(" ")
    found = _match(presented, tokens) if kind.lower() == "bearer" and presented.strip() else None
    return "unknown" if found is None else token_name(found, tokens[found])
