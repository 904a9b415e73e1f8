"""An AWS-Lambda-shaped SQS handler runs unchanged as a batch action."""

from __future__ import annotations

import json
from typing import Any

from sluice import App
from sluice.compat import lambda_sqs_handler


def test_a_lambda_handler_with_batch_item_failures(url: str) -> None:
    app = App(url)
    app.queue("payroll", max_receives=2)
    received: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failures = []
        assert context.get_remaining_time_in_millis() > 0
        for record in event["Records"]:
            row = json.loads(record["body"])
            received.append(row)
            if row["amount"] < 0:
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    app.action("pay", queue="payroll", batch_size=10, retry_base=0.0)(lambda_sqs_handler(handler))
    for n, amount in enumerate([100, -5, 250]):
        app.enqueue("pay", {"row": n, "amount": amount})
    app.work(stop_when_idle=True)
    assert sorted(r["row"] for r in received) == [0, 1, 1, 2]  # the failed row ran twice
    [dead] = app.store.dlq_list("payroll")
    assert dead.body == {"row": 1, "amount": -5}
    assert dead.last_error == "reported in batchItemFailures"
    app.close()
