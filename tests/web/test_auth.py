"""Parsing ``SLUICE_TOKENS`` and matching bearer tokens."""

from __future__ import annotations

import pytest

from sluice.errors import ConfigError
from sluice.web.auth import Scope, parse_tokens, scope_of

A, R = "a" * 20, "r" * 20


def test_parse_and_match() -> None:
    tokens = parse_tokens(f" admin:{A} , READ:{R} ")
    assert tokens == {A: Scope.ADMIN, R: Scope.READ}
    assert scope_of(f"Bearer {A}", tokens) is Scope.ADMIN
    assert scope_of(f"bearer {R}", tokens) is Scope.READ
    assert Scope.READ < Scope.ADMIN
    for header in (None, "", f"Basic {A}", "Bearer ", f"Bearer {A}x", A):
        assert scope_of(header, tokens) is None
    assert parse_tokens("") == {} and parse_tokens(None) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("root:" + A, "entry 1 must look like 'admin:TOKEN' or 'read:TOKEN': the text before"),
        (f"admin:{A},{R}", "entry 2 must look like 'admin:TOKEN'"),
        ("admin:short", "entry 1: a token needs at least 16 printable characters"),
        (f"admin:{A},read:{A}", "entry 2 repeats an earlier token"),
    ],
)
def test_bad_tokens_are_named(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match="SLUICE_TOKENS " + message.replace("(", r"\(")) as raised:
        parse_tokens(text)
    assert A not in str(raised.value) and R not in str(raised.value)


@pytest.mark.parametrize(
    "text",
    [
        "supersecretpassword1:admin",
        "admin:ok-token-0123456789,supersecretpassword1:read",
        "supersecretpassword1",
        "supersecretpassword1 admin",
        "supersecretpassword1:",
        ":supersecretpassword1",
        "admin:supersecret pass",
    ],
)
def test_a_token_written_the_wrong_way_is_never_echoed(text: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_tokens(text)
    message = str(raised.value)
    assert "SLUICE_TOKENS entry" in message
    for part in ("supersecret", "password", "ecretpa", "ok-token"):
        assert part not in message, message
