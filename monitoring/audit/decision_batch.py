"""A scored batch's decisions in columnar form, and their stored records encoded a column at a time.

A :class:`DecisionBatch` holds one row per decision in an Arrow table: what a
:class:`~monitoring.audit.events.DecisionEvent` holds, column by column. The scoring process builds it from its
own columns and hands it to the recording side whole (in process, or as an Arrow IPC stream:
:func:`batch_to_ipc`, :func:`batch_from_ipc`), so that no per-decision object is made on the scoring path.

The columns (in this order; :data:`FIXED_FIELDS` holds them but ``input`` and ``features``):

=========================  =====================================================================================
occurred_at                ``timestamp[us, tz=UTC]``, not null: when the decision was taken
decision_id                ``string``, not null
transaction_id             ``string``, not null
card_token                 ``string``, not null
input                      ``struct``: the raw contract fields as recorded, one child per field in the order
                           recorded; each child ``string``, ``double``, ``int64``, ``bool`` or ``null`` (JSON's
                           scalars; a null value is JSON ``null``)
features                   ``struct``: the model input by name, every child ``double`` (the float32 values
                           scored, widened exactly)
model_content_id           ``string``, not null
decision_config_version    ``string``, not null
score                      ``double``, not null
decision                   ``string``, not null
reasons                    ``list<struct<code: string, feature: string, contribution: double, text: string>>``
rules                      ``list<string>``
backend                    ``string``, not null
deployment                 ``string``, not null
source                     ``string``, not null
card_display               ``string``, nullable
=========================  =====================================================================================

Row *k*'s meaning is :func:`decision_batch_events`\\ ``(batch)[k]``; :func:`encode_decision_batch` gives the
records of those events, byte for byte those of :func:`~monitoring.audit.encoding.encode` (the same payload
text, kind and columns, the same masking and the same :class:`AuditError`), without making an event per row:
each column is turned into JSON text at once (one ``orjson`` call for the numbers of a column, one for its
distinct strings, or one for all its strings split at the delimiters JSON leaves between them), the texts are
laid into each row's payload by one ``%`` format of a template holding the keys, and card numbers are screened
a column at a time: a string column's JSON text at C speed (the distinct values alone when there are few), a
number column by magnitude (only a number of twelve digits or more can print as a card number's digits). A
payload is the concatenation of its values' texts separated by punctuation, so it may hold a card number exactly
when one of them may; the rows that may go through the per-event :func:`~monitoring.audit.encoding.encode`,
which masks them as it always did. The times are written in UTC (``+00:00``), as the batch holds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from monitoring.audit.card_numbers import may_hold_card_number
from monitoring.audit.encoding import EncodedEvent, encode
from monitoring.audit.errors import AuditError
from monitoring.audit.events import DecisionEvent, Reason

#: The schema's metadata key and value that mark a decision batch (an IPC stream is refused without them).
SCHEMA_KEY: Final = b"fraud.audit.batch"
SCHEMA_VERSION: Final = b"decisions/1"

REASON_TYPE: Final = pa.struct(
    [
        pa.field("code", pa.string(), nullable=False),
        pa.field("feature", pa.string(), nullable=False),
        pa.field("contribution", pa.float64(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
    ]
)
TIME_TYPE: Final = pa.timestamp("us", tz="UTC")
#: Every column but the two structs whose children depend on the batch (``input`` and ``features``).
FIXED_FIELDS: Final[dict[str, pa.Field]] = {
    field.name: field
    for field in (
        pa.field("occurred_at", TIME_TYPE, nullable=False),
        pa.field("decision_id", pa.string(), nullable=False),
        pa.field("transaction_id", pa.string(), nullable=False),
        pa.field("card_token", pa.string(), nullable=False),
        pa.field("model_content_id", pa.string(), nullable=False),
        pa.field("decision_config_version", pa.string(), nullable=False),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("decision", pa.string(), nullable=False),
        pa.field("reasons", pa.list_(pa.field("item", REASON_TYPE, nullable=False)), nullable=False),
        pa.field("rules", pa.list_(pa.field("item", pa.string(), nullable=False)), nullable=False),
        pa.field("backend", pa.string(), nullable=False),
        pa.field("deployment", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("card_display", pa.string(), nullable=True),
    )
}
#: The columns in order: a decision event's fields.
COLUMNS: Final = (
    "occurred_at",
    "decision_id",
    "transaction_id",
    "card_token",
    "input",
    "features",
    "model_content_id",
    "decision_config_version",
    "score",
    "decision",
    "reasons",
    "rules",
    "backend",
    "deployment",
    "source",
    "card_display",
)
#: The types an input field's child may have: JSON's scalars.
INPUT_TYPES: Final = (pa.string(), pa.float64(), pa.int64(), pa.bool_(), pa.null())


def decision_schema(input_fields: Sequence[pa.Field], feature_names: Sequence[str]) -> pa.Schema:
    """The schema of a batch whose input struct has ``input_fields`` and whose model input is ``feature_names``."""
    structs = {
        "input": pa.field("input", pa.struct(list(input_fields)), nullable=False),
        "features": pa.field(
            "features", pa.struct([pa.field(n, pa.float64(), nullable=False) for n in feature_names]), nullable=False
        ),
    }
    fields = [structs[name] if name in structs else FIXED_FIELDS[name] for name in COLUMNS]
    return pa.schema(fields, metadata={SCHEMA_KEY: SCHEMA_VERSION})


@dataclass(frozen=True, slots=True)
class DecisionBatch:
    """A batch's decisions, one row each (the columns are described in the module docstring)."""

    table: pa.Table

    def __post_init__(self) -> None:
        problem = _schema_problem(self.table.schema) or _null_problem(self.table)
        if problem is not None:
            raise AuditError(f"not a decision batch: {problem}; build it with decision_schema()")

    def __len__(self) -> int:
        return int(self.table.num_rows)

    @classmethod
    def from_arrays(cls, arrays: Sequence[pa.Array]) -> DecisionBatch:
        """A batch from one array per column of :data:`COLUMNS`, in that order (the struct types as given)."""
        input_type, features_type = arrays[4].type, arrays[5].type
        schema = decision_schema(list(input_type), [f.name for f in features_type])
        return cls(pa.Table.from_arrays(list(arrays), schema=schema))


