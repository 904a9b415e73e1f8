"""Verification of AWS Signature Version 4 on requests made to sluice.

Keys come from ``SLUICE_AWS_KEYS="admin:ACCESS_KEY_ID:SECRET,read:ACCESS_KEY_ID:SECRET"``
(scopes as for ``SLUICE_TOKENS``). :func:`verify` rebuilds the canonical request and the string
to sign from what was received, derives the signing key from the configured secret and compares
signatures in constant time. Refusals are :class:`Refused`, carrying the error code AWS answers
with; no message ever contains a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

from sluice.errors import ConfigError
from sluice.web.auth import Scope

ENV_VAR = "SLUICE_AWS_KEYS"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = 15 * 60.0
"""Seconds a request's ``X-Amz-Date`` may be from the server's clock, as AWS allows."""
SERVICES = frozenset({"sqs", "events"})
MIN_SECRET_LENGTH = 16
UNSIGNED = "UNSIGNED-PAYLOAD"
_ACCESS_KEY = re.compile(r"[A-Za-z0-9]{4,128}")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class AwsKey:
    """One configured key pair and its scope; the secret never shows in ``repr``."""

    access_key_id: str
    secret: str = field(repr=False)
    scope: Scope


class Refused(Exception):
    """A request whose signature does not verify. ``code`` is the AWS error code
    (``InvalidClientTokenId``, ``SignatureDoesNotMatch``, ``IncompleteSignature``,
    ``MissingAuthenticationToken``, ``RequestExpired``)."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def parse_keys(text: str | None) -> dict[str, AwsKey]:
    """Parse ``"admin:KEY_ID:SECRET,read:KEY_ID:SECRET"`` into access key id -> key
    (empty or None: no keys). ``ConfigError`` names the faulty entry, never its secret."""
    keys: dict[str, AwsKey] = {}
    if not text or not text.strip():
        return keys
    for position, entry in enumerate(text.split(","), start=1):
        parts = entry.strip().split(":", 2)
        scope = {"read": Scope.READ, "admin": Scope.ADMIN}.get(parts[0].strip().lower())
        if len(parts) != 3 or scope is None:
            raise ConfigError(
                f"{ENV_VAR} entry {position} must look like 'admin:ACCESS_KEY_ID:SECRET' "
                "or 'read:ACCESS_KEY_ID:SECRET'"
            )
        key_id, secret = parts[1].strip(), parts[2].strip()
        if not _ACCESS_KEY.fullmatch(key_id):
            raise ConfigError(
                f"{ENV_VAR} entry {position}: the access key id must be 4 to 128 letters or digits"
            )
        if len(secret) < MIN_SECRET_LENGTH or not secret.isprintable() or " " in secret:
            raise ConfigError(
                f"{ENV_VAR} entry {position}: the secret needs at least {MIN_SECRET_LENGTH} "
                "printable characters without spaces (e.g. python -c 'import secrets; "
                "print(secrets.token_urlsafe(30))')"
            )
        if key_id in keys:
            raise ConfigError(f"{ENV_VAR} entry {position} repeats access key id {key_id}")
        keys[key_id] = AwsKey(key_id, secret, scope)
    return keys


