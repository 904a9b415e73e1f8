"""Who sent an AWS request, and with what scope.

:func:`authorize` is the one entry point of the AWS wire's authentication. Without
``SLUICE_AWS_KEYS`` (and without ``SLUICE_TOKENS``) the AWS API is open to loopback clients
only, as the rest of the API is; with keys configured, requests must be signed (SigV4)."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from sluice.aws.errors import AwsError
from sluice.aws.sigv4 import AwsKey, Refused, parse_keys, verify
from sluice.errors import ConfigError
from sluice.web.auth import ENV_VAR as TOKENS_VAR
from sluice.web.auth import Scope
from sluice.web.guard import is_loopback

KEYS_VAR = "SLUICE_AWS_KEYS"
CORAL = "com.amazon.coral.service"
"""The namespace of the errors AWS services answer before reaching the service itself."""
REFUSALS = {
    "SignatureDoesNotMatch": ("InvalidSignatureException", "SignatureDoesNotMatch"),
    "RequestExpired": ("InvalidSignatureException", "RequestExpired"),
    "InvalidClientTokenId": ("UnrecognizedClientException", "InvalidClientTokenId"),
    "IncompleteSignature": ("IncompleteSignatureException", "IncompleteSignature"),
    "MissingAuthenticationToken": (
        "MissingAuthenticationTokenException",
        "MissingAuthenticationToken",
    ),
}
"""A refusal's code -> (the JSON ``__type`` shape AWS answers, the query-protocol code
botocore reports as ``Error.Code`` for SQS's awsQueryCompatible protocol)."""


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
    try:
        keys = _keys(os.environ.get(KEYS_VAR, ""))
    except ConfigError as exc:
        raise AwsError("InternalFailure", "InternalFailure", str(exc), 500, CORAL) from None
    if keys:
        try:
            key = verify(
                request.method,
                request.path,
                request.query,
                request.headers,
                request.body,
                keys,
                time.time(),
            )
        except Refused as exc:
            shape, legacy = REFUSALS[exc.code]
            if not request.headers.get("x-amz-target", "").startswith("AmazonSQS."):
                legacy = shape  # only SQS is awsQueryCompatible: others report the shape
            raise AwsError(shape, legacy, exc.message, exc.status, CORAL) from None
        return Principal(key.access_key_id, key.scope)
    if not request.api_open:
        raise AwsError(
            "MissingAuthenticationTokenException",
            "MissingAuthenticationToken",
            f"{TOKENS_VAR} is set, so the API needs credentials: AWS clients authenticate with "
            f"SigV4 keys configured in {KEYS_VAR}",
            403,
            CORAL,
        )
    if request.client_host is None or not is_loopback(request.client_host):
        raise AwsError(
            "AccessDeniedException",
            "AccessDenied",
            f"without {KEYS_VAR} the AWS API answers loopback clients only",
            403,
            CORAL,
        )
    return Principal("anonymous", Scope.ADMIN)


def check_keys() -> None:
    """Raise ``ConfigError`` now if ``$SLUICE_AWS_KEYS`` is malformed (the server's start)."""
    _keys(os.environ.get(KEYS_VAR, ""))


@functools.lru_cache(maxsize=4)
def _keys(text: str) -> dict[str, AwsKey]:
    """The keys of ``$SLUICE_AWS_KEYS``, parsed once per distinct value."""
    return parse_keys(text)
