"""Vectorised forms of great-expectations expectations, with the same semantics as its pandas engine.

Each supported expectation type compiles, from its configuration (type, kwargs, meta, severity), into a
:class:`Rule`. A *row rule* says, for the non-null values of one column, which are expected (nulls are
neither expected nor unexpected, as in great-expectations' column map expectations, except for
``expect_column_values_to_not_be_null`` where nulls are the unexpected values); its batch success follows
great-expectations' ``mostly`` arithmetic. A *batch rule* (column exists, column dtype, quantiles) has only a
batch verdict. Each row rule also has a scalar form for checking one record without building a frame.

The semantics mirror ``great_expectations/expectations/metrics/column_map_metrics`` (pandas engine) of
great-expectations 1.x; the parity tests in ``tests/ingest/validation`` hold the two to identical verdicts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.core.dtypes import dtypes as pandas_dtypes

from ingest.validation.errors import UnsupportedExpectationError

#: Values of a column without its nulls -> boolean array, True where the value is expected.
SeriesPredicate = Callable[[pd.Series], np.ndarray]
#: One non-null value -> whether it is expected.
ValuePredicate = Callable[[Any], bool]
#: The whole frame -> batch success.
FramePredicate = Callable[[pd.DataFrame], bool]


class TextValues:
    """The non-null values of a text column held by Arrow (pandas' ``str`` dtype), for the row rules' text forms:
    the Arrow array for Arrow's kernels, and the values as Python strings, made once and shared by the rules of
    the column that need them (the regular expressions, which run Python's ``re`` for its exact semantics).

    Going through pandas' string methods costs 15 to 220 us per rule and column of a thousand values, most of
    it the accessor's dispatch (and, for a regular expression, parsing the pattern again on every call to
    decide between RE2 and ``re``): a suite of sixty rules spent milliseconds per micro-batch there."""

    def __init__(self, array: pa.Array) -> None:
        self.array = array

    @cached_property
    def strings(self) -> list[str]:
        return self.array.to_pylist()  # type: ignore[no-any-return]


def text_array(values: pd.Series) -> pa.Array | None:
    """A text column's values as one Arrow array, without copying, when Arrow holds them (pandas' ``str``
    dtype with its default storage); None for a column of another dtype."""
    dtype = values.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return None
    array = pa.array(values.array)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


#: The non-null values of a text column -> boolean array, True where the value is expected.
TextPredicate = Callable[[TextValues], np.ndarray]


@dataclass(frozen=True)
class Rule:
    """One compiled expectation: a row rule has ``expected`` (or ``nulls_unexpected``), a batch rule has
    ``batch``. A type rule has both and picks by the column's dtype (:func:`per_value_types`). A row rule may
    also have ``expected_text``, the same predicate on the values of a text column held by Arrow, which the
    checker uses for such columns (same answers, without pandas' per-call dispatch)."""

    name: str
    expectation_type: str
    column: str | None
    severity: str
    mostly: float = 1.0
    nulls_unexpected: bool = False
    expected: SeriesPredicate | None = None
    value_expected: ValuePredicate | None = None
    batch: FramePredicate | None = None
    expected_text: TextPredicate | None = None
    #: A type rule's verdict on a column that is not of object dtype, from its dtype (``batch`` on its frame).
    dtype_expected: Callable[[Any], bool] | None = None

    def batch_success(self, total: int, null_count: int, unexpected: int) -> bool:
        """great-expectations' verdict for a row rule from its counts (``mostly`` over non-null rows)."""
        considered = total if self.nulls_unexpected else total - null_count
        if considered == 0:
            return True  # vacuously true, as in great-expectations
        return (considered - unexpected) / considered >= self.mostly


Compiler = Callable[[str, str | None, str, Mapping[str, Any]], Rule]
_COMPILERS: dict[str, Compiler] = {}


def compile_rule(expectation_type: str, kwargs: Mapping[str, Any], name: str, severity: str) -> Rule:
    """Compile one expectation configuration, or say which types are supported."""
    compiler = _COMPILERS.get(expectation_type)
    if compiler is None:
        raise UnsupportedExpectationError(
            f"no vectorised form for {expectation_type!r} ({name}); supported: {list(supported_types())}. "
            "Add a compiler in ingest/validation/rules.py or keep this expectation out of streamed suites"
        )
    for key in ("row_condition", "condition_parser"):
        if kwargs.get(key):
            raise UnsupportedExpectationError(f"{name}: {key} is not supported by the compiled checker")
    return compiler(name, kwargs.get("column"), severity, kwargs)


def supported_types() -> tuple[str, ...]:
    return tuple(sorted(_COMPILERS))


def _compiler(expectation_type: str) -> Callable[[Compiler], Compiler]:
    def register(function: Compiler) -> Compiler:
        _COMPILERS[expectation_type] = function
        return function

    return register


@_compiler("expect_column_to_exist")
def _column_exists(name: str, column: str | None, severity: str, kwargs: Mapping[str, Any]) -> Rule:
    if kwargs.get("column_index") is not None:
        raise UnsupportedExpectationError(f"{name}: column_index is not supported by the compiled checker")
    return Rule(name, "expect_column_to_exist", column, severity, batch=lambda frame: column in frame.columns)


@_compiler("expect_column_values_to_not_be_null")
def _not_null(name: str, column: str | None, severity: str, kwargs: Mapping[str, Any]) -> Rule:
    return Rule(name, "expect_column_values_to_not_be_null", column, severity, _mostly(kwargs), nulls_unexpected=True)


@_compiler("expect_column_values_to_be_of_type")
def _of_type(name: str, column: str | None, severity: str, kwargs: Mapping[str, Any]) -> Rule:
    type_name = str(kwargs["type_"])
    types = comparison_types(type_name)

    def expected(values: pd.Series) -> np.ndarray:
        return np.fromiter((isinstance(v, types) for v in values), dtype=bool, count=len(values))

    def batch(frame: pd.DataFrame) -> bool:
        return frame[column].dtype.type in types

    # great-expectations checks each value's type only for object columns, and only if the expected type is
    # not object itself; any other column is judged by its dtype alone (see ``per_value_types``).
    per_value = type_name not in ("object", "object_", "O")
    return Rule(
        name,
        "expect_column_values_to_be_of_type",
        column,
        severity,
        _mostly(kwargs),
        expected=expected if per_value else None,
        value_expected=lambda value: isinstance(value, types),
        batch=batch,
        dtype_expected=lambda dtype: dtype.type in types,
    )


def per_value_types(rule: Rule, frame: pd.DataFrame) -> bool:
    """Whether a type rule is judged value by value on this frame (object column) or by the column dtype."""
    return frame[rule.column].dtype == object


@_compiler("expect_column_values_to_be_between")
def _between(name: str, column: str | None, severity: str, kwargs: Mapping[str, Any]) -> Rule:
    low, high, strict_low, strict_high = _bounds(name, kwargs)

    # Bounds of a timestamp column may come as datetimes or, from a suite saved as JSON, as ISO strings.
    time_low, time_high = _time_bound(low), _time_bound(high)

    def value_expected(value: Any) -> bool:
        if isinstance(value, datetime):
            return _between_value(value, time_low, time_high, strict_low, strict_high)
        return _between_value(value, low, high, strict_low, strict_high)

    def expected(values: pd.Series) -> np.ndarray:
        if values.dtype == object:
            return np.fromiter((value_expected(v) for v in values), dtype=bool, count=len(values))
        timestamps = isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(values.dtype)
        lo, hi = (time_low, time_high) if timestamps else (low, high)
        try:
            return _within(*_comparable(values, lo, hi), strict_low, strict_high)
        except TypeError:
            # A column that cannot be compared with the bounds at all (times written as text, times without a
            # zone against UTC bounds): every row is unexpected, as each is on its own in value_expected.
            return np.zeros(len(values), dtype=bool)

    return Rule(
        name, "expect_column_values_to_be_between", column, severity, _mostly(kwargs), expected=expected,
        value_expected=value_expected,
    )  # fmt: skip


@_compiler("expect_column_value_lengths_to_be_between")
def _lengths(name: str, column: str | None, severity: str, kwargs: Mapping[str, Any]) -> Rule:
    low, high, strict_low, strict_high = _bounds(name, kwargs)

    def expected(values: pd.Series) -> np.ndarray:
        lengths = values.astype(str).str.len().to_numpy(dtype=np.int64)
        return _within(lengths, low, high, strict_low, strict_high)

    def expected_text(values: TextValues) -> np.ndarray:
        lengths = pc.utf8_length(values.array).to_numpy(zero_copy_only=False)  # characters, as Python's len
        return _within(lengths, low, high, strict_low, strict_high)

    return Rule(
        name, "expect_column_value_lengths_to_be_between", column, severity, _mostly(kwargs), expected=expected,
        value_expected=lambda value: _between_value(len(str(value)), low, high, strict_low, strict_high),
        expected_text=expected_text,
    )  # fmt: skip


@_compiler("expect_column_values_to_match_regex")
def _regex(name: str, column: str | None, severity: str, kwargs: Mapping[str, Any]) -> Rule:
    regex = str(kwargs["regex"])
    pattern = re.compile(regex)

    def expected(values: pd.Series) -> np.ndarray:
        return values.astype(str).str.contains(regex).to_numpy(dtype=bool)

    return Rule(
        name, "expect_column_values_to_match_regex", column, severity, _mostly(kwargs), expected=expected,
        value_expected=lambda value: pattern.search(str(value)) is not None,
        expected_text=_text_search(pattern),
    )  # fmt: skip


@_compiler("expect_column_values_to_not_match_regex")
def _not_regex(name: str, column: str | None, severity: str, kwargs: Mapping[str, Any]) -> Rule:
    regex = str(kwargs["regex"])
    pattern = re.compile(regex)

    def expected(values: pd.Series) -> np.ndarray:
        return ~values.astype(str).str.contains(regex).to_numpy(dtype=bool)

    return Rule(
        name, "expect_column_values_to_not_match_regex", column, severity, _mostly(kwargs), expected=expected,
        value_expected=lambda value: pattern.search(str(value)) is None,
        expected_text=_negated(_text_search(pattern)),
    )  # fmt: skip


def _text_search(pattern: re.Pattern[str]) -> TextPredicate:
    """Whether ``pattern`` is found in each value, with the answers of Python's ``re`` (great-expectations' pandas
    engine): by Arrow's RE2 where the pattern means the same there (:func:`re2_pattern`), else by ``re``."""
    translated = re2_pattern(pattern.pattern)
    if translated is not None:

        def by_re2(values: TextValues) -> np.ndarray:
            found = pc.match_substring_regex(values.array, translated)
            return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)

        return by_re2

    def by_re(values: TextValues) -> np.ndarray:
        search = pattern.search
        return np.array([search(value) is not None for value in values.strings], dtype=bool)

    return by_re


