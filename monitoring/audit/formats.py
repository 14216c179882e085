"""The export formats of audit records: JSON lines, CSV and Parquet, written and read back one record at a time.

Every format holds the stored columns unchanged (the payload as the exact JSON text that was hashed), so that
each exported record still recomputes to its hash. In CSV an empty ``actor`` or ``card_token`` is a missing
one (the log never stores an empty string there). Parquet is written a row group at a time and read back a
batch at a time: neither side holds a whole export in memory.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Final, Literal, Protocol

import orjson

from monitoring.audit.errors import AuditError, ExportError
from monitoring.audit.records import COLUMNS, AuditRecord
from monitoring.audit.segments import record_from_json

Format = Literal["jsonl", "csv", "parquet"]
FORMATS: Final[tuple[Format, ...]] = ("jsonl", "csv", "parquet")
#: Rows per Parquet row group (and per batch read back): about 20 MB of decision records in memory.
PARQUET_ROWS: Final = 10_000
_NULLABLE: Final = ("actor", "card_token")


def file_name(fmt: Format) -> str:
    return f"records.{fmt}"


def parse_formats(text: str) -> tuple[Format, ...]:
    """``"jsonl,csv"`` -> ``("jsonl", "csv")``; an unknown format is an error naming the known ones."""
    names = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise ExportError(f"unknown export formats {unknown or '(none given)'}; choose from {', '.join(FORMATS)}")
    return tuple(n for n in FORMATS if n in names)


class RecordWriter(Protocol):
    def write(self, record: AuditRecord) -> None: ...
    def close(self) -> None: ...


class JsonLinesWriter:
    def __init__(self, path: Path) -> None:
        self._stream = path.open("xb")

    def write(self, record: AuditRecord) -> None:
        self._stream.write(orjson.dumps(record.as_dict()) + b"\n")

    def close(self) -> None:
        self._stream.close()


class CsvWriter:
    def __init__(self, path: Path) -> None:
        self._stream: IO[str] = path.open("x", newline="", encoding="utf-8")
        self._csv = csv.writer(self._stream)
        self._csv.writerow(COLUMNS)

    def write(self, record: AuditRecord) -> None:
        self._csv.writerow(record.row())

    def close(self) -> None:
        self._stream.close()


class ParquetWriter:
    def __init__(self, path: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        self._schema = pa.schema(
            [(name, pa.int64() if name == "seq" else pa.string(), name in _NULLABLE) for name in COLUMNS]
        )
        self._path = path
        if path.exists():
            raise ExportError(f"{path} already exists")
        self._writer = pq.ParquetWriter(path, self._schema, compression="zstd")
        self._rows: list[tuple[Any, ...]] = []

    def write(self, record: AuditRecord) -> None:
        self._rows.append(record.row())
        if len(self._rows) >= PARQUET_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            columns = list(zip(*self._rows, strict=True))
            self._writer.write_table(self._pa.Table.from_arrays(columns, schema=self._schema))
            self._rows = []

    def close(self) -> None:
        self._flush()
        self._writer.close()


def open_writer(fmt: Format, path: Path) -> RecordWriter:
    """A writer of ``fmt`` records into a new file ``path``."""
    if fmt == "jsonl":
        return JsonLinesWriter(path)
    if fmt == "csv":
        return CsvWriter(path)
    return ParquetWriter(path)


def read_records(path: Path, fmt: Format) -> Iterator[AuditRecord]:
    """The records of an exported file, one at a time; a malformed file raises :class:`AuditError` naming where."""
    if fmt == "jsonl":
        with path.open("rb") as stream:
            for number, line in enumerate(stream, start=1):
                yield record_from_json(line, f"{path.name} line {number}")
    elif fmt == "csv":
        yield from _read_csv(path)
    else:
        yield from _read_parquet(path)


def _read_csv(path: Path) -> Iterator[AuditRecord]:
    with path.open(newline="", encoding="utf-8") as stream:
        rows = csv.reader(stream)
        if tuple(next(rows, ())) != COLUMNS:
            raise AuditError(f"{path.name} does not start with the audit columns {', '.join(COLUMNS)}")
        for number, row in enumerate(rows, start=2):
            if len(row) != len(COLUMNS):
                raise AuditError(f"{path.name} line {number} has {len(row)} columns, not {len(COLUMNS)}")
            values: list[Any] = [
                None if (name in _NULLABLE and value == "") else value for name, value in zip(COLUMNS, row, strict=True)
            ]
            try:
                yield AuditRecord.from_row(tuple(values))
            except ValueError as error:
                raise AuditError(f"{path.name} line {number} is not an audit record: {error}") from None


def _read_parquet(path: Path) -> Iterator[AuditRecord]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        if tuple(parquet.schema_arrow.names) != COLUMNS:
            raise AuditError(f"{path.name} does not hold the audit columns {', '.join(COLUMNS)}")
        for batch in parquet.iter_batches(batch_size=PARQUET_ROWS):
            columns = [batch.column(i).to_pylist() for i in range(len(COLUMNS))]
            for row in zip(*columns, strict=True):
                yield AuditRecord.from_row(row)
    except (OSError, ValueError) as error:  # pyarrow's errors derive from these
        raise AuditError(f"{path.name} is not a readable Parquet file: {error}") from None