def _schema_problem(schema: pa.Schema) -> str | None:
    if (schema.metadata or {}).get(SCHEMA_KEY) != SCHEMA_VERSION:
        return f"the schema lacks the metadata {SCHEMA_KEY.decode()}={SCHEMA_VERSION.decode()}"
    if tuple(schema.names) != COLUMNS:
        return f"the columns are {schema.names}, not {list(COLUMNS)}"
    for name, expected in FIXED_FIELDS.items():
        if not schema.field(name).type.equals(expected.type):
            return f"column {name} is {schema.field(name).type}, not {expected.type}"
    inputs, features = schema.field("input").type, schema.field("features").type
    if not pa.types.is_struct(inputs) or any(f.type not in INPUT_TYPES for f in inputs):
        return f"input is {inputs}, not a struct of {[str(t) for t in INPUT_TYPES]}"
    if not pa.types.is_struct(features) or any(f.type != pa.float64() for f in features):
        return f"features is {features}, not a struct of double"
    return None


def _null_problem(table: pa.Table) -> str | None:
    """Where a value that may not be missing is (an input field's may: JSON's null)."""
    nullable = {name for name, field in FIXED_FIELDS.items() if field.nullable}
    nulls = [name for name in COLUMNS if name not in nullable and table.column(name).null_count]
    for chunk in table.column("features").chunks:
        nulls += [
            f"features.{f.name}" for f, child in zip(chunk.type, chunk.flatten(), strict=True) if child.null_count
        ]
    for name in ("reasons", "rules"):
        for chunk in table.column(name).chunks:
            items = chunk.flatten()
            children = items.flatten() if pa.types.is_struct(items.type) else [items]
            nulls += [f"{name} items" for child in children if child.null_count]
    return f"{sorted(set(nulls))} hold missing values" if nulls else None


