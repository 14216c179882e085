"""A decision batch's columnar encoding is the per-event encoding: the same payload text, columns and masking,
and the same error for a non-finite number, whatever the strings and numbers; it crosses an Arrow IPC stream
unchanged, and anything else is refused."""

from __future__ import annotations

import struct
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitoring.audit import AuditError, DecisionEvent, Reason
from monitoring.audit.decision_batch import (
    DecisionBatch,
    batch_from_ipc,
    batch_to_ipc,
    decision_batch_events,
    decision_batch_of,
    encode_decision_batch,
)
from monitoring.audit.encoding import AuditItem, encode, encode_items, serialise
from monitoring.audit.events import decode_event
from tests.monitoring.audit import support

CARD = "4111111111111111"
#: Card-number shapes (a valid one, grouped, an invalid one of 16 digits), and near misses.
CARDISH = st.sampled_from([CARD, "4111 1111 1111 1111", "4111-1111-1111-1111", "1234567890123456", "12345678901"])
TEXT = st.one_of(
    st.text(max_size=12),
    st.text(alphabet='"\\\x00\x01\n\t\u00e9\u4e2d\U0001f600 -.0123456789abcdef', max_size=24),
    st.builds(lambda a, c, b: a + c + b, st.text(max_size=4), CARDISH, st.text(max_size=4)),
    st.sampled_from(["", "tok_" + "0123456789" * 3 + "ab", "sha256:" + "12" * 32]),
)
CORNERS = [-0.0, 0.0, 5e-324, 1e-7, 1e16, 1e300, 1e-300, 0.1, 4111111111111111.0, 123456789012.0, 1.5e15, 2.0**53]
FLOAT = st.one_of(st.sampled_from(CORNERS), st.floats(allow_nan=False, allow_infinity=False))
TIME = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))


@st.composite
def batches(draw: st.DrawFn) -> list[DecisionEvent]:
    count = draw(st.integers(1, 6))
    # One type per input field (a contract field has one); any values of it.
    kinds = {
        "s": TEXT,
        "f": FLOAT,
        "i": st.one_of(st.integers(-(2**63), 2**63 - 1), st.sampled_from([4111111111111111, 0, -1])),
        "b": st.booleans(),
    }
    fields = draw(st.lists(st.tuples(TEXT, st.sampled_from(list(kinds))), max_size=4, unique_by=lambda f: f[0]))
    names = draw(st.lists(st.one_of(TEXT, st.just("amount")), min_size=1, max_size=4, unique=True))
    nullable = draw(st.booleans())
    events = []
    for k in range(count):
        row = {name: draw(st.one_of(kinds[kind], st.none()) if nullable else kinds[kind]) for name, kind in fields}
        reasons = draw(st.lists(st.builds(Reason, code=TEXT, feature=TEXT, contribution=FLOAT, text=TEXT), max_size=3))
        events.append(
            DecisionEvent(
                occurred_at=draw(TIME),
                decision_id=draw(st.one_of(TEXT, st.just(f"dec-{k}"))),
                transaction_id=draw(TEXT),
                card_token=draw(st.one_of(TEXT, st.just(support.token(k)))),
                input=row,
                features={name: draw(FLOAT) for name in names},
                model_content_id=draw(st.one_of(st.just(support.MODEL), TEXT)),
                decision_config_version=draw(TEXT),
                score=draw(FLOAT),
                decision=draw(st.sampled_from(["approve", "review", "decline"])),
                reasons=tuple(reasons),
                rules=tuple(draw(st.lists(TEXT, max_size=3))),
                backend=draw(st.sampled_from(["numpy", "numba"])),
                deployment=draw(st.sampled_from(["champion", "shadow"])),
                source=draw(st.sampled_from(["api", "stream"])),
                card_display=draw(st.one_of(st.none(), st.just("411111******1111"), TEXT)),
            )
        )
    return events


def bits(value: object) -> object:
    """A value with its floats as their bits (so -0.0 and 0.0 differ), recursively."""
    if isinstance(value, float):
        return struct.pack("<d", value)
    if isinstance(value, dict):
        return {k: bits(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [bits(v) for v in value]
    return value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_the_columnar_records_are_the_per_event_records(events: list[DecisionEvent]) -> None:
    batch = decision_batch_of(events)
    reference = decision_batch_events(batch)
    assert reference == events
    expected = [encode(event) for event in reference]
    encoded = encode_decision_batch(batch)
    assert encoded == expected  # kind, columns, masking and the payload's text, byte for byte
    for record, event in zip(encoded, events, strict=True):
        if not record.masked:
            assert record.payload.encode() == serialise(event)
            decoded = decode_event(record.kind, orjson.loads(record.payload))
            assert decoded == event
            assert bits(orjson.loads(record.payload)) == bits(orjson.loads(serialise(event)))


def test_card_numbers_are_masked_in_any_column_and_only_in_their_rows() -> None:
    events = list(support.decisions(6))
    events[1] = replace(events[1], rules=(f"rule {CARD}",))
    events[3] = replace(events[3], features={**events[3].features, "amount": float(CARD)})
    events[4] = replace(events[4], input={**events[4].input, "device_id": CARD})
    encoded = encode_decision_batch(decision_batch_of(events))
    assert [e.masked for e in encoded] == [False, True, False, True, True, False]
    assert all(CARD not in e.payload for e in encoded)
    assert encoded == [encode(event) for event in events]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"score": float("nan")}, "must be finite"),
        ({"reasons": (Reason(code="a", feature="a", contribution=float("inf")),)}, "must be finite"),
        ({"features": {name: float("-inf") for name in support.FEATURE_NAMES}}, "are not finite"),
    ],
)
def test_a_non_finite_number_is_the_events_own_error(change: dict[str, object], error: str) -> None:
    events = list(support.decisions(3))
    good = decision_batch_of(events)
    table = decision_batch_of([events[0], _unchecked(events[1], change), events[2]]).table
    with pytest.raises(AuditError, match=error) as raised:
        encode_decision_batch(DecisionBatch(table))
    assert events[1].decision_id in str(raised.value)
    assert len(encode_decision_batch(good)) == 3


