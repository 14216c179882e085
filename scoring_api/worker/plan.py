"""The processing plan of a micro-batch: its rows in event-time order, and the labels due among them.

Rows are processed by transaction time (ties by partition, then offset), so that within a batch every
transaction sees the ones before it in time whichever partition they came from. The labels of a partition are
due in a batch when a row of that partition reaches their report time (:mod:`scoring_api.worker.labels`); the
online engine applies each right before the first row at or after its report time
(:meth:`~features.OnlineFeatureEngine.schedule_labels`). Planning a batch from the same rows and the same label
queues always gives the same plan: the live batch and its replay after a crash are processed identically.

>>> import pandas as pd
>>> rows = pd.DataFrame({"timestamp": pd.to_datetime([30, 10, 20], unit="s", utc=True),
...                      "kafka_partition": [0, 0, 1], "kafka_offset": [5, 3, 9]})
>>> plan_batch(rows, {}).rows["kafka_offset"].tolist()
[3, 9, 5]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.frames import timestamps_us
from ingest.kafka import RejectedMessage
from scoring_api.worker.labels import LabelQueue, no_labels


@dataclass
class BatchPlan:
    """Rows in processing order, and the labels due among them (:data:`~scoring_api.worker.labels.LABEL_COLUMNS`)."""

    rows: pd.DataFrame
    labels: pd.DataFrame
    #: Label offsets consumed per labels partition, ``[first, next)`` (applied, or dead-lettered).
    label_ranges: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: Label messages that could not be decoded, reached in order: for the dead-letter topic.
    label_dead_letters: list[RejectedMessage] = field(default_factory=list)


def plan_batch(frame: pd.DataFrame, queues: dict[int, LabelQueue]) -> BatchPlan:
    """Order ``frame``'s rows (contract columns plus ``kafka_partition`` and ``kafka_offset``) and take from
    ``queues`` (by partition; consumed in place) the labels due among them."""
    times = timestamps_us(frame["timestamp"])
    partitions = frame["kafka_partition"].to_numpy()
    order = np.lexsort((frame["kafka_offset"].to_numpy(), partitions, times))
    rows = frame.iloc[order].reset_index(drop=True)
    times, partitions = times[order], partitions[order]
    taken: list[pd.DataFrame] = []
    plan = BatchPlan(rows=rows, labels=no_labels())
    for partition in sorted(set(partitions.tolist()) & set(queues)):
        queue = queues[partition]
        first = queue.position
        due = queue.take_due(times[partitions == partition])
        plan.label_dead_letters.extend(due.dead_letters)
        if len(due.labels):
            taken.append(due.labels)
        if queue.position > first:
            plan.label_ranges[partition] = (first, queue.position)
    if taken:
        plan.labels = pd.concat(taken, ignore_index=True)
    return plan
