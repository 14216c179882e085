"""Placing a consumer group's committed offsets, so that a new group reads only what is produced from now on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ingest.kafka.errors import ConsumeError


def start_group_at_end(bootstrap_servers: str, group_id: str, topics: Sequence[str]) -> dict[tuple[str, int], int]:
    """Commit the current end of every partition of ``topics`` as ``group_id``'s position; return those offsets.

    Members that then join the group start exactly there: nothing produced afterwards is skipped (as it could be
    with ``auto_offset_reset='latest'``, which resolves the position only at the first fetch), and nothing older is
    read. Only for a group with no active members.
    """
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError
    from kafka.structs import OffsetAndMetadata

    try:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=group_id, enable_auto_commit=False)
    except KafkaError as exc:
        raise ConsumeError(
            f"cannot reach Kafka at {bootstrap_servers} ({exc}); start it with `fraud kafka start`"
        ) from exc
    try:
        partitions: list[Any] = []
        for topic in topics:
            ids = consumer.partitions_for_topic(topic)
            if not ids:
                raise ConsumeError(f"topic {topic!r} does not exist; create it first (ingest.kafka.ensure_topics)")
            partitions.extend(TopicPartition(topic, p) for p in sorted(ids))
        consumer.assign(partitions)
        ends = consumer.end_offsets(partitions)
        consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in ends.items()})
    except KafkaError as exc:
        raise ConsumeError(f"placing group {group_id!r} at the end of {list(topics)} failed: {exc}") from exc
    finally:
        consumer.close(autocommit=False)
    return {(tp.topic, tp.partition): int(offset) for tp, offset in ends.items()}
