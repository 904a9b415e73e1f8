"""AWS errors in the awsQueryCompatible JSON shape botocore expects.

The body is ``{"__type": "com.amazonaws.sqs#<Shape>", "message": ...}`` (the shape names are the
ones of botocore's SQS service model) and the header ``x-amzn-query-error: <legacy
code>;Sender`` carries the code of the older query protocol, which botocore reports as
``Error.Code`` while raising the modelled exception (``client.exceptions.<Shape>``)."""

from __future__ import annotations

from starlette.responses import Response

from sluice import codec

NAMESPACE = "com.amazonaws.sqs"


class AwsError(Exception):
    """An error answered to an AWS client; ``shape`` names the modelled exception,
    ``legacy_code`` the query-protocol code (``AWS.SimpleQueueService.NonExistentQueue``)."""

    def __init__(
        self,
        shape: str,
        legacy_code: str,
        message: str,
        status: int = 400,
        namespace: str = NAMESPACE,
    ) -> None:
        super().__init__(message)
        self.shape = shape
        self.legacy_code = legacy_code
        self.message = message
        self.status = status
        self.namespace = namespace

    def response(
        self, query_compatible: bool = True, media_type: str = "application/x-amz-json-1.0"
    ) -> Response:
        """The HTTP answer: JSON body, status and, for a service that is awsQueryCompatible
        (SQS; not EventBridge), the header with the query protocol's code."""
        body = {"__type": f"{self.namespace}#{self.shape}", "message": self.message}
        fault = "Sender" if self.status < 500 else "Receiver"
        headers = {"x-amzn-query-error": f"{self.legacy_code};{fault}"} if query_compatible else {}
        return Response(
            codec.dumps(body), status_code=self.status, media_type=media_type, headers=headers
        )


def invalid_parameter(message: str) -> AwsError:
    """A parameter has a value SQS would refuse."""
    return AwsError("InvalidParameterValue", "InvalidParameterValue", message)


def missing_parameter(name: str) -> AwsError:
    return AwsError(
        "MissingParameter", "MissingParameter", f"The request must contain the parameter {name}."
    )


def invalid_attribute_name(name: str) -> AwsError:
    return AwsError("InvalidAttributeName", "InvalidAttributeName", f"Unknown Attribute {name}.")


def invalid_attribute_value(name: str, why: str) -> AwsError:
    return AwsError(
        "InvalidAttributeValue",
        "InvalidAttributeValue",
        f"Invalid value for the parameter {name}: {why}",
    )


def queue_does_not_exist(name: str) -> AwsError:
    return AwsError(
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        f"The specified queue {name!r} does not exist.",
    )


def receipt_handle_invalid(why: str) -> AwsError:
    return AwsError(
        "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", f"The receipt handle is invalid: {why}"
    )


def internal(message: str) -> AwsError:
    return AwsError("InternalFailure", "InternalFailure", message, status=500)


def unavailable(message: str) -> AwsError:
    return AwsError("ServiceUnavailable", "ServiceUnavailable", message, status=503)