def _negated(predicate: TextPredicate) -> TextPredicate:
    return lambda values: ~predicate(values)


#: Escapes whose meaning differs between Python's ``re`` and RE2, or that RE2 lacks: classes that are Unicode
#: in ``re`` and ASCII in RE2 (or differ even on ASCII: ``\s``), word boundaries, backreferences, ``\A``,
#: Unicode escapes. ``\Z`` is translated (RE2 spells it ``\z``).
_RE2_UNSAFE_ESCAPES: Final = frozenset("dDwWsSbBAuUNzG0123456789")


def re2_pattern(pattern: str) -> str | None:
    """``pattern`` as RE2 spells it when RE2 (Arrow's regular expressions) finds it in exactly the strings Python's
    ``re`` does, else None: a conservative reading that accepts literals, classes, groups ``(?:...)``,
    repetitions and anchors ``^`` and ``\\Z``, and refuses ``$`` (``re`` also matches before a final newline),
    ``{,n}`` (a repetition in ``re``, a literal in RE2), any other ``(?`` construct (flags, lookarounds, named
    groups) and the escapes of :data:`_RE2_UNSAFE_ESCAPES`; what RE2 cannot compile is refused too."""
    out: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            escaped = next(chars, None)
            if escaped is None or escaped in _RE2_UNSAFE_ESCAPES:
                return None
            out.append("\\z" if escaped == "Z" else char + escaped)
        elif char == "$":
            return None
        else:
            out.append(char)
    translated = "".join(out)
    if "(?" in translated.replace("(?:", "") or "{," in translated:
        return None
    try:
        pc.match_substring_regex(pa.array([""]), translated)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return translated


