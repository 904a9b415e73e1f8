"""The purge story's AWS code, unchanged, pointed at sluice.

The discovery producer and the CSV hand-off consumer below are written as they are against AWS:
boto3 ``send_message_batch`` in chunks of 10, a ``receive_message`` / ``delete_message`` loop,
and ``events.put_events`` per deleted record. Only ``endpoint_url`` names sluice. On the sluice
side (``app``) a rule routes the ``RecordDeleted`` audit events to an action that appends them
to an audit log.

    SLUICE_URL=sqlite:///aws-demo.db sluice serve examples.aws_purge:app --port 8000
    python examples/aws_purge.py --endpoint http://127.0.0.1:8000 --records 1000
    SLUICE_URL=sqlite:///aws-demo.db sluice worker examples.aws_purge:app   # runs the audit rule
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sqlite3
from pathlib import Path
from typing import Any

import boto3

from sluice import App

QUEUE = "purge-records"
SOURCE = "analytics.purge"


def build_app(url: str | None, audit_log: Path) -> App:
    """The sluice side: an ``audit`` action and the rule that routes deletions to it."""
    app = App(url)
    app.queue("audit")

    @app.action(queue="audit")
    def write_audit(event: dict[str, Any], ctx: object) -> None:
        with audit_log.open("a") as out:
            out.write(json.dumps({"id": event["id"], **event["detail"]}) + "\n")

    app.rule(
        "record-deleted", {"source": [SOURCE], "detail-type": ["RecordDeleted"]}, "write_audit"
    )
    return app


app = build_app(
    os.environ.get("SLUICE_URL"), Path(os.environ.get("AWS_DEMO_AUDIT", "aws-demo-audit.jsonl"))
)


def seed(db: Path, records: int, expired_share: float = 0.3) -> int:
    """A table of records, some expired; return how many are expired."""
    rng = random.Random(7)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS records (id INTEGER PRIMARY KEY, expired INTEGER)")
        rows = [(i, int(rng.random() < expired_share)) for i in range(1, records + 1)]
        conn.executemany("INSERT INTO records VALUES (?, ?)", rows)
    return sum(expired for _, expired in rows)


def clients(endpoint: str) -> tuple[Any, Any]:
    session = boto3.session.Session(region_name="us-east-1")
    return session.client("sqs", endpoint_url=endpoint), session.client(
        "events", endpoint_url=endpoint
    )


# -- the AWS code of the story, as it runs against AWS ------------------------------------


def discover(sqs: Any, queue_url: str, db: Path) -> int:
    """The discovery producer: keyset-page the expired ids, send them in batches of 10."""
    sent, after = 0, 0
    with sqlite3.connect(db) as conn:
        while True:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM records WHERE expired = 1 AND id > ? ORDER BY id LIMIT 500",
                    (after,),
                )
            ]
            if not ids:
                return sent
            for start in range(0, len(ids), 10):
                chunk = ids[start : start + 10]
                response = sqs.send_message_batch(
                    QueueUrl=queue_url,
                    Entries=[
                        {"Id": str(i), "MessageBody": json.dumps({"record_id": i})} for i in chunk
                    ],
                )
                if response.get("Failed"):
                    raise RuntimeError(f"send_message_batch failed: {response['Failed']}")
                sent += len(chunk)
            after = ids[-1]


def hand_off(sqs: Any, events: Any, queue_url: str, db: Path, out: Path) -> int:
    """The CSV hand-off consumer: receive, delete the record, write its CSV row, audit it with
    ``put_events``, delete the message. Stops when a receive comes back empty."""
    done = 0
    with sqlite3.connect(db) as conn, out.open("a", newline="") as handle:
        writer = csv.writer(handle)
        while True:
            response = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            messages = response.get("Messages", [])
            if not messages:
                return done
            for message in messages:
                record_id = json.loads(message["Body"])["record_id"]
                with conn:
                    conn.execute("DELETE FROM records WHERE id = ?", (record_id,))
                writer.writerow([record_id, "deleted"])
                answer = events.put_events(
                    Entries=[
                        {
                            "Source": SOURCE,
                            "DetailType": "RecordDeleted",
                            "Detail": json.dumps({"record_id": record_id}),
                            "Resources": [f"arn:aws:analytics:::record/{record_id}"],
                        }
                    ]
                )
                if answer["FailedEntryCount"]:
                    raise RuntimeError(f"put_events failed: {answer['Entries']}")
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                done += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="sluice serve's base URL")
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--db", type=Path, default=Path("aws-demo-records.db"))
    parser.add_argument("--csv", type=Path, default=Path("aws-demo-handoff.csv"))
    args = parser.parse_args()
    expired = seed(args.db, args.records)
    sqs, events = clients(args.endpoint)
    queue_url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    sent = discover(sqs, queue_url, args.db)
    handed = hand_off(sqs, events, queue_url, args.db, args.csv)
    print(json.dumps({"expired": expired, "sent": sent, "handed_off": handed}))


if __name__ == "__main__":
    main()
