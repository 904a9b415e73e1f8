"""moto's server as an oracle: the same calls answer the same digests and error codes."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

ATTRIBUTES = {
    "s": {"DataType": "String", "StringValue": "caf\u00e9"},
    "n": {"DataType": "Number.int", "StringValue": "-12.5"},
    "b": {"DataType": "Binary.png", "BinaryValue": b"\x00\xff\x10"},
    "c": {"DataType": "String.custom", "StringValue": "x" * 300},
}


@pytest.fixture(scope="module")
def moto_sqs() -> Iterator[Any]:
    server_module = pytest.importorskip("moto.server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield boto3.client(
            "sqs",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
    finally:
        server.stop()


def _digests(client: Any) -> tuple[str, str, str]:
    url = client.create_queue(QueueName="oracle")["QueueUrl"]
    sent = client.send_message(QueueUrl=url, MessageBody="b\u00f6dy", MessageAttributes=ATTRIBUTES)
    [got] = client.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    return sent["MD5OfMessageBody"], sent["MD5OfMessageAttributes"], got["MD5OfMessageAttributes"]


def test_digests_match_moto(sqs: Any, moto_sqs: Any) -> None:
    assert _digests(sqs) == _digests(moto_sqs)


def test_error_codes_match_moto(sqs: Any, moto_sqs: Any) -> None:
    def code(client: Any) -> str:
        try:
            client.get_queue_url(QueueName="missing")
        except client.exceptions.QueueDoesNotExist as exc:
            return str(exc.response["Error"]["Code"])
        return "no error"

    assert code(sqs) == code(moto_sqs) == "AWS.SimpleQueueService.NonExistentQueue"
