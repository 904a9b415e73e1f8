"""Event content patterns in Amazon EventBridge syntax, compiled once and matched without I/O.

A pattern is a JSON object mirroring the event's shape. Its leaves are non-empty arrays of
matchers: every listed field must match (AND), any matcher in one array may match (OR), and
``"$or": [pattern, pattern, ...]`` at any object level matches when one alternative does. When
the event holds an array where the pattern expects a value or an object, the pattern matches if
any element does (an object sub-pattern must match within a single element).

Matchers: exact strings, numbers (compared numerically: 3 matches 3.0), booleans and null;
``{"prefix": s}``, ``{"suffix": s}`` (either also as ``{"equals-ignore-case": s}``),
``{"equals-ignore-case": s}``, ``{"wildcard": "a*b"}``, ``{"numeric": [">", 0, "<=", 5]}``,
``{"cidr": "10.0.0.0/24"}``, ``{"exists": bool}`` and ``{"anything-but": ...}`` over a value,
a list of values, or one of prefix/suffix/equals-ignore-case/wildcard. String operators match
only strings, ``numeric`` only numbers; a string "5" never equals the number 5.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from sluice.errors import InvalidPattern

__all__ = ["Pattern", "compile_pattern"]

_Test = Callable[[Any], bool]
_Path = tuple[str, ...]

_MISSING: Final = object()
_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})
_OR: Final = "$or"
_LOWER_BOUNDS: Final = (">", ">=")
_UPPER_BOUNDS: Final = ("<", "<=")


@dataclass(frozen=True, slots=True)
class _Leaf:
    """One field's matcher array, split by the value types each matcher can accept."""

    strings: frozenset[str]
    numbers: frozenset[int | float]
    literals: frozenset[object]  # True, False and/or None
    folded: frozenset[str]  # equals-ignore-case operands, casefolded
    string_tests: tuple[_Test, ...]
    number_tests: tuple[_Test, ...]
    any_tests: tuple[_Test, ...]  # anything-but: may match a value of any type
    present: bool  # exists: true
    absent: bool  # exists: false

    def matches(self, value: Any) -> bool:
        kind = type(value)
        if kind is str or kind is int or kind is float or kind is bool or value is None:
            return self.present or self._test(value)
        if value is _MISSING or isinstance(value, Mapping):
            return self.absent  # exists works on leaves only: an object is not a value
        if isinstance(value, list | tuple):
            found = False
            for item in _leaves(value):
                if self.present or self._test(item):
                    return True
                found = True
            return self.absent and not found
        return self.present or self._test(value)

    def _test(self, value: Any) -> bool:
        if isinstance(value, str):
            if value in self.strings:
                return True
            for test in self.string_tests:
                if test(value):
                    return True
            if self.folded and value.casefold() in self.folded:
                return True
        elif value is None or isinstance(value, bool):
            if value in self.literals:  # holds only True, False and None
                return True
        elif isinstance(value, int | float):
            if value in self.numbers:
                return True
            for test in self.number_tests:
                if test(value):
                    return True
        return bool(self.any_tests) and any(test(value) for test in self.any_tests)


@dataclass(frozen=True, slots=True)
class _Object:
    """An object level of a pattern: fields that must all match, and optional alternatives."""

    fields: tuple[tuple[str, _Leaf | _Object], ...]
    alternatives: tuple[_Object, ...]

    def matches(self, value: Any) -> bool:
        if type(value) is not dict and isinstance(value, list | tuple):
            elements = list(_flatten(value))
            if not elements:
                return self._matches_one(_EMPTY)
            return any(self._matches_one(item) for item in elements)
        return self._matches_one(value)

    def _matches_one(self, value: Any) -> bool:
        if type(value) is not dict and not isinstance(value, Mapping):
            value = _EMPTY
        get = value.get
        for name, node in self.fields:
            if not node.matches(get(name, _MISSING)):
                return False
        if not self.alternatives:
            return True
        return any(alt.matches(value) for alt in self.alternatives)


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled, immutable event pattern; build one with :func:`compile_pattern`."""

    _root: _Object
    _source: str

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether ``event`` (a whole EventBridge-style envelope) matches this pattern."""
        return self._root.matches(event)

    def __repr__(self) -> str:
        return f"Pattern({self._source})"


