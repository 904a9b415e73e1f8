"""EventBridge content patterns: matching semantics and validation errors (the properties are in
test_pattern_properties.py)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from sluice import ConfigError, InvalidPattern, SluiceError
from sluice.sources.patterns import Pattern, compile_pattern

EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "Order Placed",
    "source": "shop.orders",
    "account": "123456789012",
    "time": "2024-05-01T12:00:00Z",
    "region": "eu-west-1",
    "resources": ["arn:shop:order/1", "arn:shop:customer/7"],
    "detail": {
        "order-id": "o-1",
        "price": 19.5,
        "quantity": 3,
        "count": 5,
        "code": "5",
        "currency": "EUR",
        "gift": False,
        "flag": True,
        "coupon": None,
        "note": "",
        "star": "a*b",
        "path": "/usr/lib/python3/site.py",
        "customer": {
            "tier": "Gold",
            "email": "Ann@Example.com",
            "ip": "10.0.0.33",
            "ip6": "2001:db8::1",
        },
        "items": [{"sku": "A-1", "qty": 1}, {"sku": "B-2", "qty": 2}],
        "tags": ["new", "promo"],
        "grid": [["x", "y"], ["z"]],
        "empty": [],
    },
}


def detail(**fields: Any) -> dict[str, Any]:
    return {"detail": fields}


def case(name: str, pattern: dict[str, Any], expected: bool, event: Any = None) -> Any:
    return pytest.param(pattern, EVENT if event is None else event, expected, id=name)


MATCH_CASES = [
    # exact values, AND across fields, OR within an array
    case("exact-string", {"source": ["shop.orders"]}, True),
    case("exact-one-of", {"source": ["other", "shop.orders"]}, True),
    case("exact-miss", {"source": ["shop.refunds"]}, False),
    case("exact-is-case-sensitive", {"source": ["Shop.Orders"]}, False),
    case("and-both", {"source": ["shop.orders"], "detail-type": ["Order Placed"]}, True),
    case("and-one-fails", {"source": ["shop.orders"], "detail-type": ["Refund"]}, False),
    case("envelope-fields", {"account": ["123456789012"], "region": ["eu-west-1"]}, True),
    case("number-exact", detail(quantity=[3]), True),
    case("number-int-matches-float", detail(quantity=[3.0]), True),
    case("number-exponent-form", detail(price=[1.95e1]), True),
    case("number-miss", detail(quantity=[4]), False),
    case("string-does-not-equal-number", detail(count=["5"]), False),
    case("number-does-not-equal-string", detail(code=[5]), False),
    case("boolean-false", detail(gift=[False]), True),
    case("false-is-not-zero", detail(gift=[0]), False),
    case("true-is-not-one", detail(flag=[1]), False),
    case("one-is-not-true", detail(quantity=[True]), False),
    case("null", detail(coupon=[None]), True),
    case("null-not-absent", detail(missing=[None]), False),
    case("null-not-empty-string", detail(note=[None]), False),
    case("empty-string", detail(note=[""]), True),
    case("absent-field", detail(missing=["x"]), False),
    # arrays in the event
    case("array-any-element", {"resources": ["arn:shop:customer/7"]}, True),
    case("array-no-element", {"resources": ["arn:shop:customer/8"]}, False),
    case("array-of-arrays-crushed", detail(grid=["z"]), True),
    case("array-of-objects", detail(items={"sku": ["B-2"]}), True),
    case("array-fields-same-element", detail(items={"sku": ["B-2"], "qty": [2]}), True),
    case("array-fields-across-elements", detail(items={"sku": ["A-1"], "qty": [2]}), False),
    case("empty-array-matches-nothing", detail(empty=[""]), False),
    # nesting
    case("nested", detail(customer={"tier": ["Gold"]}), True),
    case("nested-miss", detail(customer={"tier": ["Silver"]}), False),
    case("nested-pattern-under-leaf", detail(price={"amount": [19.5]}), False),
    case("leaf-pattern-at-object", detail(customer=["Gold"]), False),
    # prefix / suffix
    case("prefix", {"time": [{"prefix": "2024-05"}]}, True),
    case("prefix-miss", {"time": [{"prefix": "2023"}]}, False),
    case("prefix-only-strings", detail(count=[{"prefix": "5"}]), False),
    case("prefix-case-sensitive", detail(customer={"email": [{"prefix": "ann@"}]}), False),
    case(
        "prefix-ignore-case",
        detail(customer={"email": [{"prefix": {"equals-ignore-case": "ANN@"}}]}),
        True,
    ),
    case("prefix-in-array", {"resources": [{"prefix": "arn:shop:customer/"}]}, True),
    case("suffix", detail(path=[{"suffix": ".py"}]), True),
    case("suffix-case-sensitive", detail(path=[{"suffix": ".PY"}]), False),
    case("suffix-ignore-case", detail(path=[{"suffix": {"equals-ignore-case": ".PY"}}]), True),
    case("suffix-in-array", detail(tags=[{"suffix": "mo"}]), True),
    # equals-ignore-case
    case("equals-ignore-case", detail(customer={"tier": [{"equals-ignore-case": "gOLD"}]}), True),
    case(
        "equals-ignore-case-whole",
        detail(customer={"tier": [{"equals-ignore-case": "gol"}]}),
        False,
    ),
    case("equals-ignore-case-only-strings", detail(count=[{"equals-ignore-case": "5"}]), False),
    # wildcard
    case("wildcard", detail(path=[{"wildcard": "/usr/*/site.py"}]), True),
    case("wildcard-contains", detail(path=[{"wildcard": "*lib*"}]), True),
    case("wildcard-whole-value", detail(path=[{"wildcard": "/usr/lib"}]), False),
    case("wildcard-several-stars", detail(path=[{"wildcard": "/*/*/*/*.py"}]), True),
    case("wildcard-escaped-star", detail(star=[{"wildcard": "a\\*b"}]), True),
    case(
        "wildcard-escaped-star-is-literal",
        detail(star=[{"wildcard": "a\\*b"}]),
        False,
        detail(star="axb"),
    ),
    case("wildcard-star-matches-empty", detail(note=[{"wildcard": "*"}]), True),
    case("wildcard-only-strings", detail(count=[{"wildcard": "*"}]), False),
    # numeric
    case("numeric-gt", detail(price=[{"numeric": [">", 10]}]), True),
    case("numeric-range", detail(price=[{"numeric": [">", 0, "<=", 19.5]}]), True),
    case("numeric-open-top", detail(price=[{"numeric": ["<", 19.5]}]), False),
    case("numeric-range-miss", detail(price=[{"numeric": [">=", 20, "<", 30]}]), False),
    case("numeric-equals", detail(quantity=[{"numeric": ["=", 3.0]}]), True),
    case("numeric-not-strings", detail(code=[{"numeric": [">", 0]}]), False),
    case("numeric-not-booleans", detail(flag=[{"numeric": [">", 0]}]), False),
    case("numeric-absent", detail(missing=[{"numeric": [">", 0]}]), False),
    case("numeric-in-array-of-objects", detail(items={"qty": [{"numeric": [">", 1]}]}), True),
    case(
        "numeric-negative",
        detail(t=[{"numeric": [">=", -2, "<", -1]}]),
        True,
        detail(t=-1.5),
    ),
    # exists
    case("exists-true", detail(price=[{"exists": True}]), True),
    case("exists-true-absent", detail(missing=[{"exists": True}]), False),
    case("exists-false-absent", detail(missing=[{"exists": False}]), True),
    case("exists-false-present", detail(price=[{"exists": False}]), False),
    case("exists-true-null", detail(coupon=[{"exists": True}]), True),
    case("exists-true-object-is-no-leaf", detail(customer=[{"exists": True}]), False),
    case("exists-false-object-is-no-leaf", detail(customer=[{"exists": False}]), True),
    case("exists-false-absent-parent", detail(nothing={"deeper": [{"exists": False}]}), True),
    case("exists-true-array", detail(tags=[{"exists": True}]), True),
    case("exists-true-empty-array", detail(empty=[{"exists": True}]), False),
    case("exists-false-empty-array", detail(empty=[{"exists": False}]), True),
    case("exists-false-or-value", detail(currency=[{"exists": False}, "EUR"]), True),
    # anything-but
    case("anything-but", detail(customer={"tier": [{"anything-but": "Silver"}]}), True),
    case("anything-but-miss", detail(customer={"tier": [{"anything-but": "Gold"}]}), False),
    case("anything-but-list", detail(currency=[{"anything-but": ["EUR", "USD"]}]), False),
    case("anything-but-number", detail(quantity=[{"anything-but": 3.0}]), False),
    case("anything-but-numbers", detail(quantity=[{"anything-but": [1, 2]}]), True),
    case("anything-but-other-type", detail(code=[{"anything-but": 5}]), True),
    case("anything-but-absent", detail(missing=[{"anything-but": "x"}]), False),
    case("anything-but-any-element", detail(tags=[{"anything-but": "new"}]), True),
    case("anything-but-all-elements", detail(tags=[{"anything-but": ["new", "promo"]}]), False),
    case("anything-but-prefix", {"region": [{"anything-but": {"prefix": "us-"}}]}, True),
    case("anything-but-prefix-miss", {"region": [{"anything-but": {"prefix": "eu-"}}]}, False),
    case("anything-but-prefix-number", detail(count=[{"anything-but": {"prefix": "5"}}]), True),
    case("anything-but-suffix", detail(path=[{"anything-but": {"suffix": ".py"}}]), False),
    case(
        "anything-but-ignore-case",
        detail(customer={"tier": [{"anything-but": {"equals-ignore-case": ["GOLD"]}}]}),
        False,
    ),
    case(
        "anything-but-ignore-case-other",
        detail(customer={"tier": [{"anything-but": {"equals-ignore-case": "silver"}}]}),
        True,
    ),
    case("anything-but-wildcard", detail(path=[{"anything-but": {"wildcard": "*/lib/*"}}]), False),
    case(
        "anything-but-wildcards",
        detail(path=[{"anything-but": {"wildcard": ["*/bin/*", "*.sh"]}}]),
        True,
    ),
    # cidr
    case("cidr", detail(customer={"ip": [{"cidr": "10.0.0.0/24"}]}), True),
    case("cidr-miss", detail(customer={"ip": [{"cidr": "10.0.1.0/24"}]}), False),
    case("cidr-ipv6", detail(customer={"ip6": [{"cidr": "2001:db8::/32"}]}), True),
    case("cidr-version-mismatch", detail(customer={"ip6": [{"cidr": "0.0.0.0/0"}]}), False),
    case("cidr-not-an-address", detail(customer={"tier": [{"cidr": "0.0.0.0/0"}]}), False),
    # $or
    case("or-first", {"$or": [{"source": ["shop.orders"]}, {"source": ["x"]}]}, True),
    case("or-second", {"$or": [{"source": ["x"]}, detail(currency=["EUR"])]}, True),
    case("or-neither", {"$or": [{"source": ["x"]}, detail(currency=["USD"])]}, False),
    case(
        "or-and-sibling",
        {"source": ["x"], "$or": [detail(currency=["EUR"]), detail(quantity=[3])]},
        False,
    ),
    case(
        "or-nested-level",
        detail(**{"$or": [{"currency": ["USD"]}, {"price": [{"numeric": [">", 10]}]}]}),
        True,
    ),
    case(
        "or-inside-or",
        {
            "$or": [
                {"source": ["x"]},
                {
                    "region": ["eu-west-1"],
                    "$or": [detail(gift=[True]), detail(coupon=[None])],
                },
            ]
        },
        True,
    ),
    case(
        "or-per-array-element",
        detail(items={"$or": [{"sku": ["A-1"], "qty": [2]}, {"sku": ["B-2"], "qty": [2]}]}),
        True,
    ),
    case(
        "complex",
        {
            "source": [{"prefix": "shop."}],
            "detail-type": [{"equals-ignore-case": "order placed"}],
            "detail": {
                "price": [{"numeric": [">", 0, "<=", 100]}],
                "currency": [{"anything-but": ["USD"]}],
                "customer": {"ip": [{"cidr": "10.0.0.0/8"}], "email": [{"suffix": ".com"}]},
                "refund": [{"exists": False}],
            },
        },
        True,
    ),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), MATCH_CASES)
def test_matches(pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    assert compile_pattern(pattern).matches(event) is expected


def test_there_are_at_least_sixty_match_cases() -> None:
    assert len(MATCH_CASES) >= 60


def bad(name: str, pattern: Any, path: str, reason: str) -> Any:
    return pytest.param(pattern, path, reason, id=name)


INVALID_CASES = [
    bad("empty-pattern", {}, "pattern", "a pattern must be a non-empty object, got {}"),
    bad("not-an-object", ["source"], "pattern", "must be a non-empty object"),
    bad("non-string-key", {1: ["a"]}, "pattern", "field names must be strings, got 1"),
    bad("bare-value", {"source": "shop"}, "source", "expected an array of matchers"),
    bad("empty-array", {"source": []}, "source", "a matcher array must not be empty"),
    bad("empty-nested", {"detail": {}}, "detail", "a nested pattern must be a non-empty object"),
    bad("array-in-array", detail(x=[["a"]]), "detail.x", 'got ["a"]'),
    bad(
        "unknown-operator", detail(x=[{"contains": "a"}]), "detail.x", 'unknown operator "contains"'
    ),
    bad("two-operators", detail(x=[{"prefix": "a", "suffix": "b"}]), "detail.x", "exactly one key"),
    bad("prefix-number", detail(x=[{"prefix": 5}]), "detail.x", "prefix needs a string"),
    bad(
        "prefix-bad-object",
        detail(x=[{"prefix": {"ignore-case": "a"}}]),
        "detail.x",
        'prefix needs a string or {"equals-ignore-case": string}',
    ),
    bad("suffix-null", detail(x=[{"suffix": None}]), "detail.x", "suffix needs a string, got null"),
    bad(
        "equals-ignore-case-number",
        detail(customer={"tier": [{"equals-ignore-case": 1}]}),
        "detail.customer.tier",
        "equals-ignore-case needs a string, got 1",
    ),
    bad(
        "numeric-not-a-number",
        detail(price=[{"numeric": [">", "x"]}]),
        "detail.price",
        'numeric needs an even list of operator/value pairs, got [">", "x"]',
    ),
    bad(
        "numeric-odd",
        detail(price=[{"numeric": [">", 0, "<"]}]),
        "detail.price",
        "numeric needs an even list of operator/value pairs",
    ),
    bad("numeric-not-list", detail(price=[{"numeric": 5}]), "detail.price", "got 5"),
    bad(
        "numeric-bad-operator",
        detail(price=[{"numeric": ["!=", 3]}]),
        "detail.price",
        'numeric operator must be one of =, <, <=, >, >=, got "!="',
    ),
    bad(
        "numeric-bounds-reversed",
        detail(price=[{"numeric": ["<", 5, ">", 1]}]),
        "detail.price",
        "a numeric range needs a lower bound (> or >=) then an upper bound (< or <=)",
    ),
    bad(
        "numeric-empty-range",
        detail(price=[{"numeric": [">", 5, "<", 1]}]),
        "detail.price",
        "numeric range is empty",
    ),
    bad(
        "numeric-boolean",
        detail(price=[{"numeric": [">", True]}]),
        "detail.price",
        '(true after ">" is not a number)',
    ),
    bad("exists-string", detail(x=[{"exists": "yes"}]), "detail.x", "exists needs true or false"),
    bad("anything-but-empty", detail(x=[{"anything-but": []}]), "detail.x", "at least one value"),
    bad(
        "anything-but-mixed",
        detail(x=[{"anything-but": ["a", 1]}]),
        "detail.x",
        "a list of only strings or only numbers",
    ),
    bad("anything-but-null", detail(x=[{"anything-but": None}]), "detail.x", "got null"),
    bad(
        "anything-but-numeric",
        detail(x=[{"anything-but": {"numeric": [">", 1]}}]),
        "detail.x",
        "anything-but takes a value, a list, or one of prefix, suffix",
    ),
    bad(
        "anything-but-empty-prefix",
        detail(x=[{"anything-but": {"prefix": ""}}]),
        "detail.x",
        "anything-but prefix must not be empty",
    ),
    bad(
        "anything-but-suffix-number",
        detail(x=[{"anything-but": {"suffix": [1]}}]),
        "detail.x",
        "anything-but suffix needs a string or a non-empty list of strings",
    ),
    bad(
        "wildcard-consecutive-stars",
        detail(x=[{"wildcard": "a**b"}]),
        "detail.x",
        "wildcard must not hold consecutive '*'",
    ),
    bad(
        "wildcard-bad-escape",
        detail(x=[{"wildcard": "a\\xb"}]),
        "detail.x",
        "wildcard may escape only '*' and '\\'",
    ),
    bad(
        "wildcard-trailing-backslash",
        detail(x=[{"wildcard": "a\\"}]),
        "detail.x",
        "wildcard may escape only",
    ),
    bad(
        "anything-but-bad-wildcard",
        detail(x=[{"anything-but": {"wildcard": ["ok*", "**"]}}]),
        "detail.x",
        "consecutive '*'",
    ),
    bad("cidr-bad", detail(ip=[{"cidr": "10.0.0.0/33"}]), "detail.ip", "cidr needs an IP network"),
    bad("infinite-number", detail(x=[float("inf")]), "detail.x", "numbers must be finite"),
    bad(
        "or-one-alternative",
        {"$or": [{"a": ["x"]}]},
        "$or",
        "must be an array of at least 2 patterns",
    ),
    bad("or-not-array", detail(**{"$or": {"a": ["x"]}}), "detail.$or", "at least 2 patterns"),
    bad(
        "or-non-object",
        detail(**{"$or": [{"a": ["x"]}, "b"]}),
        "detail.$or[1]",
        'a $or alternative must be an object, got "b"',
    ),
    bad(
        "or-bad-alternative",
        {"$or": [{"a": ["x"]}, {"b": [{"numeric": [">"]}]}]},
        "$or[1].b",
        "numeric needs an even list",
    ),
    bad("or-empty-alternative", {"$or": [{"a": ["x"]}, {}]}, "$or[1]", "non-empty object"),
]


@pytest.mark.parametrize(("pattern", "path", "reason"), INVALID_CASES)
def test_invalid_patterns_name_the_path_and_reason(pattern: Any, path: str, reason: str) -> None:
    with pytest.raises(InvalidPattern) as raised:
        compile_pattern(pattern)
    message = str(raised.value)
    assert message.startswith(f"{path}: "), message
    assert reason in message


def test_there_are_at_least_fifteen_invalid_cases() -> None:
    assert len(INVALID_CASES) >= 15


def test_invalid_pattern_is_a_config_error() -> None:
    assert issubclass(InvalidPattern, ConfigError)
    assert issubclass(InvalidPattern, SluiceError)
    assert issubclass(InvalidPattern, ValueError)


def test_pattern_is_immutable_and_independent_of_its_source() -> None:
    source = detail(tags=["new"])
    pattern = compile_pattern(source)
    assert isinstance(pattern, Pattern)
    source["detail"]["tags"] = ["gone"]
    assert pattern.matches(EVENT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        pattern._root = pattern._root  # type: ignore[misc]
    assert repr(pattern) == 'Pattern({"detail": {"tags": ["new"]}})'


def test_matching_does_not_modify_the_event() -> None:
    event = copy.deepcopy(EVENT)
    compile_pattern(detail(missing=[{"exists": False}], items={"sku": ["A-1"]})).matches(event)
    assert event == EVENT