def json_column(name: str, values: Sequence[Any]) -> pa.Array:
    """An input field's values (JSON scalars) as the Arrow child that records them: of their one type, nulls
    allowed; :class:`AuditError` when they mix types (a contract field has one) or are not JSON scalars."""
    try:
        array = pa.array(values)  # the type inferred at C speed; only a double column may hide an int
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        array = None
    if array is None or array.type not in INPUT_TYPES or (array.type == pa.float64() and int in set(map(type, values))):
        kinds = sorted({type(v).__name__ for v in values} - {"NoneType"})
        raise AuditError(
            f"input field {name!r} holds {kinds}; a decision batch records one JSON scalar type per field "
            "(str, float, int within 64 bits, or bool)"
        )
    return array


def decision_batch_of(events: Sequence[DecisionEvent]) -> DecisionBatch:
    """The batch of these decisions (the inverse of :func:`decision_batch_events`): they must share their input
    fields and model input names, in the same order."""
    if not events:
        raise AuditError("a decision batch of no decisions has no input fields to record; record nothing instead")
    fields, names = tuple(events[0].input), tuple(events[0].features)
    if any(tuple(e.input) != fields or tuple(e.features) != names for e in events):
        raise AuditError("the decisions of one batch must share their input fields and model input names")
    column = {name: [getattr(e, name) for e in events] for name in COLUMNS}
    arrays = [pa.array(column["occurred_at"], TIME_TYPE)]
    arrays += [pa.array(column[n], pa.string()) for n in ("decision_id", "transaction_id", "card_token")]
    inputs = [json_column(f, [row[f] for row in column["input"]]) for f in fields]
    arrays.append(pa.StructArray.from_arrays(inputs, names=list(fields)) if fields else _empty_struct(len(events)))
    features = [pa.array([row[f] for row in column["features"]], pa.float64()) for f in names]
    arrays.append(pa.StructArray.from_arrays(features, names=list(names)) if names else _empty_struct(len(events)))
    arrays += [pa.array(column[n], pa.string()) for n in ("model_content_id", "decision_config_version")]
    arrays += [pa.array(column["score"], pa.float64()), pa.array(column["decision"], pa.string())]
    reasons = [[(r.code, r.feature, r.contribution, r.text) for r in row] for row in column["reasons"]]
    reason_rows = [[dict(zip(REASON_TYPE.names, r, strict=True)) for r in row] for row in reasons]
    arrays += [
        pa.array(reason_rows, FIXED_FIELDS["reasons"].type),
        pa.array(column["rules"], FIXED_FIELDS["rules"].type),
    ]
    arrays += [pa.array(column[n], pa.string()) for n in ("backend", "deployment", "source", "card_display")]
    return DecisionBatch.from_arrays(arrays)


def _empty_struct(count: int) -> pa.StructArray:
    return pa.array([{}] * count, pa.struct([]))