@_compiler("expect_column_values_to_be_in_set")
def _in_set(name: str, column: str | None, severity: str, kwargs: Mapping[str, Any]) -> Rule:
    value_set = kwargs.get("value_set")
    members = None if value_set is None else list(value_set)
    lookup = None if members is None else frozenset(members)

    def expected(values: pd.Series) -> np.ndarray:
        if members is None:
            return np.ones(len(values), dtype=bool)  # vacuously true, as in great-expectations
        return values.isin(members).to_numpy(dtype=bool)

    def value_expected(value: Any) -> bool:
        try:
            return lookup is None or value in lookup
        except TypeError:  # an unhashable value is in no set of codes
            return False

    # A text value is in the set when it equals one of the set's texts (a member of another type equals none).
    texts = None if members is None else [member for member in members if isinstance(member, str)]

    def expected_text(values: TextValues) -> np.ndarray:
        if texts is None:
            return np.ones(len(values.array), dtype=bool)
        found = pc.is_in(values.array, value_set=pa.array(texts, type=values.array.type))
        return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)

    return Rule(
        name, "expect_column_values_to_be_in_set", column, severity, _mostly(kwargs), expected=expected,
        value_expected=value_expected, expected_text=expected_text,
    )  # fmt: skip


@_compiler("expect_column_values_to_be_unique")
def _unique(name: str, column: str | None, severity: str, kwargs: Mapping[str, Any]) -> Rule:
    # Every copy of a duplicated value is unexpected (keep=False), as in great-expectations. A single record
    # is unique by itself: duplicates across micro-batches are the consumer's idempotency concern.
    return Rule(
        name, "expect_column_values_to_be_unique", column, severity, _mostly(kwargs),
        expected=lambda values: ~values.duplicated(keep=False).to_numpy(dtype=bool), value_expected=lambda value: True,
        expected_text=_unique_texts,
    )  # fmt: skip


