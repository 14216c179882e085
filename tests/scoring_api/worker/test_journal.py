"""Journal records and the offset metadata that names them."""

from __future__ import annotations

import pytest

from scoring_api.worker import JournalError
from scoring_api.worker.journal import (
    JournalRecord,
    commit_metadata,
    decode_record,
    encode_record,
    parse_commit_metadata,
)


def test_records_round_trip_with_their_ranges() -> None:
    record = JournalRecord("fraud-scorer-3", 12, {("tx", 0): (5, 9), ("tx", 4): (100, 180)}, {("labels", 4): (7, 7)})
    back = decode_record(encode_record(record), offset=41)
    assert back == record
    assert back.offset == 41
    assert back.touches(("tx", 4))
    assert not back.touches(("tx", 1))


@pytest.mark.parametrize("value", [b"not json", b'{"format": 99}', b'{"format": 1, "worker": "w"}', b"[]"])
def test_unreadable_records_are_refused(value: bytes) -> None:
    with pytest.raises(JournalError, match="offset 3"):
        decode_record(value, offset=3)


def test_offset_metadata_names_the_record_and_nothing_else_is_taken_for_one() -> None:
    record = JournalRecord("fraud-scorer-0", 7, {})
    assert parse_commit_metadata(commit_metadata(record)) == ("fraud-scorer-0", 7)
    assert parse_commit_metadata("") is None
    assert parse_commit_metadata("placed by a tool") is None
