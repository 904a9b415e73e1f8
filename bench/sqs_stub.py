"""An SQS JSON endpoint that stores nothing: SendMessageBatch succeeds for every entry,
ReceiveMessage returns ten canned messages, DeleteMessageBatch succeeds. ``bench/sqs.py``
drives it with the same boto3 clients as sluice to measure what the clients alone can do on
this machine (uvicorn, as ``sluice serve``)::

    python bench/sqs_stub.py PORT
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

import uvicorn

BODY = "canned"
MD5 = hashlib.md5(BODY.encode(), usedforsecurity=False).hexdigest()
MESSAGES = [
    {"MessageId": str(i), "ReceiptHandle": f"{i}:t", "MD5OfBody": MD5, "Body": BODY}
    for i in range(10)
]


def answer(target: str, params: dict[str, Any]) -> dict[str, Any]:
    if target.endswith(".SendMessageBatch"):
        done = [
            {
                "Id": e["Id"],
                "MessageId": e["Id"],
                "MD5OfMessageBody": hashlib.md5(
                    e["MessageBody"].encode(), usedforsecurity=False
                ).hexdigest(),
            }
            for e in params["Entries"]
        ]
        return {"Successful": done, "Failed": []}
    if target.endswith(".ReceiveMessage"):
        return {"Messages": MESSAGES}
    if target.endswith(".DeleteMessageBatch"):
        return {"Successful": [{"Id": e["Id"]} for e in params["Entries"]], "Failed": []}
    if target.endswith(".CreateQueue"):
        return {"QueueUrl": f"http://localhost/000000000000/{params['QueueName']}"}
    return {}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    raw, more = b"", True
    while more:
        message = await receive()
        raw += message.get("body", b"")
        more = message.get("more_body", False)
    headers = dict(scope["headers"])
    target = headers.get(b"x-amz-target", b"").decode()
    body = json.dumps(answer(target, json.loads(raw) if raw else {})).encode()
    media = b"application/x-amz-json-1.0" if target else b"text/plain"
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", media)]}
    )
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", lifespan="off")