def _unique_texts(values: TextValues) -> np.ndarray:
    """True for each value that occurs once (every copy of a repeated value is unexpected)."""
    codes = values.array.dictionary_encode().indices.to_numpy(zero_copy_only=False)
    return np.bincount(codes)[codes] == 1  # type: ignore[no-any-return]


@_compiler("expect_column_quantile_values_to_be_between")
def _quantiles(name: str, column: str | None, severity: str, kwargs: Mapping[str, Any]) -> Rule:
    spec = kwargs["quantile_ranges"]
    quantiles = [float(q) for q in spec["quantiles"]]
    ranges = [
        (-math.inf if lo is None else float(lo), math.inf if hi is None else float(hi))
        for lo, hi in spec["value_ranges"]
    ]
    interpolation: Any = kwargs.get("allow_relative_error") or "nearest"

    def batch(frame: pd.DataFrame) -> bool:
        observed = frame[column].quantile(quantiles, interpolation=interpolation).tolist()
        return all(_quantile_in_range(value, lo, hi) for value, (lo, hi) in zip(observed, ranges, strict=True))

    return Rule(name, "expect_column_quantile_values_to_be_between", column, severity, batch=batch)


def comparison_types(type_name: str) -> tuple[type, ...]:
    """The Python types a type name stands for, resolved as great-expectations' pandas engine does."""
    found: list[type] = []
    try:
        found.append(np.dtype(type_name).type)
    except TypeError:
        for holder in (pd, pandas_dtypes):
            candidate = getattr(holder, type_name, None)
            if isinstance(candidate, type):
                found.append(candidate)
    found.extend(_NATIVE_TYPES.get(type_name.lower(), ()))
    if not found:
        raise UnsupportedExpectationError(f"unrecognised numpy/pandas/Python type name {type_name!r}")
    return tuple(found)


