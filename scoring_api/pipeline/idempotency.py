"""The decisions already taken, by transaction id: a transaction scored again gets its recorded decision back
and is not counted a second time in the online features.

The scorer *claims* the ids of a batch before computing features: an id seen before with the same content is
answered with its recorded decision; with other content it is refused (an id names one transaction); an id
that another request is scoring right now is refused with "retry"; a new id is marked pending, and the scorer
then records its decision (or releases it when the batch fails, so that a retry scores it).

The content of a transaction is compared by fingerprint: a hash of its contract fields in one canonical form,
identical for a transaction that arrives alone and one that arrives in a batch.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from scoring_api.records import Decision

#: The fields a fingerprint covers, in order (the contract's, as canonical text).
FINGERPRINT_FIELDS: Final = (
    "transaction_id", "timestamp_us", "card_token", "customer_id", "terminal_id", "amount",
    "currency", "mcc", "channel", "entry_mode", "country", "device_id",
)  # fmt: skip


def fingerprint(values: Sequence[object]) -> str:
    """The fingerprint of one transaction's :data:`FINGERPRINT_FIELDS` values (timestamp as integer
    microseconds, amount as a float, codes as their text)."""
    return _digest(canonical(v) for v in values)


def canonical(value: object) -> str:
    """A fingerprinted value's canonical text: a float's ``repr`` (shortest round trip), anything else's ``str``."""
    return repr(value) if isinstance(value, float) else str(value)


def fingerprints(columns: Sequence[Sequence[str] | pa.Array]) -> list[str]:
    """:func:`fingerprint` of many transactions at once, from their fields' :func:`canonical` texts given column
    by column (in :data:`FINGERPRINT_FIELDS` order), as lists or Arrow text arrays.

    Arrow joins the fields of every row at once and hands over each row's bytes; only the hash is per row
    (half the time of joining and encoding each row in Python: 2.1 -> 1.2 ms for 1,000 transactions)."""
    arrays = [
        column.cast(pa.large_string()) if isinstance(column, pa.Array) else pa.array(column, type=pa.large_string())
        for column in columns
    ]
    separator = pa.scalar(_SEPARATOR, type=pa.large_string())
    joined = pc.binary_join_element_wise(*arrays, separator).cast(pa.large_binary()).to_pylist()
    blake2b = hashlib.blake2b
    return [blake2b(row, digest_size=16).hexdigest() for row in joined]


_SEPARATOR: Final = "\x1f"


def _digest(texts: Iterable[str]) -> str:
    return hashlib.blake2b(_SEPARATOR.join(texts).encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Refused:
    """An id that cannot be scored now: why."""

    reason: str


#: What a claim gives per id: None (new: score it, then record or release), the recorded decision, or a refusal.
Claim = Decision | Refused | None


class DecisionLog(Protocol):
    """Decisions by transaction id, for idempotent scoring (embedded, or shared by several workers)."""

    def claim(self, transaction_ids: Sequence[str], fingerprints: Sequence[str]) -> list[Claim]: ...

    def record(self, decisions: Sequence[Decision], fingerprints: Sequence[str]) -> None: ...

    def release(self, transaction_ids: Sequence[str]) -> None: ...

    def get(self, transaction_id: str) -> Decision | None: ...


_PENDING: Final = object()


def content_differs(transaction_id: str) -> Refused:
    return Refused(
        f"transaction {transaction_id} was already scored with other content; a transaction id names one "
        "transaction: send the same content again to get its decision, or use a new id"
    )


def in_progress(transaction_id: str) -> Refused:
    return Refused(f"transaction {transaction_id} is being scored by a concurrent request; retry shortly")


class InMemoryDecisionLog:
    """The embedded log: the latest ``capacity`` decisions in this process (the oldest are forgotten first)."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._entries: OrderedDict[str, tuple[str, object]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def claim(self, transaction_ids: Sequence[str], fingerprints: Sequence[str]) -> list[Claim]:
        out: list[Claim] = []
        with self._lock:
            for tid, fp in zip(transaction_ids, fingerprints, strict=True):
                entry = self._entries.get(tid)
                if entry is None:
                    self._entries[tid] = (fp, _PENDING)
                    out.append(None)
                elif entry[0] != fp:
                    out.append(content_differs(tid))
                elif entry[1] is _PENDING:
                    out.append(in_progress(tid))
                else:
                    assert isinstance(entry[1], Decision)
                    out.append(entry[1])
            self._evict()
        return out

    def record(self, decisions: Sequence[Decision], fingerprints: Sequence[str]) -> None:
        with self._lock:
            for decision, fp in zip(decisions, fingerprints, strict=True):
                self._entries[decision.transaction_id] = (fp, decision)
            self._evict()

    def release(self, transaction_ids: Sequence[str]) -> None:
        with self._lock:
            for tid in transaction_ids:
                entry = self._entries.get(tid)
                if entry is not None and entry[1] is _PENDING:
                    del self._entries[tid]

    def get(self, transaction_id: str) -> Decision | None:
        """The recorded decision of a transaction id (None when unknown or still being scored)."""
        entry = self._entries.get(transaction_id)
        return entry[1] if entry is not None and isinstance(entry[1], Decision) else None

    def _evict(self) -> None:
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
