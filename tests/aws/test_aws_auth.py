"""SigV4 on the wire: boto3 clients against a real server with ``SLUICE_AWS_KEYS`` set."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sluice import App
from sluice.aws.auth import RequestInfo, authorize
from sluice.aws.errors import AwsError
from sluice.errors import ConfigError
from sluice.web import create_app
from sluice.web.auth import Scope
from tests.web.conftest import LiveServer

ADMIN = ("AKIAADMIN0001", "admin-secret-0123456789abcdef")
READ = ("AKIAREAD00001", "read-secret-0123456789abcdefgh")


@pytest.fixture
def signed_server(aws_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    monkeypatch.setenv("SLUICE_AWS_KEYS", f"admin:{ADMIN[0]}:{ADMIN[1]},read:{READ[0]}:{READ[1]}")
    return aws_server


def client(server: LiveServer, key: tuple[str, str], service: str = "sqs") -> Any:
    return boto3.client(
        service,
        endpoint_url=server.base_url,
        region_name="eu-central-1",
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        config=Config(retries={"max_attempts": 1}),
    )


def refused(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response  # type: ignore[no-any-return]


def test_admin_key_works_and_read_key_only_reads(signed_server: LiveServer) -> None:
    admin, read = client(signed_server, ADMIN), client(signed_server, READ)
    url = admin.create_queue(QueueName="signed")["QueueUrl"]
    admin.send_message(QueueUrl=url, MessageBody="hello")
    assert read.get_queue_url(QueueName="signed")["QueueUrl"] == url
    assert "signed" in " ".join(read.list_queues().get("QueueUrls", []))
    for call, kwargs in (
        (read.send_message, {"QueueUrl": url, "MessageBody": "x"}),
        (read.receive_message, {"QueueUrl": url}),
        (read.purge_queue, {"QueueUrl": url}),
    ):
        response = refused(call, **kwargs)
        assert response["Error"]["Code"] == "AccessDenied"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    got = admin.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in got] == ["hello"]


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ((ADMIN[0], "wrong-secret-0123456789abcdef"), "SignatureDoesNotMatch"),
        (("AKIAUNKNOWN01", ADMIN[1]), "InvalidClientTokenId"),
    ],
)
def test_bad_credentials_are_refused_in_the_aws_shape(
    signed_server: LiveServer, key: tuple[str, str], code: str
) -> None:
    response = refused(client(signed_server, key).list_queues)
    assert response["Error"]["Code"] == code
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert ADMIN[1] not in str(response)


def test_unsigned_request_is_refused(signed_server: LiveServer) -> None:
    from botocore import UNSIGNED

    anonymous = boto3.client(
        "sqs",
        endpoint_url=signed_server.base_url,
        region_name="us-east-1",
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )
    response = refused(anonymous.list_queues)
    assert response["Error"]["Code"] == "MissingAuthenticationToken"


def test_events_refusals_use_the_json_shape(signed_server: LiveServer) -> None:
    events = client(signed_server, (ADMIN[0], "wrong-secret-0123456789abcdef"), "events")
    entry = {"Source": "s", "DetailType": "d", "Detail": "{}"}
    response = refused(events.put_events, Entries=[entry])
    assert response["Error"]["Code"] == "InvalidSignatureException"


def test_tokens_without_aws_keys_refuse_aws_requests(aws_app: App) -> None:
    with LiveServer(create_app(aws_app, {"admin-token-0123456789": Scope.ADMIN})) as live:
        response = refused(client(live, ADMIN).list_queues)
    assert response["Error"]["Code"] == "MissingAuthenticationToken"


def test_without_keys_only_loopback_clients_are_served(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLUICE_AWS_KEYS", raising=False)

    def request(host: str) -> RequestInfo:
        return RequestInfo("POST", "/", "", {}, b"{}", host, api_open=True)

    assert authorize(request("127.0.0.1")).scope is Scope.ADMIN
    assert authorize(request("::1")).scope is Scope.ADMIN
    with pytest.raises(AwsError) as caught:
        authorize(request("10.1.2.3"))
    assert caught.value.legacy_code == "AccessDenied" and caught.value.status == 403


def test_malformed_keys_are_named_without_the_secret(
    aws_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLUICE_AWS_KEYS", "owner:AKIAADMIN0001:" + ADMIN[1])
    response = refused(client(aws_server, ADMIN).list_queues)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "must look like 'admin:ACCESS_KEY_ID:SECRET'" in response["Error"]["Message"]
    assert ADMIN[1] not in str(response)


def test_malformed_keys_stop_the_server_from_starting(
    aws_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLUICE_AWS_KEYS", "admin:AKIAADMIN0001:short")
    with pytest.raises(ConfigError, match="entry 1: the secret needs at least 16") as caught:
        create_app(aws_app, {})
    assert "short" not in str(caught.value)