_NATIVE_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "none": (type(None),),
    "bool": (bool,),
    "int": (int,),
    "long": (int,),
    "float": (float,),
    "bytes": (bytes,),
    "complex": (complex,),
    "str": (str,),
    "string_types": (str,),
    "list": (list,),
    "dict": (dict,),
}


def _mostly(kwargs: Mapping[str, Any]) -> float:
    mostly = kwargs.get("mostly")
    return 1.0 if mostly is None else float(mostly)


def _bounds(name: str, kwargs: Mapping[str, Any]) -> tuple[Any, Any, bool, bool]:
    """``min_value``, ``max_value``, ``strict_min``, ``strict_max`` of a between-style expectation."""
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is None and high is None:
        raise UnsupportedExpectationError(f"{name}: min_value and max_value cannot both be None")
    return low, high, bool(kwargs.get("strict_min")), bool(kwargs.get("strict_max"))


def _within(values: pd.Series | np.ndarray, low: Any, high: Any, strict_low: bool, strict_high: bool) -> np.ndarray:
    """Element-wise: whether each (non-null) value lies within the bounds; a None bound is open."""
    ok = np.ones(len(values), dtype=bool)
    if low is not None:
        ok &= np.asarray(values > low if strict_low else values >= low, dtype=bool)
    if high is not None:
        ok &= np.asarray(values < high if strict_high else values <= high, dtype=bool)
    return ok


def _comparable(values: pd.Series, low: Any, high: Any) -> tuple[pd.Series | np.ndarray, Any, Any]:
    """``values`` and the bounds as NumPy compares them with pandas' answers (numbers against numbers; UTC times
    against aware times no finer than the column, as the column's ``datetime64``), else as they are (pandas
    compares): pandas' comparison operators cost tens of microseconds a call whatever the length."""
    bounds = [bound for bound in (low, high) if bound is not None]
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
        if all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds):
            return values.to_numpy(), low, high
    elif isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC" and dtype.unit in _UNITS:
        finest = _UNITS.index(dtype.unit)
        if all(isinstance(b, pd.Timestamp) and b.tz is not None and _UNITS.index(b.unit) <= finest for b in bounds):
            return (
                values.to_numpy(dtype=f"datetime64[{dtype.unit}]"),
                _utc_datetime64(low, dtype.unit),
                _utc_datetime64(high, dtype.unit),
            )
    return values, low, high


def _utc_datetime64(bound: pd.Timestamp | None, unit: Any) -> np.datetime64 | None:
    return None if bound is None else bound.tz_convert("UTC").tz_localize(None).as_unit(unit).to_datetime64()


_UNITS: Final = ("s", "ms", "us", "ns")


def _time_bound(value: Any) -> Any:
    if isinstance(value, datetime | str):
        try:
            return pd.Timestamp(value)
        except ValueError:
            return value  # a string bound that is no time: a bound for a string column
    return value


def _between_value(value: Any, low: Any, high: Any, strict_low: bool, strict_high: bool) -> bool:
    # great-expectations raises for a value that cannot be compared with the bounds (a string amount in an
    # object column), which fails the whole expectation and flags no row; here that one row is unexpected,
    # so one malformed record cannot take a whole micro-batch down with it.
    try:
        return _compare(value, low, high, strict_low, strict_high)
    except TypeError:
        return False


def _compare(value: Any, low: Any, high: Any, strict_low: bool, strict_high: bool) -> bool:
    if low is not None and not (value > low if strict_low else value >= low):
        return False
    return high is None or bool(value < high if strict_high else value <= high)


def _quantile_in_range(value: Any, low: float, high: float) -> bool:
    # great-expectations: a missing quantile (empty column) fails; a value within a relative 1e-4 of a bound
    # counts as on the bound.
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(
        np.isclose(value, low, rtol=1e-4, atol=1e-8)
        or np.isclose(value, high, rtol=1e-4, atol=1e-8)
        or low <= value <= high
    )