def compile_pattern(pattern: Mapping[str, Any]) -> Pattern:
    """Validate ``pattern`` and compile it; raise :class:`InvalidPattern` naming the bad path."""
    root = _compile_object(pattern, ())
    return Pattern(root, json.dumps(pattern, sort_keys=True, default=repr))


def _flatten(items: Sequence[Any]) -> Iterator[Any]:
    for item in items:
        if isinstance(item, list | tuple):
            yield from _flatten(item)
        else:
            yield item


def _leaves(items: Sequence[Any]) -> Iterator[Any]:
    return (item for item in _flatten(items) if not isinstance(item, Mapping))


# --- compilation -------------------------------------------------------------------------


def _fail(path: _Path, reason: str) -> InvalidPattern:
    return InvalidPattern(f"{'.'.join(path) or 'pattern'}: {reason}")


def _show(value: Any) -> str:
    try:
        return json.dumps(value, default=repr)
    except ValueError:  # e.g. a circular structure
        return repr(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finite_number(value: Any) -> bool:
    return _is_number(value) and math.isfinite(value)


def _compile_object(pattern: Any, path: _Path) -> _Object:
    if not isinstance(pattern, Mapping) or not pattern:
        what = "a pattern" if not path else "a nested pattern"
        raise _fail(path, f"{what} must be a non-empty object, got {_show(pattern)}")
    fields: list[tuple[str, _Leaf | _Object]] = []
    alternatives: tuple[_Object, ...] = ()
    for name, spec in pattern.items():
        if not isinstance(name, str):
            raise _fail(path, f"field names must be strings, got {_show(name)}")
        here = (*path, name)
        if name == _OR:
            alternatives = _compile_or(spec, here)
        elif isinstance(spec, Mapping):
            fields.append((name, _compile_object(spec, here)))
        elif isinstance(spec, list | tuple):
            fields.append((name, _compile_leaf(spec, here)))
        else:
            raise _fail(
                here, f"expected an array of matchers or a nested object, got {_show(spec)}"
            )
    return _Object(tuple(fields), alternatives)


def _compile_or(spec: Any, path: _Path) -> tuple[_Object, ...]:
    if not isinstance(spec, list | tuple) or len(spec) < 2:
        raise _fail(path, f"must be an array of at least 2 patterns, got {_show(spec)}")
    alternatives = []
    for index, alternative in enumerate(spec):
        where = (*path[:-1], f"{_OR}[{index}]")
        if not isinstance(alternative, Mapping):
            raise _fail(where, f"a $or alternative must be an object, got {_show(alternative)}")
        alternatives.append(_compile_object(alternative, where))
    return tuple(alternatives)


class _LeafBuilder:
    """Collects one matcher array's parts while validating each matcher."""

    def __init__(self, path: _Path) -> None:
        self.path = path
        self.strings: set[str] = set()
        self.numbers: set[int | float] = set()
        self.literals: set[object] = set()
        self.folded: set[str] = set()
        self.string_tests: list[_Test] = []
        self.number_tests: list[_Test] = []
        self.any_tests: list[_Test] = []
        self.wildcards: list[str] = []
        self.present = False
        self.absent = False

    def build(self) -> _Leaf:
        string_tests = list(self.string_tests)
        if self.wildcards:  # one combined regex for all of this array's wildcards
            string_tests.append(_regex_test(self.wildcards))
        return _Leaf(
            frozenset(self.strings),
            frozenset(self.numbers),
            frozenset(self.literals),
            frozenset(self.folded),
            tuple(string_tests),
            tuple(self.number_tests),
            tuple(self.any_tests),
            self.present,
            self.absent,
        )

    def add(self, matcher: Any) -> None:
        if isinstance(matcher, str):
            self.strings.add(matcher)
        elif matcher is None or isinstance(matcher, bool):
            self.literals.add(matcher)
        elif _is_number(matcher):
            if not math.isfinite(matcher):
                raise self.fail(f"numbers must be finite, got {_show(matcher)}")
            self.numbers.add(matcher)
        elif isinstance(matcher, Mapping):
            if len(matcher) != 1:
                raise self.fail(f"an operator object needs exactly one key, got {_show(matcher)}")
            ((operator, operand),) = matcher.items()
            handler = _OPERATORS.get(operator)
            if handler is None:
                raise self.fail(f"unknown operator {_show(operator)}")
            handler(self, operand)
        else:
            raise self.fail(
                "a matcher must be a string, number, boolean, null or operator object, "
                f"got {_show(matcher)}"
            )

    def fail(self, reason: str) -> InvalidPattern:
        return _fail(self.path, reason)

    def string_operand(self, operator: str, operand: Any) -> str:
        if not isinstance(operand, str):
            raise self.fail(f"{operator} needs a string, got {_show(operand)}")
        return operand

    def prefix(self, operand: Any) -> None:
        folded = self._ignore_case_operand("prefix", operand)
        if folded is not None:
            self.string_tests.append(lambda v: v.casefold().startswith(folded))
        else:
            text = self.string_operand("prefix", operand)
            self.string_tests.append(lambda v: v.startswith(text))

    def suffix(self, operand: Any) -> None:
        folded = self._ignore_case_operand("suffix", operand)
        if folded is not None:
            self.string_tests.append(lambda v: v.casefold().endswith(folded))
        else:
            text = self.string_operand("suffix", operand)
            self.string_tests.append(lambda v: v.endswith(text))

    def _ignore_case_operand(self, operator: str, operand: Any) -> str | None:
        if not isinstance(operand, Mapping):
            return None
        if list(operand) != ["equals-ignore-case"] or not isinstance(
            operand["equals-ignore-case"], str
        ):
            raise self.fail(
                f'{operator} needs a string or {{"equals-ignore-case": string}}, '
                f"got {_show(operand)}"
            )
        text: str = operand["equals-ignore-case"]
        return text.casefold()

    def equals_ignore_case(self, operand: Any) -> None:
        self.folded.add(self.string_operand("equals-ignore-case", operand).casefold())

    def wildcard(self, operand: Any) -> None:
        text = self.string_operand("wildcard", operand)
        _wildcard_regex(text, self.fail)  # validate now; compiled with its siblings in build()
        self.wildcards.append(text)

    def cidr(self, operand: Any) -> None:
        text = self.string_operand("cidr", operand)
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError as error:
            reason = f"cidr needs an IP network such as 10.0.0.0/24, got {_show(text)}"
            raise self.fail(reason) from error
        self.string_tests.append(lambda v: _in_network(v, network))

    def exists(self, operand: Any) -> None:
        if not isinstance(operand, bool):
            raise self.fail(f"exists needs true or false, got {_show(operand)}")
        if operand:
            self.present = True
        else:
            self.absent = True

    def numeric(self, operand: Any) -> None:
        if (
            not isinstance(operand, list | tuple)
            or len(operand) not in (2, 4)
            or not all(isinstance(op, str) for op in operand[::2])
        ):
            raise self.fail(
                f"numeric needs an even list of operator/value pairs, got {_show(operand)}"
            )
        for op, bound in zip(operand[::2], operand[1::2], strict=True):
            if op not in ("=", *_LOWER_BOUNDS, *_UPPER_BOUNDS):
                raise self.fail(f"numeric operator must be one of =, <, <=, >, >=, got {_show(op)}")
            if not _finite_number(bound):
                raise self.fail(
                    "numeric needs an even list of operator/value pairs, "
                    f"got {_show(operand)} ({_show(bound)} after {_show(op)} is not a number)"
                )
        if len(operand) == 2:
            self.number_tests.append(_comparison(operand[0], operand[1]))
            return
        low_op, low, high_op, high = operand
        if low_op not in _LOWER_BOUNDS or high_op not in _UPPER_BOUNDS:
            raise self.fail(
                "a numeric range needs a lower bound (> or >=) then an upper bound (< or <=), "
                f"got {_show(operand)}"
            )
        if low > high or (low == high and (low_op == ">" or high_op == "<")):
            raise self.fail(f"numeric range is empty: {_show(operand)}")
        self.number_tests.append(_between(low, low_op == ">=", high, high_op == "<="))

    def anything_but(self, operand: Any) -> None:
        if isinstance(operand, Mapping):
            self._anything_but_operator(operand)
            return
        values = list(operand) if isinstance(operand, list | tuple) else [operand]
        if not values:
            raise self.fail("anything-but needs at least one value, got []")
        if all(isinstance(v, str) for v in values):
            strings = frozenset(values)
            self.any_tests.append(lambda v: not (isinstance(v, str) and v in strings))
        elif all(_finite_number(v) for v in values):
            numbers = frozenset(values)
            self.any_tests.append(lambda v: not (_is_number(v) and v in numbers))
        else:
            raise self.fail(
                "anything-but needs a string, a number, or a list of only strings or only "
                f"numbers, got {_show(operand)}"
            )

    def _anything_but_operator(self, operand: Mapping[Any, Any]) -> None:
        kinds = ("prefix", "suffix", "equals-ignore-case", "wildcard")
        if len(operand) != 1 or next(iter(operand)) not in kinds:
            raise self.fail(
                "anything-but takes a value, a list, or one of "
                f"{', '.join(kinds)}; got {_show(operand)}"
            )
        ((kind, inner),) = operand.items()
        texts = list(inner) if isinstance(inner, list | tuple) else [inner]
        if not texts or not all(isinstance(t, str) for t in texts):
            raise self.fail(
                f"anything-but {kind} needs a string or a non-empty list of strings, "
                f"got {_show(inner)}"
            )
        if kind in ("prefix", "suffix") and "" in texts:
            raise self.fail(f"anything-but {kind} must not be empty")
        test: _Test
        if kind == "prefix":
            prefixes = tuple(texts)
            test = lambda v: v.startswith(prefixes)  # noqa: E731
        elif kind == "suffix":
            suffixes = tuple(texts)
            test = lambda v: v.endswith(suffixes)  # noqa: E731
        elif kind == "equals-ignore-case":
            folded = frozenset(t.casefold() for t in texts)
            test = lambda v: v.casefold() in folded  # noqa: E731
        else:
            for text in texts:
                _wildcard_regex(text, self.fail)
            test = _regex_test(texts)
        self.any_tests.append(lambda v: not (isinstance(v, str) and test(v)))


_OPERATORS: Final[dict[str, Callable[[_LeafBuilder, Any], None]]] = {
    "prefix": _LeafBuilder.prefix,
    "suffix": _LeafBuilder.suffix,
    "equals-ignore-case": _LeafBuilder.equals_ignore_case,
    "wildcard": _LeafBuilder.wildcard,
    "cidr": _LeafBuilder.cidr,
    "exists": _LeafBuilder.exists,
    "numeric": _LeafBuilder.numeric,
    "anything-but": _LeafBuilder.anything_but,
}


def _compile_leaf(matchers: Sequence[Any], path: _Path) -> _Leaf:
    if not matchers:
        raise _fail(path, "a matcher array must not be empty")
    builder = _LeafBuilder(path)
    for matcher in matchers:
        builder.add(matcher)
    return builder.build()


def _comparison(op: str, bound: float) -> _Test:
    if op == "=":
        return lambda v: v == bound
    if op == ">":
        return lambda v: v > bound
    if op == ">=":
        return lambda v: v >= bound
    if op == "<":
        return lambda v: v < bound
    return lambda v: v <= bound


def _between(low: float, low_closed: bool, high: float, high_closed: bool) -> _Test:
    if low_closed and high_closed:
        return lambda v: low <= v <= high
    if low_closed:
        return lambda v: low <= v < high
    if high_closed:
        return lambda v: low < v <= high
    return lambda v: low < v < high


def _wildcard_regex(text: str, fail: Callable[[str], InvalidPattern]) -> str:
    """Translate a wildcard (``*`` any run, ``\\*`` a star, ``\\\\`` a backslash) to a regex."""
    parts: list[str] = []
    literal: list[str] = []
    chars = iter(text)
    previous_star = False
    for char in chars:
        if char == "*":
            if previous_star:
                raise fail(f"wildcard must not hold consecutive '*', got {_show(text)}")
            parts.append(re.escape("".join(literal)))
            parts.append(".*")
            literal.clear()
            previous_star = True
            continue
        previous_star = False
        if char == "\\":
            escaped = next(chars, None)
            if escaped not in ("*", "\\"):
                raise fail(
                    f"wildcard may escape only '*' and '\\' with a backslash, got {_show(text)}"
                )
            literal.append(escaped)
        else:
            literal.append(char)
    parts.append(re.escape("".join(literal)))
    return "".join(parts)


def _regex_test(wildcards: Sequence[str]) -> _Test:
    def never(reason: str) -> InvalidPattern:  # operands were validated when added
        raise AssertionError(reason)

    alternation = "|".join(f"(?:{_wildcard_regex(w, never)})" for w in wildcards)
    fullmatch = re.compile(alternation, re.DOTALL).fullmatch
    return lambda v: fullmatch(v) is not None


def _in_network(value: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return address.version == network.version and address in network
