"""EventBridge content patterns: properties of matching (hypothesis), beside the worked
cases of test_patterns.py."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from sluice.sources.patterns import compile_pattern

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
