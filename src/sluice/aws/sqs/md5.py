"""Message attributes and the MD5 digests SQS returns for bodies and attributes.

The attribute digest is AWS's: for each attribute by name (sorted by UTF-8 bytes): the name,
the data type (each as a 4-byte big-endian length and UTF-8 bytes), a transport byte (1 for
String and Number types, 2 for Binary) and the value (length and bytes)."""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from collections.abc import Mapping
from typing import Any

from sluice import codec
from sluice.aws.errors import AwsError
from sluice.codec import UnreadableBody
from sluice.model import Message

ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,256}")
MAX_ATTRIBUTES = 10
VALID_TEXT = re.compile("^[\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$")


def md5_of_body(body: str) -> str:
    return hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()


def _field(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def md5_of_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """AWS's MD5OfMessageAttributes of validated attributes (see :func:`parse_attributes`)."""
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes, key=lambda n: n.encode()):
        value = attributes[name]
        data_type = str(value["DataType"])
        digest.update(_field(name.encode()) + _field(data_type.encode()))
        if "BinaryValue" in value:
            digest.update(b"\x02" + _field(base64.b64decode(value["BinaryValue"])))
        else:
            digest.update(b"\x01" + _field(str(value["StringValue"]).encode()))
    return digest.hexdigest()


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", "InvalidParameterValue", message)


def parse_attributes(raw: object) -> dict[str, dict[str, str]]:
    """Validated ``MessageAttributes`` (each DataType with a StringValue or a base64
    BinaryValue), or InvalidParameterValue naming the fault."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _invalid("MessageAttributes must be a map of name to attribute value")
    if len(raw) > MAX_ATTRIBUTES:
        raise _invalid(
            f"Number of message attributes [{len(raw)}] exceeds the allowed maximum [10]."
        )
    parsed: dict[str, dict[str, str]] = {}
    for name, value in raw.items():
        if not ATTRIBUTE_NAME.fullmatch(name) or name.lower().startswith(("aws.", "amazon.")):
            raise _invalid(f"Message attribute name '{name[:80]}' is invalid.")
        if not isinstance(value, dict) or not isinstance(value.get("DataType"), str):
            raise _invalid(f"The message attribute '{name}' must contain a non-empty DataType.")
        data_type = value["DataType"]
        base = data_type.partition(".")[0]
        if base not in ("String", "Number", "Binary"):
            raise _invalid(
                f"The type of message attribute '{name}' is invalid. You must use only the "
                "following supported type prefixes: Binary, Number, String."
            )
        key = "BinaryValue" if base == "Binary" else "StringValue"
        given = value.get(key)
        if not isinstance(given, str) or not given:
            raise _invalid(
                f"The message attribute '{name}' with type '{base}' must use field '{key}'."
            )
        if key == "BinaryValue":
            try:
                base64.b64decode(given, validate=True)
            except ValueError:
                raise _invalid(f"The message attribute '{name}' has invalid binary data.") from None
        parsed[name] = {"DataType": data_type, key: given}
    return parsed


def check_body(body: object, limit: int) -> str:
    """A message body SQS accepts: non-empty text of allowed characters within ``limit``."""
    if not isinstance(body, str) or not body:
        raise AwsError(
            "MissingParameter",
            "MissingParameter",
            "The request must contain the parameter MessageBody.",
        )
    if not VALID_TEXT.match(body):
        raise AwsError(
            "InvalidMessageContents",
            "InvalidMessageContents",
            "Invalid characters found. Valid values are #x9 | #xA | #xD | #x20 to #xD7FF | "
            "#xE000 to #xFFFD | #x10000 to #x10FFFF",
        )
    if len(body.encode()) > limit:
        raise _invalid(
            "One or more parameters are invalid. Reason: Message must be shorter than "
            f"{limit} bytes."
        )
    return body


def size_of(body: str, attributes: Mapping[str, Mapping[str, str]]) -> int:
    """A message's size as SQS counts it against MaximumMessageSize: the body and each
    attribute's name, data type and value, in bytes."""
    size = len(body.encode())
    for name, value in attributes.items():
        size += len(name.encode()) + len(value["DataType"].encode())
        if "BinaryValue" in value:
            size += len(base64.b64decode(value["BinaryValue"]))
        else:
            size += len(value["StringValue"].encode())
    return size


def check_size(body: str, attributes: Mapping[str, Mapping[str, str]], limit: int) -> int:
    """The message's size (:func:`size_of`), or InvalidParameterValue above ``limit``."""
    size = size_of(body, attributes)
    if size > limit:
        raise _invalid(
            "One or more parameters are invalid. Reason: Message must be shorter than "
            f"{limit} bytes (body and message attributes: {size} bytes)."
        )
    return size


def parse_trace(raw: object) -> dict[str, str] | None:
    """The ``AWSTraceHeader`` of ``MessageSystemAttributes`` (the only system attribute a
    sender may set), or InvalidParameterValue."""
    if raw is None or raw == {}:
        return None
    if not isinstance(raw, dict) or set(raw) != {"AWSTraceHeader"}:
        raise _invalid(
            "MessageSystemAttributes may only hold AWSTraceHeader, got "
            f"{sorted(raw) if isinstance(raw, dict) else type(raw).__name__}"
        )
    value = raw["AWSTraceHeader"]
    if (
        not isinstance(value, dict)
        or value.get("DataType") != "String"
        or not isinstance(value.get("StringValue"), str)
        or not value["StringValue"]
    ):
        raise _invalid("AWSTraceHeader must be a String attribute with a StringValue")
    return {"DataType": "String", "StringValue": value["StringValue"]}


def body_text(message: Message) -> str:
    """The SQS body of a stored message: a string body as it is (sent through SQS), any
    other body as its JSON text (enqueued by sluice)."""
    body = message.body
    if isinstance(body, str):
        return body
    if isinstance(body, UnreadableBody):
        return body.text
    return codec.dumps(body).decode()
