"""The compiled rules' regular expressions on Arrow: a pattern runs on RE2 only where RE2 finds exactly what
Python's ``re`` finds (great-expectations' semantics), else on ``re``."""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ingest.validation.rules import re2_pattern

_TEXTS = [
    "", " ", "a", "A", "abc", "abc\n", "a\nb", "1234", "1234\n", "\u0661\u0662", "\u00e9", "x_y", "a b\tc",
    "4111-1111-1111-1111", "aaa", "\x0b",
]  # fmt: skip


@pytest.mark.parametrize(
    "pattern", [r"^[\x21-\x7e]+\Z", r"^[ \-]*(?:[0-9][ \-]*){12,19}\Z", r"^[A-Z]{3}\Z", r"b", r"^a.b\Z", r"[^a]"]
)
def test_a_pattern_run_on_re2_finds_what_python_finds(pattern: str) -> None:
    translated = re2_pattern(pattern)
    assert translated is not None
    found = pc.match_substring_regex(pa.array(_TEXTS), translated).to_pylist()
    assert found == [re.search(pattern, text) is not None for text in _TEXTS]


@pytest.mark.parametrize(
    "pattern",
    [r"^\d+\Z", r"\w", r"\s", r"\bx", r"abc$", r"(?i)abc", r"(?=a)", r"(a)\1", r"a{,3}", r"a*+", r"\Aa", r"[$]"],
)
def test_a_pattern_whose_meaning_differs_in_re2_stays_with_python(pattern: str) -> None:
    assert re2_pattern(pattern) is None
