"""SigV4 verification against requests signed by botocore's own ``SigV4Auth``."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sluice.aws.sigv4 import MAX_SKEW, Refused, parse_keys, verify
from sluice.errors import ConfigError
from sluice.web.auth import Scope

botocore = pytest.importorskip("botocore")
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

ADMIN_ID, ADMIN_SECRET = "AKIAADMIN0001", "admin-secret-0123456789abcdef"
READ_ID, READ_SECRET = "AKIAREAD00001", "read-secret-0123456789abcdefgh"
KEYS = parse_keys(f"admin:{ADMIN_ID}:{ADMIN_SECRET}, read:{READ_ID}:{READ_SECRET}")
BODY = b'{"QueueUrl": "http://127.0.0.1:8000/000000000000/jobs"}'


def signed(
    key_id: str = ADMIN_ID,
    secret: str = ADMIN_SECRET,
    service: str = "sqs",
    region: str = "eu-west-1",
    body: bytes = BODY,
    at: float | None = None,
    url: str = "http://127.0.0.1:8000/",
) -> tuple[dict[str, str], bytes, str]:
    """Headers (lower-case names), body and path of a request signed by botocore."""
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "AmazonSQS.ReceiveMessage",
        },
    )
    signer = SigV4Auth(Credentials(key_id, secret), service, region)
    if at is not None:
        # botocore stamps X-Amz-Date from the current time; sign as of ``at`` instead.
        import botocore.auth as auth_module

        real = auth_module.datetime.datetime

        class Frozen(real):  # type: ignore[misc,valid-type]
            @classmethod
            def utcnow(cls) -> Any:
                return real.utcfromtimestamp(at)

            @classmethod
            def now(cls, tz: Any = None) -> Any:
                return real.fromtimestamp(at, tz)

        auth_module.datetime.datetime = Frozen
        try:
            signer.add_auth(request)
        finally:
            auth_module.datetime.datetime = real
    else:
        signer.add_auth(request)
    prepared = request.prepare()
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    headers.setdefault("host", "127.0.0.1:8000")
    return headers, body, "/" + url.split("/", 3)[3]


def check(headers: dict[str, str], body: bytes, path: str = "/", now: float | None = None) -> Any:
    return verify("POST", path, "", headers, body, KEYS, time.time() if now is None else now)


def test_valid_keys_pass_with_their_scope() -> None:
    assert check(*signed()[:2]).scope is Scope.ADMIN
    assert check(*signed(READ_ID, READ_SECRET, service="events")[:2]).scope is Scope.READ


def test_any_region_and_a_queue_url_path_verify() -> None:
    headers, body, path = signed(region="ap-south-2", url="http://127.0.0.1:8000/0000/a%20b")
    assert check(headers, body, path).access_key_id == ADMIN_ID


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"secret": "wrong-secret-0123456789abcdef"}, "SignatureDoesNotMatch"),
        ({"key_id": "AKIAUNKNOWN01"}, "InvalidClientTokenId"),
        ({"service": "s3"}, "SignatureDoesNotMatch"),
    ],
)
def test_wrong_credentials_are_refused(change: dict[str, str], code: str) -> None:
    with pytest.raises(Refused) as caught:
        check(*signed(**change)[:2])  # type: ignore[arg-type]
    assert caught.value.code == code
    assert ADMIN_SECRET not in caught.value.message


def test_tampered_body_or_header_is_refused() -> None:
    headers, body, _ = signed()
    with pytest.raises(Refused, match="does not match") as caught:
        check(headers, body.replace(b"jobs", b"jabs"))
    assert caught.value.code == "SignatureDoesNotMatch"
    with pytest.raises(Refused) as caught:
        check({**headers, "x-amz-target": "AmazonSQS.PurgeQueue"}, body)
    assert caught.value.code == "SignatureDoesNotMatch"
    with pytest.raises(Refused) as caught:
        check({**headers, "x-amz-content-sha256": "0" * 64}, body)
    assert caught.value.code == "SignatureDoesNotMatch"


def test_a_date_outside_the_skew_window_is_refused() -> None:
    now = time.time()
    headers, body, _ = signed(at=now - MAX_SKEW - 120)
    with pytest.raises(Refused, match="check the client's clock") as caught:
        check(headers, body, now=now)
    assert caught.value.code == "RequestExpired"
    headers, body, _ = signed(at=now - MAX_SKEW + 120)
    assert check(headers, body, now=now).scope is Scope.ADMIN


@pytest.mark.parametrize("dropped", ["authorization", "x-amz-date", "host", "content-type"])
def test_a_missing_header_is_refused(dropped: str) -> None:
    headers, body, _ = signed()
    del headers[dropped]
    with pytest.raises(Refused) as caught:
        check(headers, body)
    expected = "MissingAuthenticationToken" if dropped == "authorization" else "IncompleteSignature"
    assert caught.value.code == expected


def test_a_malformed_authorization_header_is_refused() -> None:
    headers, body, _ = signed()
    for bad in (
        "Bearer abc",
        "AWS4-HMAC-SHA256 Credential=x",
        "AWS4-HMAC-SHA256 Credential=a/b,SignedHeaders=host,Signature=00",
    ):
        with pytest.raises(Refused) as caught:
            check({**headers, "authorization": bad}, body)
        assert caught.value.code == "IncompleteSignature"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("admin:AKIA0001", "must look like"),
        ("owner:AKIA0001:" + "s" * 20, "must look like"),
        ("admin:AK:" + "s" * 20, "access key id"),
        ("admin:AKIA0001:short", "at least 16"),
        (f"admin:AKIA0001:{'s' * 20},read:AKIA0001:{'t' * 20}", "repeats"),
    ],
)
def test_bad_key_configuration_is_named_without_the_secret(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as caught:
        parse_keys(text)
    assert "s" * 20 not in str(caught.value) and "short" not in str(caught.value)


def test_no_keys_configured() -> None:
    assert parse_keys(None) == {} and parse_keys("  ") == {}
    assert ADMIN_SECRET not in repr(KEYS)
