"""Stored records (lineage with its evaluation report, verdicts) go to JSON and back unchanged, and a document
that does not hold the record exactly is refused with the field named."""

from __future__ import annotations

import dataclasses
import json
import typing

import pytest

from lifecycle.records import RECORD_CONFIG, RecordError, from_document, to_document
from lifecycle.registry import Check, Lineage, Verdict
from tests.lifecycle.registry import support


def _records_reachable_from(kind: type) -> set[type]:
    seen: set[type] = set()
    pending = [kind]
    while pending:
        current = pending.pop()
        if current in seen or not dataclasses.is_dataclass(current):
            continue
        seen.add(current)
        for hint in typing.get_type_hints(current).values():
            pending += [a for a in typing.get_args(hint) or (hint,) if isinstance(a, type)]
            pending += [b for a in typing.get_args(hint) for b in typing.get_args(a) if isinstance(b, type)]
    return seen


@pytest.mark.parametrize("kind", [Lineage, Verdict])
def test_every_stored_record_reads_strictly(kind: type) -> None:
    records = _records_reachable_from(kind)
    assert len(records) > 1
    lenient = sorted(r.__name__ for r in records if getattr(r, "__pydantic_config__", None) != RECORD_CONFIG)
    assert lenient == [], f"set __pydantic_config__ = RECORD_CONFIG on {lenient}"


def test_lineage_goes_to_json_and_back_unchanged() -> None:
    lineage = support.lineage()
    document = json.loads(json.dumps(to_document(lineage), allow_nan=False))
    assert from_document(Lineage, document) == lineage


def test_a_document_that_is_not_the_record_is_refused_with_the_field_named() -> None:
    document = to_document(support.lineage())
    with pytest.raises(RecordError, match="note"):
        from_document(Lineage, {**document, "note": "added"})
    document["data"]["rows"] = "many"
    with pytest.raises(RecordError, match=r"data\.rows"):
        from_document(Lineage, document)
    check = to_document(Check.measured("value:auc_roc", 1, "auc_roc >= 0.8", True))
    assert check["value"] == 1.0
    del check["outcome"]
    with pytest.raises(RecordError, match="outcome"):
        from_document(Check, check)
