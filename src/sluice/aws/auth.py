"""Who sent an AWS request, and with what scope.

:func:`authorize` is the one entry point of the AWS wire's authentication. Without
``SLUICE_AWS_KEYS`` (and without ``SLUICE_TOKENS``) the AWS API is open to loopback clients
only, as the rest of the API is; with keys configured, requests must be signed (SigV4)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from sluice.aws.errors import AwsError
from sluice.web.auth import ENV_VAR as TOKENS_VAR
from sluice.web.auth import Scope
from sluice.web.guard import is_loopback

KEYS_VAR = "SLUICE_AWS_KEYS"


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What authentication may look at: the method, path, raw query, headers (lower-case
    names), the body as sent and the client's address."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    client_host: str | None
    api_open: bool
    """Whether the rest of the API runs without tokens (``SLUICE_TOKENS`` unset)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a name (the access key id, or ``anonymous``) and its scope."""

    name: str
    scope: Scope


def authorize(request: RequestInfo) -> Principal:
    """The principal of ``request``, or :class:`AwsError` (403) saying why it is refused."""
    if os.environ.get(KEYS_VAR, "").strip():
        raise AwsError(
            "InvalidClientTokenId",
            "InvalidClientTokenId",
            f"{KEYS_VAR} is set but SigV4 signatures are not verified yet by this server: "
            f"unset {KEYS_VAR} and serve on loopback",
            status=403,
        )
    if not request.api_open:
        raise AwsError(
            "MissingAuthenticationToken",
            "MissingAuthenticationToken",
            f"{TOKENS_VAR} is set, so the API needs credentials: AWS clients authenticate with "
            f"SigV4 keys configured in {KEYS_VAR}",
            status=403,
        )
    if request.client_host is None or not is_loopback(request.client_host):
        raise AwsError(
            "AccessDenied",
            "AccessDenied",
            f"without {KEYS_VAR} the AWS API answers loopback clients only",
            status=403,
        )
    return Principal("anonymous", Scope.ADMIN)
