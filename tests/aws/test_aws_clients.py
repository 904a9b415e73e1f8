"""Other AWS clients against a real server: the AWS CLI and the JavaScript v3 SDK.

Each test is skipped only when its tool is absent and ``CI`` is not set (under CI a missing
tool fails the test). The CLI is the one on PATH, else pip-installed into a venv of the test's
temporary directory; the JS SDK is ``npm install``-ed there."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import LiveServer

ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
JS = """
import { SQSClient, CreateQueueCommand, SendMessageCommand, ReceiveMessageCommand,
  DeleteMessageCommand } from "@aws-sdk/client-sqs";
const sqs = new SQSClient({ endpoint: process.argv[2], region: "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" } });
const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "js-queue" }));
await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "héllo from js",
  MessageAttributes: { kind: { DataType: "String", StringValue: "greeting" } } }));
const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5,
  MessageAttributeNames: ["All"] }));
const m = got.Messages[0];
await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
console.log(JSON.stringify({ QueueUrl, Body: m.Body, MD5OfBody: m.MD5OfBody }));
"""


def absent(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI is set, so this is a failure, not a skip)")
    pytest.skip(what)


def aws_cli(tmp: Path) -> str:
    found = shutil.which("aws")
    if found:
        return found
    venv = tmp / "awscli-venv"
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], check=False)
    pip = [str(venv / "bin" / "pip"), "install", "--quiet", "awscli"]
    if made.returncode or subprocess.run(pip, check=False, timeout=300).returncode:
        absent("the AWS CLI is not on PATH and pip could not install awscli")
    return str(venv / "bin" / "aws")


def run_json(command: list[str], **kwargs: Any) -> Any:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_aws_cli(aws_server: LiveServer, tmp_path: Path) -> None:
    aws = [aws_cli(tmp_path), "--endpoint-url", aws_server.base_url, "--output", "json", "sqs"]
    env = {**ENV, "PATH": os.environ.get("PATH", "")}
    url = run_json([*aws, "create-queue", "--queue-name", "cli-queue"], env=env)["QueueUrl"]
    assert url.endswith("/cli-queue")
    run_json([*aws, "send-message", "--queue-url", url, "--message-body", "from the cli"], env=env)
    got = run_json(
        [*aws, "receive-message", "--queue-url", url, "--wait-time-seconds", "5"], env=env
    )
    assert [m["Body"] for m in got["Messages"]] == ["from the cli"]
    listed = run_json([*aws, "list-queues", "--queue-name-prefix", "cli-"], env=env)
    assert listed["QueueUrls"] == [url]


@pytest.fixture(scope="session")
def js_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        absent("node and npm are needed for the JavaScript v3 SDK test")
    where = tmp_path_factory.mktemp("js-sdk")
    install = ["npm", "install", "--silent", "--no-audit", "--no-fund", "@aws-sdk/client-sqs"]
    if subprocess.run(install, cwd=where, check=False, timeout=300).returncode:
        absent("npm install @aws-sdk/client-sqs failed (is the registry reachable?)")
    (where / "sqs.mjs").write_text(JS)
    return where


def test_javascript_v3_sdk(aws_server: LiveServer, js_sdk: Path) -> None:
    env = {**ENV, "PATH": os.environ.get("PATH", "")}
    got = run_json(["node", "sqs.mjs", aws_server.base_url], cwd=js_sdk, env=env)
    assert got["Body"] == "héllo from js"
    assert got["QueueUrl"].endswith("/js-queue")
    assert got["MD5OfBody"] == hashlib.md5("héllo from js".encode()).hexdigest()
