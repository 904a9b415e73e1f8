"""EventBridge content patterns: matching semantics, validation errors, and properties."""

from __future__ import annotations

import copy
import dataclasses
import operator
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

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


# --- properties ----------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
keys = st.text(alphabet="abcdef-_", min_size=1, max_size=4)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=16,
)
events = st.dictionaries(keys, json_values, min_size=1, max_size=5)


def leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (key path, leaf value) of a JSON value, with arrays crushed as EventBridge does."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from leaves(child, (*path, key))
    elif isinstance(value, list):
        for child in value:
            yield from leaves(child, path)
    else:
        yield path, value


def nest(path: tuple[str, ...], matchers: list[Any]) -> dict[str, Any]:
    pattern: Any = matchers
    for key in reversed(path):
        pattern = {key: pattern}
    assert isinstance(pattern, dict)
    return pattern


@given(events)
def test_exact_value_of_any_leaf_matches(event: dict[str, Any]) -> None:
    for path, value in leaves(event):
        assert compile_pattern(nest(path, [value])).matches(event), (path, value)
        assert compile_pattern(nest(path, [{"exists": True}])).matches(event), path


strings_or_numbers = st.text(max_size=6) | st.integers(-1000, 1000) | st.floats(-1e9, 1e9)


@given(strings_or_numbers, strings_or_numbers)
def test_anything_but_a_value_never_matches_it(value: Any, other: Any) -> None:
    pattern = compile_pattern({"f": [{"anything-but": value}]})
    assert not pattern.matches({"f": value})
    assume(not (isinstance(other, str) == isinstance(value, str) and other == value))
    assert pattern.matches({"f": other})


@given(st.floats(-1e9, 1e9) | st.integers(-1000, 1000))
def test_anything_but_compares_numbers_numerically(value: float) -> None:
    pattern = compile_pattern({"f": [{"anything-but": [value, value + 1]}]})
    assert not pattern.matches({"f": value})
    assert not pattern.matches({"f": float(value)})
    assert pattern.matches({"f": value + 2})


matchers = st.one_of(
    st.sampled_from(["a", "b", "ab", ""]),
    st.integers(0, 4),
    st.builds(lambda p: {"prefix": p}, st.sampled_from(["a", "b", ""])),
    st.builds(lambda s: {"suffix": {"equals-ignore-case": s}}, st.sampled_from(["A", "b"])),
    st.builds(lambda x: {"numeric": [">=", x]}, st.integers(0, 4)),
    st.builds(lambda x: {"numeric": [">", x, "<", x + 2]}, st.integers(0, 4)),
    st.builds(lambda b: {"exists": b}, st.booleans()),
    st.builds(lambda x: {"anything-but": x}, st.sampled_from(["a", 1, ["a", "b"]])),
    st.builds(lambda w: {"wildcard": w}, st.sampled_from(["a*", "*b", "*"])),
)
small_values = st.one_of(
    st.sampled_from(["a", "b", "ab", "ba", "", "A"]),
    st.integers(0, 4),
    st.none(),
    st.lists(st.sampled_from(["a", "b"]) | st.integers(0, 4), max_size=3),
    st.fixed_dictionaries({"a": st.sampled_from(["a", "b"])}),
)
small_events = st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), small_values, max_size=4)


def small_patterns(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    leaf = st.lists(matchers, min_size=1, max_size=3)
    return st.dictionaries(st.sampled_from(fields), leaf, min_size=1, max_size=len(fields))


@given(small_patterns(["a", "b", "c"]), small_patterns(["a", "b", "c"]), small_events)
def test_or_matches_iff_an_alternative_matches(
    p: dict[str, Any], q: dict[str, Any], event: dict[str, Any]
) -> None:
    either = compile_pattern({"$or": [p, q]}).matches(event)
    assert either == (compile_pattern(p).matches(event) or compile_pattern(q).matches(event))
    nested = compile_pattern({"x": {"$or": [p, q]}}).matches({"x": event})
    assert nested == either


@given(small_patterns(["a", "b"]), small_patterns(["c", "d"]), small_events)
def test_fields_are_anded(p: dict[str, Any], q: dict[str, Any], event: dict[str, Any]) -> None:
    both = compile_pattern({**p, **q}).matches(event)
    assert both == (compile_pattern(p).matches(event) and compile_pattern(q).matches(event))


@given(
    st.lists(matchers, min_size=1, max_size=3),
    st.lists(matchers, min_size=1, max_size=3),
    small_values,
)
def test_array_values_are_ored(m: list[Any], n: list[Any], value: Any) -> None:
    event = {"f": value}
    union = compile_pattern({"f": m + n}).matches(event)
    assert union == (
        compile_pattern({"f": m}).matches(event) or compile_pattern({"f": n}).matches(event)
    )


COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
numbers = (
    st.integers(-50, 50) | st.floats(-1e6, 1e6, allow_nan=False) | st.sampled_from([0.5, -0.5])
)


@given(st.sampled_from(sorted(COMPARE)), numbers, numbers)
def test_numeric_comparison_is_python_comparison(op: str, bound: float, value: float) -> None:
    matched = compile_pattern({"n": [{"numeric": [op, bound]}]}).matches({"n": value})
    assert matched == COMPARE[op](value, bound)


@given(st.sampled_from([">", ">="]), st.sampled_from(["<", "<="]), numbers, numbers, numbers)
def test_numeric_range_is_both_comparisons(
    low_op: str, high_op: str, low: float, high: float, value: float
) -> None:
    assume(low < high)
    pattern = compile_pattern({"n": [{"numeric": [low_op, low, high_op, high]}]})
    expected = COMPARE[low_op](value, low) and COMPARE[high_op](value, high)
    assert pattern.matches({"n": value}) == expected
    assert not pattern.matches({"n": str(value)})


plain_text = st.text(alphabet=st.characters(blacklist_characters="*\\"), max_size=6)


@given(st.lists(plain_text, min_size=1, max_size=4), st.data())
def test_wildcard_matches_its_parts_with_anything_between(parts: list[str], data: Any) -> None:
    assume(all(parts[1:-1]))  # an empty middle part would make consecutive stars
    fillers = [data.draw(st.text(max_size=4)) for _ in parts[1:]]
    value = parts[0] + "".join(f + p for f, p in zip(fillers, parts[1:], strict=True))
    assert compile_pattern({"s": [{"wildcard": "*".join(parts)}]}).matches({"s": value})


@given(plain_text, plain_text)
def test_wildcard_without_stars_is_exact(text: str, value: str) -> None:
    matched = compile_pattern({"s": [{"wildcard": text}]}).matches({"s": value})
    assert matched == (text == value)


@given(st.text(max_size=6), st.text(max_size=6))
def test_string_operators_agree_with_python(operand: str, value: str) -> None:
    def check(matcher: dict[str, Any]) -> bool:
        return compile_pattern({"s": [matcher]}).matches({"s": value})

    assert check({"prefix": operand}) == value.startswith(operand)
    assert check({"suffix": operand}) == value.endswith(operand)
    assert check({"equals-ignore-case": operand}) == (value.casefold() == operand.casefold())
