"""The per-message constructors that set slots directly make the same objects as __init__."""

from __future__ import annotations

import dataclasses

import pytest

from sluice.model import Message, NewMessage, Outcome, Receipt
from sluice.model.slots import positional
from sluice.store.rows import message_from_row


def test_a_claimed_row_makes_the_message_the_constructor_makes() -> None:
    row = (7, "q", "act", '{"a": 1}', "g", "d", "r", 2, 1.0, 2.0, "tok", "boom", None, None, None)
    made = message_from_row(row, claimed=True)
    expected = Message(
        7, "q", "act", {"a": 1}, "g", "d", "r", 2, 1.0, 2.0, Receipt(7, "tok"), "boom"
    )
    assert made == expected
    assert hash(made.receipt) == hash(Receipt(7, "tok"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.queue = "other"  # type: ignore[misc]


def test_an_ack_is_the_outcome_the_constructor_makes() -> None:
    child = NewMessage("q", 1)
    ack = Outcome.ack(Receipt(1, "t"), (child,), ("k",), 3, "result", "q")
    assert ack == Outcome(Receipt(1, "t"), "ack", children=(child,), once=("k",), units=3)
    assert (ack.result, ack.queue, ack.delay, ack.error) == ("result", "q", 0.0, None)


def test_only_slotted_dataclasses_without_post_init_are_taken() -> None:
    @dataclasses.dataclass(frozen=True)
    class Unslotted:
        x: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        x: int

        def __post_init__(self) -> None:
            raise AssertionError("never skipped")

    with pytest.raises(TypeError, match="not a slotted dataclass"):
        positional(Unslotted)
    with pytest.raises(TypeError, match="__post_init__"):
        positional(Checked)
    with pytest.raises(TypeError):
        positional(Receipt)(1)  # every field, in order
