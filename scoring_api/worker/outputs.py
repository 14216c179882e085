"""What one micro-batch writes in its Kafka transaction: decisions, dead letters, and its journal record."""

from __future__ import annotations

from dataclasses import dataclass

from features.frames import timestamps_us
from ingest.kafka import DeadLetter, MicroBatch, dead_letter
from scoring_api.worker.decisions import encode_decisions
from scoring_api.worker.plan import BatchPlan
from scoring_api.worker.process import ProcessedBatch


@dataclass
class BatchOutputs:
    """The records of one batch, ready to send."""

    decisions: list[tuple[bytes, bytes]]
    dead_letters: list[DeadLetter]
    #: How many dead letters come from each source: undecodable messages, rows the checker refused, labels.
    undecodable: int
    refused: int
    bad_labels: int

    def decision_columns(self) -> tuple[list[bytes], list[bytes]]:
        """The decisions' keys and values, as two lists (what a batch send takes)."""
        return [key for key, _ in self.decisions], [value for _, value in self.decisions]


def batch_outputs(batch: MicroBatch, plan: BatchPlan, processed: ProcessedBatch, max_value_bytes: int) -> BatchOutputs:
    """Decisions keyed by transaction id (with each one's time and source message), and every rejected message of
    the batch as a dead letter: undecodable ones, rows the pipeline refused, labels that could not be decoded."""
    decided = processed.scored.decided
    rows = plan.rows.iloc[[row for row, _ in decided]]
    sources = [
        f"{batch.topic}/{partition}/{offset}"
        for partition, offset in zip(rows["kafka_partition"].tolist(), rows["kafka_offset"].tolist(), strict=True)
    ]
    times = timestamps_us(rows["timestamp"]).tolist() if len(rows) else []
    encoded = encode_decisions([d for _, d in decided], times, sources)
    refused = batch.rejected_rows(plan.rows.iloc[processed.scored.refused], processed.scored.reasons)
    rejected = [*batch.rejected, *refused, *plan.label_dead_letters]
    letters = [dead_letter(message, max_value_bytes) for message in rejected]
    return BatchOutputs(encoded, letters, len(batch.rejected), len(refused), len(plan.label_dead_letters))