def _unchecked(event: DecisionEvent, change: dict[str, object]) -> DecisionEvent:
    """The event with ``change``, past its own check (to build a batch no event could be made from)."""
    out = replace(event)
    for name, value in change.items():
        object.__setattr__(out, name, value)
    return out


def test_a_batch_crosses_an_ipc_stream_unchanged() -> None:
    batch = decision_batch_of(list(support.decisions(20)))
    again = batch_from_ipc(memoryview(batch_to_ipc(batch)))
    assert again.table.equals(batch.table)
    assert again.table.schema.equals(batch.table.schema, check_metadata=True)
    assert encode_decision_batch(again) == encode_decision_batch(batch)


@pytest.mark.parametrize(
    "data",
    [
        b"not arrow at all",
        b"",
        pytest.param("other table", id="another-table"),
        pytest.param("missing column", id="a-column-missing"),
    ],
)
def test_an_ipc_stream_that_is_not_a_decision_batch_is_refused(data: bytes | str) -> None:
    if data == "other table":
        data = _ipc(pa.table({"a": [1, 2]}))
    elif data == "missing column":
        table = decision_batch_of(list(support.decisions(2))).table
        data = _ipc(table.drop_columns(["score"]).replace_schema_metadata(table.schema.metadata))
    assert isinstance(data, bytes)
    with pytest.raises(AuditError, match="not a decision batch"):
        batch_from_ipc(data)


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def test_items_mix_events_and_batches_in_order() -> None:
    events, first, second = list(support.decisions(5)), support.access(0), support.access(1)
    items: list[AuditItem] = [first, decision_batch_of(events[:3]), second, decision_batch_of(events[3:])]
    flat = [first, *events[:3], second, *events[3:]]
    assert encode_items(items) == [encode(event) for event in flat]
    with pytest.raises(AuditError, match="append takes audit events"):
        encode_items([object()])  # type: ignore[list-item]


def test_a_batch_is_recorded_as_one_record_per_decision(audit_url: str, tmp_path: Path) -> None:
    events = list(support.decisions(4, start=10))
    start = datetime(2026, 3, 1, tzinfo=UTC)
    events = [replace(e, occurred_at=start + timedelta(microseconds=k)) for k, e in enumerate(events)]
    with support.open_log(audit_url, tmp_path / "archive") as log:
        result = log.append([decision_batch_of(events), support.access(1)])
        assert (result.first_seq, result.last_seq) == (1, 5)
        assert [record.event() for record in log.records()][:4] == events
        assert log.verify().ok


def test_a_sliced_or_chunked_table_encodes_as_its_rows() -> None:
    events = list(support.decisions(9))
    events = [replace(e, reasons=e.reasons[: k % 3], rules=("r",) * (k % 2)) for k, e in enumerate(events)]
    whole = decision_batch_of(events).table
    sliced = DecisionBatch(whole.slice(3, 4))
    assert encode_decision_batch(sliced) == [encode(e) for e in events[3:7]]
    chunked = DecisionBatch(pa.concat_tables([whole.slice(0, 4), whole.slice(4)]))
    assert encode_decision_batch(chunked) == [encode(e) for e in events]


@pytest.mark.parametrize("column", ["score", "features", "reasons", "rules", "input"])
def test_a_table_with_missing_values_where_none_may_be_is_not_a_batch(column: str) -> None:
    events = [replace(e, rules=("r",)) for e in support.decisions(3)]
    table = decision_batch_of(events).table
    array = table.column(column).combine_chunks()
    if column == "features":
        children = array.flatten()
        children[0] = pa.array([None, 1.0, 2.0], pa.float64())
        array = pa.StructArray.from_arrays(children, fields=list(array.type))
    elif column in ("reasons", "rules"):
        items = array.flatten()
        if column == "reasons":
            children = items.flatten()
            children[2] = pa.array([None] * len(items), pa.float64())
            items = pa.StructArray.from_arrays(children, fields=list(items.type))
        else:
            items = pa.array([None] * len(items), pa.string())
        array = pa.ListArray.from_arrays(array.offsets, items, type=array.type)
    elif column == "input":
        array = pa.StructArray.from_arrays(
            array.flatten(), fields=list(array.type), mask=pa.array([True, False, False])
        )
    else:
        array = pa.array([None, 0.5, 0.5], array.type)
    position = table.schema.get_field_index(column)
    broken = table.set_column(position, table.schema.field(column), array)
    with pytest.raises(AuditError, match=r"not a decision batch: .*hold missing values"):
        DecisionBatch(broken)
