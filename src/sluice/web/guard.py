"""What a browser may do with the API: same-origin state changes, loopback ``Host`` names
when the API is open, JSON bodies by media type, and security headers on every answer.

Without tokens the API trusts whoever can reach it, so it must not be reachable from a web page
of another origin: a page can POST "simple" requests (``text/plain``, no preflight) to
loopback, and DNS rebinding gives a foreign name a loopback address. Both are refused here.
"""

from __future__ import annotations

import functools
import ipaddress
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sluice.errors import ConfigError
from sluice.web.auth import ENV_VAR, Tokens
from sluice.web.http import ApiError, error_response

LOOPBACK = "127.0.0.1"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        b"form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


@functools.lru_cache(maxsize=1024)
def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address, IPv6 with or without brackets) is only reachable
    from this machine. Remembered: every request of an open API asks it of its Host."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str | None, tokens: Tokens) -> str | None:
    """The rule of every command that serves the API on ``host`` (None: loopback).

    Without tokens a non-loopback address is refused (``ConfigError``); the answer is then the
    warning to print. With tokens there is nothing to say (None)."""
    if tokens:
        return None
    if host is not None and not is_loopback(host):
        raise ConfigError(
            f"refusing to serve on {host} without tokens: anyone could use the API; set "
            f"{ENV_VAR}=admin:TOKEN (and read:TOKEN for read-only clients) or bind to "
            f"{LOOPBACK}"
        )
    return (
        f"no {ENV_VAR} set: the API is open without tokens, so it is bound to "
        f"{host or LOOPBACK} only"
    )


@functools.lru_cache(maxsize=1024)
def _host_name(authority: str) -> str:
    """``example.com`` of ``example.com:8000``, ``::1`` of ``[::1]:8000``."""
    return urlsplit(f"//{authority}").hostname or ""


def refusal(method: str, headers: Headers, open_api: bool) -> ApiError | None:
    """Why a request is refused before routing, or None.

    ``Host`` must be a loopback name when the API is ``open_api`` (no tokens); a state change
    from a browser must come from the server's own origin (curl sends no ``Origin``)."""
    host = headers.get("host", "")
    if open_api and not is_loopback(_host_name(host)):
        return ApiError(
            403,
            "forbidden_host",
            "without tokens this API answers only to a loopback Host (localhost, 127.0.0.1, "
            f"[::1]); configure {ENV_VAR} to serve it under another name",
        )
    origin = headers.get("origin")
    if method in SAFE_METHODS or origin is None:
        return None
    parts = urlsplit(origin)
    if parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower():
        return None
    return ApiError(
        403,
        "cross_origin",
        "a state-changing request from another origin is refused: send it from this "
        "server's dashboard or without an Origin header (curl, scripts)",
    )


class BrowserGuard:
    """ASGI middleware: refuses what :func:`refusal` names, adds the security headers."""

    def __init__(self, app: ASGIApp, open_api: bool) -> None:
        self.app = app
        self.open_api = open_api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        error = refusal(scope["method"], Headers(scope=scope), self.open_api)
        if error is not None:
            await error_response(error)(scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)