@dataclass(frozen=True)
class Authorization:
    """The parts of an ``Authorization: AWS4-HMAC-SHA256 ...`` header."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def parse_authorization(value: str | None) -> Authorization:
    """Split the header; ``Refused`` says what is missing or malformed."""
    if not value:
        raise Refused(
            "MissingAuthenticationToken",
            "Request is missing Authentication Token: sign it with SigV4 "
            f"using a key configured in {ENV_VAR}",
        )
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise Refused("IncompleteSignature", f"only {ALGORITHM} signatures are accepted", 400)
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, text = part.strip().partition("=")
        if sep:
            fields[name] = text.strip()
    missing = [n for n in ("Credential", "SignedHeaders", "Signature") if n not in fields]
    if missing:
        raise Refused(
            "IncompleteSignature", f"Authorization header lacks {', '.join(missing)}", 400
        )
    credential = fields["Credential"].split("/")
    if len(credential) != 5 or credential[4] != "aws4_request":
        raise Refused(
            "IncompleteSignature",
            "Credential must be ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request",
            400,
        )
    signed = tuple(fields["SignedHeaders"].split(";"))
    key_id, date, region, service, _ = credential
    return Authorization(key_id, date, region, service, signed, fields["Signature"])


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    signed: tuple[str, ...],
    payload_hash: str,
) -> str:
    """The canonical request of SigV4 (``path`` and ``query`` as sent on the wire)."""
    lines = [f"{name}:{_WHITESPACE.sub(' ', headers[name].strip())}\n" for name in signed]
    pairs = sorted(pair.partition("=")[::2] for pair in query.split("&") if pair)
    return "\n".join(
        [
            method.upper(),
            quote(path or "/", safe="/~"),
            "&".join(f"{k}={v}" for k, v in pairs),
            "".join(lines),
            ";".join(signed),
            payload_hash,
        ]
    )


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The derived key: HMAC chain over date, region, service and ``aws4_request``."""
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _request_time(headers: Mapping[str, str], auth: Authorization, now: float) -> str:
    """The validated ``X-Amz-Date`` text."""
    amz_date = headers.get("x-amz-date")
    if amz_date is None or "x-amz-date" not in auth.signed_headers:
        raise Refused("IncompleteSignature", "the X-Amz-Date header must be sent and signed", 400)
    try:
        moment = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise Refused(
            "IncompleteSignature", "X-Amz-Date must look like 20240131T235959Z", 400
        ) from None
    if abs(moment.timestamp() - now) > MAX_SKEW:
        server = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
        raise Refused(
            "RequestExpired",
            f"Signature expired: {amz_date} is more than {int(MAX_SKEW // 60)} minutes from the "
            f"server's time {server}; check the client's clock",
            400,
        )
    if auth.date != amz_date[:8]:
        raise Refused(
            "SignatureDoesNotMatch",
            f"Credential date {auth.date} is not the date of X-Amz-Date {amz_date}",
        )
    return amz_date


def _payload_hash(headers: Mapping[str, str], body: bytes) -> str:
    actual = hashlib.sha256(body).hexdigest()
    declared = headers.get("x-amz-content-sha256")
    if declared is not None and declared != actual:
        # UNSIGNED-PAYLOAD is refused too: SQS and EventBridge bodies are always signed.
        raise Refused(
            "SignatureDoesNotMatch",
            "x-amz-content-sha256 does not match the SHA-256 of the body received",
        )
    return actual


def verify(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    keys: Mapping[str, AwsKey],
    now: float,
) -> AwsKey:
    """The key that signed this request (headers with lower-case names), or ``Refused``."""
    auth = parse_authorization(headers.get("authorization"))
    if auth.service not in SERVICES:
        raise Refused(
            "SignatureDoesNotMatch",
            f"Credential scope names service {auth.service!r}; sign for sqs or events",
        )
    key = keys.get(auth.access_key_id)
    if key is None:
        raise Refused(
            "InvalidClientTokenId",
            "The security token included in the request is invalid: access key id "
            f"{auth.access_key_id} is not configured in {ENV_VAR}",
        )
    absent = [name for name in auth.signed_headers if name not in headers]
    if "host" not in auth.signed_headers or absent:
        raise Refused(
            "IncompleteSignature",
            "the Host header must be signed and every signed header sent"
            + (f" (missing: {', '.join(absent)})" if absent else ""),
            400,
        )
    amz_date = _request_time(headers, auth, now)
    request = canonical_request(
        method, path, query, headers, auth.signed_headers, _payload_hash(headers, body)
    )
    to_sign = "\n".join(
        [ALGORITHM, amz_date, auth.scope, hashlib.sha256(request.encode()).hexdigest()]
    )
    derived = signing_key(key.secret, auth.date, auth.region, auth.service)
    expected = hmac.new(derived, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), auth.signature.encode()):
        raise Refused(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )
    return key
