"""Bringing the feature state to the committed batches: the journal replay, on start and on every assignment.

For each partition the worker takes over, the group's committed offset says how far outputs exist, and the
state's position how far the state got. When the state is behind (a crash between the Kafka commit and the
state commit, an embedded state restored from a snapshot taken before its last batches, a partition coming
back from another worker), the journal lists the batches in between: each is replayed (its inputs read back by
offset, its labels too, planned and scored exactly as it was, the results thrown away), and the state commits
with the positions it reached, so the features of later transactions are those of a run without the crash.

A replay of a record spanning several partitions replays the parts of the partitions being recovered. With the
shared Redis store, two workers that could both find one batch unapplied watch its positions: the second one
to commit sees the first one's positions, and skips it.

An offset committed without a worker's journal metadata (a group placed at the end by a tool, a reset) has no
batches to replay: the state starts there as it is (``cold`` partitions).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from features import StateConflictError
from ingest.kafka import Partition, RangeReader, micro_batch
from scoring_api.worker.errors import RecoveryError
from scoring_api.worker.journal import JournalReader, JournalRecord, parse_commit_metadata
from scoring_api.worker.labels import LabelQueue
from scoring_api.worker.plan import plan_batch
from scoring_api.worker.process import process_plan
from scoring_api.worker.scoring import RowScorer
from scoring_api.worker.state import WorkerState, journal_name, position_name

log = logging.getLogger("fraud.worker.recovery")

#: Attempts at replaying one record when another worker keeps committing the same positions (Redis).
MAX_REPLAY_ATTEMPTS = 10


@dataclass
class RecoveryReport:
    """What a recovery did: records and rows replayed, partitions started cold or left with a gap."""

    records: int = 0
    rows: int = 0
    seconds: float = 0.0
    cold: list[Partition] = field(default_factory=list)
    missing: list[Partition] = field(default_factory=list)


class Recovery:
    """Replays the journal for the partitions a worker takes over (see the module docstring)."""

    def __init__(self, bootstrap_servers: str, journal_topic: str, labels_topic: str, client_id: str,
                 timeout_s: float) -> None:  # fmt: skip
        self.bootstrap_servers = bootstrap_servers
        self.journal_topic = journal_topic
        self.labels_topic = labels_topic
        self.client_id = client_id
        self.timeout_s = timeout_s

    def recover(
        self,
        state: WorkerState,
        scorer: Callable[[], RowScorer],
        committed: Mapping[Partition, tuple[int, str] | None],
    ) -> RecoveryReport:
        """Bring ``state`` to the committed offsets of these partitions (``committed``: offset and metadata)."""
        began = time.monotonic()
        report = RecoveryReport()
        positions = state.positions()
        behind: dict[Partition, int] = {}  # partition -> committed offset the state must reach
        applied: dict[Partition, int] = {}
        for partition, commit in committed.items():
            if commit is None:
                continue
            offset, metadata = commit
            at = positions.get(position_name(partition))
            if at is not None and at >= offset:
                continue
            if parse_commit_metadata(metadata) is None:
                report.cold.append(partition)
                continue
            behind[partition] = offset
            applied[partition] = -1 if at is None else at
        if not behind:
            return report
        start = min(positions.get(journal_name(p), -1) + 1 for p in behind)
        reader = JournalReader(self.bootstrap_servers, self.journal_topic, f"{self.client_id}-journal")
        ranges = RangeReader(self.bootstrap_servers, f"{self.client_id}-replay", self.timeout_s)
        try:
            done = lambda: all(applied[p] >= offset for p, offset in behind.items())  # noqa: E731
            for record in reader.records(start, done, self.timeout_s):
                parts = {
                    p: (max(first, applied[p]), end)
                    for p, (first, end) in record.inputs.items()
                    if p in behind and end > applied[p]
                }
                if parts:
                    report.rows += self._replay(state, scorer(), record, parts, ranges)
                    report.records += 1
                    applied.update({p: end for p, (_, end) in parts.items()})
        finally:
            reader.close()
            ranges.close()
        report.missing = [p for p, offset in behind.items() if applied[p] < offset]
        report.seconds = time.monotonic() - began
        return report

    def _replay(
        self,
        state: WorkerState,
        scorer: RowScorer,
        record: JournalRecord,
        parts: dict[Partition, tuple[int, int]],
        ranges: RangeReader,
    ) -> int:
        from kafka import TopicPartition

        names = [position_name(p) for p in parts]
        for _ in range(MAX_REPLAY_ATTEMPTS):
            state.begin(watch=names)
            now = state.positions()
            if all(now.get(position_name(p), -1) >= end for p, (_, end) in parts.items()):
                state.release()  # another worker replayed it meanwhile
                return 0
            polled = {
                TopicPartition(topic, partition): ranges.read(topic, partition, first, end)
                for (topic, partition), (first, end) in parts.items()
            }
            batch = micro_batch(polled)
            queues: dict[int, LabelQueue] = {}
            label_positions: dict[str, int] = {}
            for (topic, partition), (first, end) in record.labels.items():
                if (self._transactions_topic(parts), partition) not in parts:
                    continue
                queue = LabelQueue(partition, first)
                queue.extend(ranges.read(topic, partition, first, end), topic, end)
                queues[partition] = queue
                label_positions[position_name((topic, partition))] = end
            plan = plan_batch(batch.frame, queues)
            left = {p: len(q) for p, q in queues.items() if len(q)}
            if left:
                raise RecoveryError(
                    f"replaying journal record {record.offset} ({record.worker}:{record.seq}) left labels of "
                    f"partitions {left} unapplied: the inputs read back differ from those the batch had"
                )
            process_plan(plan, scorer)
            positions = {position_name(p): end for p, (_, end) in parts.items()}
            positions.update({journal_name(p): record.offset for p in parts})
            positions.update(label_positions)
            try:
                state.commit(positions)
            except StateConflictError:
                state.abort()
                continue
            log.info(
                "journal record replayed",
                extra={"record": record.offset, "batch": f"{record.worker}:{record.seq}", "rows": batch.size},
            )
            return batch.size
        raise RecoveryError(f"journal record {record.offset} kept conflicting with other workers; retry later")

    @staticmethod
    def _transactions_topic(parts: dict[Partition, tuple[int, int]]) -> str:
        return next(iter(parts))[0]
