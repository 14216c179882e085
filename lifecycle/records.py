"""Typed records as JSON documents, and back: how lineage, evaluation reports and verdicts are stored.

The records are frozen dataclasses; pydantic reads and writes them (nested records, tuples as lists, infinite
band edges as ``"Infinity"``) so that no record has a hand-written ``to_dict``/``from_dict`` pair that could
drift from its fields. Each record class (nested ones too) sets ``__pydantic_config__ = RECORD_CONFIG``, so
reading is strict: a document with a missing, unknown or ill-typed field is refused with a :class:`RecordError`
that names the field, never half-read.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Point:
...     __pydantic_config__ = RECORD_CONFIG
...     x: float
...     tags: tuple[str, ...] = ()
>>> to_document(Point(1.5, ("a",)))
{'x': 1.5, 'tags': ['a']}
>>> from_document(Point, {"x": 2, "tags": []})
Point(x=2.0, tags=())
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import ConfigDict, TypeAdapter, ValidationError

from lifecycle.errors import LifecycleError

T = TypeVar("T")

#: The pydantic configuration of every stored record: unknown fields refused, infinities written as strings.
RECORD_CONFIG = ConfigDict(extra="forbid", ser_json_inf_nan="strings")


class RecordError(LifecycleError):
    """A stored document does not hold the record it should (altered, or written by an incompatible version)."""


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(kind: type[Any]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


def to_document(record: Any) -> dict[str, Any]:
    """The record as plain JSON data (dicts, lists, strings, numbers; no NaN or infinity)."""
    document: dict[str, Any] = json.loads(_adapter(type(record)).dump_json(record))
    return document


def from_document(kind: type[T], document: Any) -> T:
    """The record of type ``kind`` that ``document`` holds; :class:`RecordError` says which field is wrong."""
    try:
        record: T = _adapter(kind).validate_python(document)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in error.errors())
        raise RecordError(f"not a valid {kind.__name__} record: {problems}") from None
    return record
