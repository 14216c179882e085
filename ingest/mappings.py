"""Column mappings: external datasets mapped onto the transaction contract.

A mapping renames source columns to contract columns, derives what the source lacks (the handbook has one
card per customer, so the card token is the customer id) and carries the label columns along under their
contract names (``is_fraud``, ``fraud_scenario``).

>>> import pandas as pd
>>> raw = pd.DataFrame({"TRANSACTION_ID": [0], "TX_DATETIME": [pd.Timestamp("2018-04-01 00:00:31")],
...                     "CUSTOMER_ID": [596], "TERMINAL_ID": [3156], "TX_AMOUNT": [57.16], "TX_FRAUD": [0],
...                     "TX_FRAUD_SCENARIO": [0]})
>>> frame = apply_mapping(raw, HANDBOOK_MAPPING)
>>> frame.loc[0, "card_token"], float(frame.loc[0, "amount"]), str(frame["timestamp"].dtype)
('596', 57.16, 'datetime64[us, UTC]')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from ingest.contract import OPTIONAL_DEFAULTS, REQUIRED_COLUMNS, TRANSACTION_COLUMNS
from ingest.errors import IngestError

#: Columns that travel beside the contract in training data: the label and, for simulated or public data,
#: the scenario that produced it (never a model input).
LABEL_COLUMNS: Final[tuple[str, ...]] = ("is_fraud", "fraud_scenario")


class MappingError(IngestError, ValueError):
    """A source does not have the columns its mapping needs."""


@dataclass(frozen=True)
class ColumnMapping:
    """How one external source maps onto the contract.

    ``renames`` maps a source column to one or more contract or label columns (a source column may feed
    several: the handbook's CUSTOMER_ID is both the customer and the card); every required contract column
    must be fed. ``id_columns`` are cast to strings.
    """

    name: str
    renames: dict[str, tuple[str, ...]]
    id_columns: tuple[str, ...] = ("transaction_id", "card_token", "customer_id", "terminal_id")
    timestamp_timezone: str = "UTC"
    keep_source_columns: bool = False

    def __post_init__(self) -> None:
        targets = [target for group in self.renames.values() for target in group]
        known = {*TRANSACTION_COLUMNS, *LABEL_COLUMNS}
        unknown = sorted(set(targets) - known)
        if unknown:
            raise MappingError(
                f"the {self.name} mapping renames onto unknown columns {unknown}; "
                f"targets are the contract's columns {list(TRANSACTION_COLUMNS)} and {list(LABEL_COLUMNS)}"
            )
        unfed = [column for column in REQUIRED_COLUMNS if column not in targets]
        if unfed:
            raise MappingError(f"the {self.name} mapping feeds no source column into required columns {unfed}")
        repeated = sorted({target for target in targets if targets.count(target) > 1})
        if repeated:
            raise MappingError(f"the {self.name} mapping feeds several source columns into {repeated}")
        odd_ids = sorted(set(self.id_columns) - set(TRANSACTION_COLUMNS))
        if odd_ids:
            raise MappingError(f"the {self.name} mapping's id_columns {odd_ids} are not contract columns")


HANDBOOK_MAPPING: Final = ColumnMapping(
    name="handbook",
    renames={
        "TRANSACTION_ID": ("transaction_id",),
        "TX_DATETIME": ("timestamp",),
        "CUSTOMER_ID": ("customer_id", "card_token"),
        "TERMINAL_ID": ("terminal_id",),
        "TX_AMOUNT": ("amount",),
        "TX_FRAUD": ("is_fraud",),
        "TX_FRAUD_SCENARIO": ("fraud_scenario",),
    },
)

MAPPINGS: Final[dict[str, ColumnMapping]] = {HANDBOOK_MAPPING.name: HANDBOOK_MAPPING}


def get_mapping(name: str) -> ColumnMapping:
    """The registered mapping called ``name``."""
    try:
        return MAPPINGS[name]
    except KeyError:
        raise MappingError(f"unknown column mapping {name!r}; known mappings: {sorted(MAPPINGS)}") from None


def apply_mapping(source: pd.DataFrame, mapping: ColumnMapping | str) -> pd.DataFrame:
    """Return a DataFrame in contract columns (plus label columns when the source has them).

    Source columns not named by the mapping are dropped unless ``keep_source_columns`` is set, in which case
    they are kept after the contract columns under their original names.
    """
    if isinstance(mapping, str):
        mapping = get_mapping(mapping)
    missing = [column for column in mapping.renames if column not in source.columns]
    required_sources = [
        column for column in missing if any(target in REQUIRED_COLUMNS for target in mapping.renames[column])
    ]
    if required_sources:
        raise MappingError(
            f"the {mapping.name} mapping needs source columns {required_sources}; the source has {list(source.columns)}"
        )
    out = pd.DataFrame(index=source.index)
    for source_column, targets in mapping.renames.items():
        if source_column not in source.columns:
            continue
        for target in targets:
            out[target] = source[source_column]
    for column in mapping.id_columns:
        if column in out.columns:
            out[column] = _ids_as_text(out[column], column)
    try:
        out["timestamp"] = _to_utc(out["timestamp"], mapping.timestamp_timezone)
    except (ValueError, TypeError) as error:
        raise MappingError(f"the {mapping.name} mapping cannot read the timestamps as times: {error}") from error
    try:
        out["amount"] = out["amount"].astype("float64")
    except (ValueError, TypeError) as error:
        raise MappingError(
            f"the {mapping.name} mapping cannot read the amounts as numbers ({error}); use a dot for decimals"
        ) from error
    for column, default in OPTIONAL_DEFAULTS.items():
        if column not in out.columns:
            out[column] = default
    if "is_fraud" in out.columns:
        out["is_fraud"] = _fraud_flags(out["is_fraud"])
    if "fraud_scenario" in out.columns:
        out["fraud_scenario"] = _scenario_ids(out["fraud_scenario"])
    ordered = [*TRANSACTION_COLUMNS, *(c for c in LABEL_COLUMNS if c in out.columns)]
    out = out[ordered]
    if mapping.keep_source_columns:
        kept = [c for c in source.columns if c not in mapping.renames and c not in out.columns]
        out = pd.concat([out, source[kept]], axis=1)
    return out


def _to_utc(values: pd.Series, timezone: str) -> pd.Series:
    stamps = pd.to_datetime(values)
    if stamps.dt.tz is None:
        stamps = stamps.dt.tz_localize(timezone)
    return stamps.dt.tz_convert("UTC").astype("datetime64[us, UTC]")


def _ids_as_text(values: pd.Series, column: str) -> pd.Series:
    """Ids as text; whole numbers stored as floats (a column with gaps, read from CSV) lose their ``.0``, so
    that customer 596 is ``"596"`` whichever way the source stored it. Missing ids stay missing (validation
    refuses them)."""
    if pd.api.types.is_float_dtype(values.dtype):
        present = values.dropna()
        if not (present == present.round()).all():
            raise MappingError(f"{column} holds fractional numbers; ids must be whole numbers or text")
        values = values.astype("Int64")
    return values.astype(str)


def _fraud_flags(values: pd.Series) -> pd.Series:
    """The fraud label as booleans: only True/False or 0/1 are labels; anything else (a missing label, a 2)
    would silently become True."""
    if not pd.api.types.is_bool_dtype(values.dtype):
        bad = ~values.isin([0, 1])
        if bad.any():
            raise MappingError(
                f"is_fraud must be 0/1 or True/False; {int(bad.sum())} of {len(values)} rows are not "
                f"(first at row {values.index[bad.to_numpy()][0]!r}): fix or drop them before mapping"
            )
    return values.astype(bool)


def _scenario_ids(values: pd.Series) -> pd.Series:
    """Fraud scenario ids as int8, refusing missing or out-of-range values (a cast would wrap them)."""
    info = np.iinfo(np.int8)
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() | (numeric != numeric.round()) | (numeric < 0) | (numeric > info.max)
    if bad.any():
        raise MappingError(
            f"fraud_scenario must be a whole number from 0 to {info.max}; {int(bad.sum())} of {len(values)} "
            f"rows are not (first at row {values.index[bad.to_numpy()][0]!r})"
        )
    return numeric.astype("int8")