def batch_to_ipc(batch: DecisionBatch) -> bytes:
    """The batch as an Arrow IPC stream (what the scoring process hands the recording process)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.table.schema) as writer:
        writer.write_table(batch.table)
    return bytes(sink.getvalue().to_pybytes())


def batch_from_ipc(data: bytes | memoryview) -> DecisionBatch:
    """The batch an Arrow IPC stream holds; :class:`AuditError` when it is not one (or not Arrow at all)."""
    try:
        table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
    except (pa.ArrowInvalid, OSError) as error:
        raise AuditError(f"not a decision batch: the bytes are not an Arrow IPC stream ({error})") from None
    return DecisionBatch(table)


# -- the reference: one event per row --------------------------------------------------------------------------


def decision_batch_events(batch: DecisionBatch) -> list[DecisionEvent]:
    """The decision event each row means (the reference :func:`encode_decision_batch` is held to)."""
    return [_row_event(batch, columns, k) for columns in [_pylists(batch)] for k in range(len(batch))]


def _pylists(batch: DecisionBatch) -> dict[str, list[Any]]:
    return {name: batch.table.column(name).to_pylist() for name in COLUMNS}


def _row_event(batch: DecisionBatch, columns: dict[str, list[Any]], k: int) -> DecisionEvent:
    row = {name: values[k] for name, values in columns.items()}
    row["reasons"] = tuple(Reason(**reason) for reason in row["reasons"])
    row["rules"] = tuple(row["rules"])
    return DecisionEvent(**row)


# -- the fast path: a column at a time -------------------------------------------------------------------------

#: The rows that may hold a card number (None: none).
_Flags = npt.NDArray[np.bool_] | None
#: Below this share of distinct values, a string column's distinct values are encoded (and screened) once each.
_FEW_DISTINCT: Final = 0.25
#: The smallest magnitude whose JSON text can hold twelve digits in a row (a float's fraction never does).
_CARD_SIZED: Final = 1e11
#: Where a value goes in a layout, and what ends a row when rows are joined: JSON never holds either character
#: raw (``orjson`` escapes control characters).
_VALUE: Final = "\x01"
_END: Final = "\x00"


@dataclass(frozen=True, slots=True)
class _Json:
    """A column's JSON: one text for every row (``constant``), or each row's text (written between ``before`` and
    ``after``); and the rows whose text may hold a card number."""

    texts: list[str] | None
    constant: str = ""
    flags: _Flags = None
    before: str = ""
    after: str = ""


@dataclass(slots=True)
class _Layout:
    """Rows' JSON under construction: the text around the values (``_VALUE`` marks each) and the values' columns."""

    count: int
    parts: list[str]
    columns: list[list[str]]
    flags: npt.NDArray[np.bool_]

    @classmethod
    def empty(cls, count: int) -> _Layout:
        return cls(count, [], [], np.zeros(count, dtype=np.bool_))

    def add(self, array: pa.Array) -> None:
        """``array``'s JSON: a struct's children under their keys, any other as one value."""
        if _is_matrix(array):
            self.add_matrix(array)
            return
        if pa.types.is_struct(array.type):
            self.parts.append("{")
            for position, field in enumerate(array.type):
                self.parts.append(("," if position else "") + _key(field.name))
                self.add(array.field(position))
            self.parts.append("}")
            return
        encoded = _json(array)
        if encoded.flags is not None:
            self.flags |= encoded.flags
        if encoded.texts is None:
            self.parts.append(encoded.constant)
        else:
            self.parts += [encoded.before, _VALUE, encoded.after]
            self.columns.append(encoded.texts)

    def add_matrix(self, array: pa.StructArray) -> None:
        """A struct of doubles (the model input): every number written by one ``orjson`` call, row by row."""
        matrix = np.column_stack([np.asarray(child) for child in array.flatten()])
        texts = orjson.dumps(matrix.ravel(), option=orjson.OPT_SERIALIZE_NUMPY).decode()[1:-1].split(",")
        width = matrix.shape[1]
        for row, column in zip(*np.nonzero(np.abs(matrix) >= _CARD_SIZED), strict=True):
            self.flags[row] |= may_hold_card_number(texts[row * width + column].encode())
        self.parts.append("{")
        for position, field in enumerate(array.type):
            self.parts += [("," if position else "") + _key(field.name), _VALUE]
            self.columns.append(texts[position::width])
        self.parts.append("}")

    def constants(self) -> list[str]:
        """The text before each value, and after the last."""
        return "".join(self.parts).split(_VALUE)

    def rows(self, ends: list[str] | None = None) -> list[str]:
        """Each row's text; or, given each row's end (a row's is ``_END``), the texts between those ends. The
        pieces of all rows are laid out in one list by slice assignment and joined once, then split at the ends:
        a join copies, where a ``%`` format per row reads its template character by character (measured about
        twice as slow for a decision)."""
        constants = self.constants()
        width = 2 * len(constants)
        pieces: list[str] = [""] * (self.count * width)
        for position, text in enumerate(constants[:-1]):
            pieces[2 * position :: width] = [text] * self.count
            pieces[2 * position + 1 :: width] = self.columns[position]
        pieces[width - 2 :: width] = [constants[-1]] * self.count
        pieces[width - 1 :: width] = [_END] * self.count if ends is None else ends
        return "".join(pieces).split(_END)[:-1]


def encode_decision_batch(batch: DecisionBatch) -> list[EncodedEvent]:
    """The stored records of the batch's decisions: those of ``[encode(e) for e in decision_batch_events(batch)]``,
    made a column at a time (see the module docstring); :class:`AuditError` for a non-finite number."""
    n = len(batch)
    if n == 0:
        return []
    table = batch.table
    _check_finite(batch)
    layout = _Layout.empty(n)
    layout.parts.append("{")
    for position, name in enumerate(COLUMNS):
        layout.parts.append(("," if position else "") + _key(name))
        layout.add(table.column(name).combine_chunks())
    layout.parts.append("}")
    if may_hold_card_number("null".join(layout.constants()).encode()):  # the keys
        layout.flags[:] = True
    subjects = table.column("decision_id").to_pylist()
    cards = table.column("card_token").to_pylist()
    out = [
        EncodedEvent("decision", None, subject, card, payload, False)
        for subject, card, payload in zip(subjects, cards, layout.rows(), strict=True)
    ]
    if layout.flags.any():
        columns = _pylists(batch)
        for k in np.flatnonzero(layout.flags).tolist():
            out[k] = encode(_row_event(batch, columns, k))
    return out


def _is_matrix(array: pa.Array) -> bool:
    return (
        pa.types.is_struct(array.type)
        and array.type.num_fields > 0
        and all(f.type == pa.float64() for f in array.type)
        and not any(child.null_count for child in array.flatten())
    )


def _key(name: str) -> str:
    return orjson.dumps(name).decode() + ":"


def _json(array: pa.Array) -> _Json:
    kind = array.type
    if pa.types.is_string(kind):
        return _string_json(array)
    if pa.types.is_floating(kind) or pa.types.is_integer(kind):
        return _number_json(array)
    if pa.types.is_timestamp(kind):
        return _time_json(array)
    if pa.types.is_boolean(kind):
        table = {True: "true", False: "false", None: "null"}
        return _Json([table[v] for v in array.to_pylist()])
    if pa.types.is_null(kind):
        return _Json(None, "null")
    if pa.types.is_list(kind):
        return _list_json(array)
    raise AuditError(f"a decision batch cannot hold a column of {kind}")


def _string_json(array: pa.Array) -> _Json:
    if pc.count_distinct(array, mode="all").as_py() <= max(1, _FEW_DISTINCT * len(array)):
        encoded = array.dictionary_encode(null_encoding="encode")
        distinct = encoded.dictionary.to_pylist()
        texts = [orjson.dumps(value).decode() for value in distinct]
        suspect = np.fromiter((may_hold_card_number(t.encode()) for t in texts), dtype=np.bool_, count=len(texts))
        indices = np.asarray(encoded.indices)
        flags = suspect[indices] if suspect.any() else None
        if len(texts) == 1:
            return _Json(None, texts[0], flags)
        return _Json(np.array(texts, dtype=object)[indices].tolist(), flags=flags)
    values = array.fill_null("").to_pylist() if array.null_count else array.to_pylist()
    blob = orjson.dumps(values)
    flags = None
    if may_hold_card_number(blob):
        flags = np.fromiter((may_hold_card_number(orjson.dumps(v)) for v in values), dtype=np.bool_, count=len(values))
    if not array.null_count:
        # JSON escapes every quote inside a string, so '","' occurs only between two strings of the list.
        return _Json(blob.decode()[2:-2].split('","'), flags=flags, before='"', after='"')
    texts = blob.decode()[1:-1].replace('","', '"\x00"').split("\x00")
    for k in np.flatnonzero(np.asarray(array.is_null())).tolist():
        texts[k] = "null"
    return _Json(texts, flags=flags)


def _number_json(array: pa.Array) -> _Json:
    numbers = np.asarray(array.fill_null(0) if array.null_count else array)
    if numbers.dtype.kind == "f":
        numbers = numbers.astype(np.float64, copy=False)
    texts = orjson.dumps(numbers, option=orjson.OPT_SERIALIZE_NUMPY).decode()[1:-1].split(",")
    if array.null_count:
        for k in np.flatnonzero(np.asarray(array.is_null())).tolist():
            texts[k] = "null"
    large = np.flatnonzero(np.abs(numbers) >= _CARD_SIZED).tolist()
    flags = None
    if large:
        flags = np.zeros(len(texts), dtype=np.bool_)
        for k in large:
            flags[k] = may_hold_card_number(texts[k].encode())
    return _Json(texts, flags=flags)


def _time_json(array: pa.Array) -> _Json:
    """Times as ``orjson`` writes an aware UTC datetime: microseconds left out when there are none."""
    moments = np.asarray(array.cast(pa.int64())).astype("datetime64[us]")
    with_micros = np.datetime_as_string(moments, unit="us")
    whole = np.datetime_as_string(moments.astype("datetime64[s]"), unit="s")
    texts = np.where(moments.astype(np.int64) % 1_000_000 == 0, whole, with_micros)
    return _Json(texts.tolist(), before='"', after='+00:00"')


def _list_json(array: pa.ListArray) -> _Json:
    """Each row's list: its items' JSON (laid out like rows) joined by commas, within brackets."""
    n = len(array)
    offsets = np.asarray(array.offsets)
    if offsets[-1] == offsets[0]:
        return _Json(None, "[]")
    items = _Layout.empty(int(offsets[-1] - offsets[0]))
    items.add(array.flatten())
    lengths = np.diff(offsets)
    # The items in order, each followed by a comma, or by a row's end after the last of its row.
    ends = [","] * items.count
    for end in (np.cumsum(lengths)[lengths > 0] - 1).tolist():
        ends[end] = _END
    joined = items.rows(ends)
    if len(joined) == n:
        out = joined
    else:
        out = [""] * n
        for row, text in zip(np.flatnonzero(lengths).tolist(), joined, strict=True):
            out[row] = text
    flags = None
    if items.flags.any():
        parents = np.asarray(pc.list_parent_indices(array))
        flags = np.zeros(n, dtype=np.bool_)
        flags[parents[items.flags]] = True
    return _Json(out, flags=flags, before="[", after="]")


def _check_finite(batch: DecisionBatch) -> None:
    """:class:`AuditError` for the first row holding a non-finite number: the one its event raises."""
    table = batch.table
    bad = ~np.isfinite(np.asarray(table.column("score")))
    for column in _float_columns(table):
        bad |= ~np.isfinite(column)
    reasons = table.column("reasons").combine_chunks()
    contributions = np.asarray(reasons.flatten().field("contribution"))
    if not np.isfinite(contributions).all():
        parents = np.asarray(pc.list_parent_indices(reasons))
        bad[parents[~np.isfinite(contributions)]] = True
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        _row_event(batch, _pylists(batch), k)  # raises the event's own error
        raise AuditError(f"decision {table.column('decision_id')[k]}: a number is not finite")


def _float_columns(table: pa.Table) -> list[npt.NDArray[np.float64]]:
    out = []
    for name in ("input", "features"):
        struct = table.column(name).combine_chunks()
        for position, field in enumerate(struct.type):
            if pa.types.is_floating(field.type):
                child = struct.field(position)
                out.append(np.asarray(child.fill_null(0.0) if child.null_count else child))
    return out
