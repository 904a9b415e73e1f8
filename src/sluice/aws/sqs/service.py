"""The SQS service: its operations by name, registered in
:data:`sluice.aws.wire.SERVICES` under ``AmazonSQS`` on import."""

from __future__ import annotations

from sluice.aws.sqs import batches, groups, messages, moves, permissions, queues
from sluice.aws.sqs.movers import MoveTasks
from sluice.aws.wire import SERVICES, Service

SQS = Service(
    operations={
        "CreateQueue": queues.create_queue,
        "GetQueueUrl": queues.get_queue_url,
        "ListQueues": queues.list_queues,
        "GetQueueAttributes": queues.get_queue_attributes,
        "SetQueueAttributes": queues.set_queue_attributes,
        "DeleteQueue": queues.delete_queue,
        "PurgeQueue": queues.purge_queue,
        "TagQueue": queues.tag_queue,
        "UntagQueue": queues.untag_queue,
        "ListQueueTags": queues.list_queue_tags,
        "AddPermission": permissions.add_permission,
        "RemovePermission": permissions.remove_permission,
        "ListDeadLetterSourceQueues": queues.list_dead_letter_source_queues,
        "SendMessage": groups.send_message,
        "ReceiveMessage": groups.receive_message,
        "DeleteMessage": groups.delete_message,
        "ChangeMessageVisibility": messages.change_message_visibility,
        "SendMessageBatch": groups.send_message_batch,
        "DeleteMessageBatch": groups.delete_message_batch,
        "ChangeMessageVisibilityBatch": batches.change_message_visibility_batch,
        "StartMessageMoveTask": moves.start_message_move_task,
        "ListMessageMoveTasks": moves.list_message_move_tasks,
        "CancelMessageMoveTask": moves.cancel_message_move_task,
    },
    read_only=frozenset(
        {
            "GetQueueUrl",
            "ListQueues",
            "GetQueueAttributes",
            "ListQueueTags",
            "ListDeadLetterSourceQueues",
            "ListMessageMoveTasks",
        }
    ),
    query_compatible=True,
    loops={"sqs-moves": lambda app: MoveTasks(app.store)},
)
SERVICES["AmazonSQS"] = SQS
