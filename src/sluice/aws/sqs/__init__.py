"""The SQS-compatible API (``X-Amz-Target: AmazonSQS.<Operation>``); importing
:mod:`sluice.aws.sqs.service` registers it in :data:`sluice.aws.wire.SERVICES`."""
