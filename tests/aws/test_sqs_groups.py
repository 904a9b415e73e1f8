"""Concurrent SendMessage(Batch) and DeleteMessage(Batch) requests share store transactions
on the server (aws/sqs/groups.py); each keeps its own answer, its own per-entry failures
and its own whole-request error, and nothing of a refused message is stored."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from sluice import App
from sluice.web import create_app
from tests.aws.conftest import sqs_client
from tests.sqlite_locks import held_by_another_process
from tests.web.conftest import LiveServer

pytestmark = pytest.mark.timeout(120)
THREADS, ROUNDS = 6, 8


def _sender(live: LiveServer, url: str, thread: int) -> dict[str, Any]:
    sqs, sent, failed, refused = sqs_client(live), {}, [], []
    for r in range(ROUNDS):
        entries = [{"Id": f"e{k}", "MessageBody": f"{thread}-{r}-{k}"} for k in range(10)]
        if r % 3 == 1:  # one bad entry: it fails alone, in Failed[]
            entries[4]["MessageBody"] = "bad \x00 body"
        answer = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        for ok in answer["Successful"]:
            sent[ok["MessageId"]] = next(e["MessageBody"] for e in entries if e["Id"] == ok["Id"])
        failed += [(f["Id"], f["Code"]) for f in answer["Failed"]]
        one = sqs.send_message(QueueUrl=url, MessageBody=f"{thread}-{r}-single")
        sent[one["MessageId"]] = f"{thread}-{r}-single"
        try:  # too large for the store's own limit (the app's queue policy): refused whole
            sqs.send_message(QueueUrl=url, MessageBody="x" * 600)
        except ClientError as exc:
            refused.append(exc.response["Error"]["Code"])
        try:
            sqs.send_message_batch(QueueUrl=url, Entries=[])
        except ClientError as exc:
            refused.append(exc.response["Error"]["Code"])
    return {"sent": sent, "failed": failed, "refused": refused}


def test_concurrent_sends_each_keep_their_answers_and_errors(aws_app: App) -> None:
    aws_app.queue("tight", max_message_bytes=512)
    with LiveServer(create_app(aws_app, {})) as live:
        sqs = sqs_client(live)
        url = sqs.get_queue_url(QueueName="tight")["QueueUrl"]
        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(lambda t: _sender(live, url, t), range(THREADS)))
        sent = {k: v for result in results for k, v in result["sent"].items()}
        assert len(sent) == THREADS * ROUNDS * 10 - THREADS * len(range(1, ROUNDS, 3)) + (
            THREADS * ROUNDS
        )  # every id once: no two requests were given the same message
        for result in results:
            assert result["failed"] == [("e4", "InvalidMessageContents")] * len(range(1, ROUNDS, 3))
            assert (
                result["refused"]
                == [
                    "InvalidParameterValue",
                    "AWS.SimpleQueueService.EmptyBatchRequest",
                ]
                * ROUNDS
            )
        stored = {str(m.id): m.body for m in aws_app.store.peek("tight", limit=10_000)}
        assert stored == sent  # what each answer said was stored, and nothing else


def test_concurrent_receives_and_deletes_each_answer_for_their_own(aws_app: App) -> None:
    with LiveServer(create_app(aws_app, {})) as live:
        sqs = sqs_client(live)
        url = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
        for b in range(12):
            entries = [{"Id": str(k), "MessageBody": f"{b}-{k}"} for k in range(10)]
            assert not sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")

        received: list[str] = []

        def drain(thread: int) -> tuple[int, list[str]]:
            client, deleted, codes = sqs_client(live), 0, []
            while got := client.receive_message(QueueUrl=url, MaxNumberOfMessages=9).get(
                "Messages", []
            ):
                received.extend(m["MessageId"] for m in got)  # receives share claims
                entries = [
                    {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(got)
                ]
                entries.append({"Id": "bogus", "ReceiptHandle": "not-a-handle"})
                answer = client.delete_message_batch(QueueUrl=url, Entries=entries)
                deleted += len(answer["Successful"])
                codes += [f["Code"] for f in answer["Failed"]]
                client.delete_message(
                    QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"]
                )  # again: ok
            return deleted, codes

        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(drain, range(4)))
        assert sum(deleted for deleted, _ in results) == 120
        assert len(received) == len(set(received)) == 120  # each message to one receive
        assert all(set(codes) == {"ReceiptHandleIsInvalid"} for _, codes in results if codes)
        assert aws_app.store.stats(["jobs"])[0].depth == 0
        with pytest.raises(ClientError) as bad:
            sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
        assert bad.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"


def test_a_send_waits_for_another_process_s_sqlite_lock_in_a_thread_not_on_the_loop(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'held.db'}"
    app = App(url)
    app.queue("jobs")
    app.action(queue="jobs")(lambda body, ctx: None)
    app.store.migrate()
    with LiveServer(create_app(app, {})) as live:
        sqs = sqs_client(live)
        queue = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
        sqs.send_message(QueueUrl=queue, MessageBody="before")  # written on the loop
        with ThreadPoolExecutor(1) as pool:
            with held_by_another_process(url):
                sending = pool.submit(sqs.send_message, QueueUrl=queue, MessageBody="while held")
                time.sleep(0.3)
                assert not sending.done()  # it waits for the lock...
                health = httpx.get(f"{live.base_url}/healthz", timeout=5)
                assert health.status_code == 200  # ...in a thread: the loop still answers
                assert not sending.done()
            assert sending.result(timeout=30)["MessageId"]
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
        assert sorted(m["Body"] for m in got) == ["before", "while held"]
    app.close()
