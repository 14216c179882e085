"""The topics of the system and their idempotent creation.

``transactions`` (keyed by card token), ``labels`` (late fraud labels, keyed by card token), ``scores`` (the
scoring service's decisions) and ``transactions.dlq`` (messages that failed decoding, with the reason in a
header). Names and the partition count come from :class:`~ingest.settings.IngestSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ingest.kafka.errors import TopicSetupError
from ingest.settings import IngestSettings


@dataclass(frozen=True)
class TopicSpec:
    """A topic to create: name, partition count, replication and topic-level configs (``retention.ms``...)."""

    name: str
    partitions: int
    replication_factor: int = 1
    configs: dict[str, str] = field(default_factory=dict)


def system_topics(settings: IngestSettings) -> list[TopicSpec]:
    """The four topics of the system, partitioned as the settings say."""
    partitions = settings.topic_partitions
    return [
        TopicSpec(settings.topic_transactions, partitions),
        TopicSpec(settings.topic_labels, partitions),
        TopicSpec(settings.topic_scores, partitions),
        # Dead letters are few and read by people: one partition keeps them in arrival order.
        TopicSpec(settings.topic_dead_letters, 1),
    ]


def ensure_topics(bootstrap_servers: str, topics: list[TopicSpec], timeout_s: float = 30.0) -> list[str]:
    """Create the topics that do not exist yet and wait until every partition has a leader.

    Idempotent: existing topics are left as they are. Returns the names that were created.
    """
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    timeout_ms = int(timeout_s * 1000)
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, bootstrap_timeout_ms=timeout_ms)
    except KafkaError as exc:
        raise TopicSetupError(
            f"cannot reach Kafka at {bootstrap_servers} ({exc}); start it with `fraud kafka start`"
        ) from exc
    try:
        existing = set(admin.list_topics())
        wanted = [t for t in topics if t.name not in existing]
        if wanted:
            request = {
                t.name: {
                    "num_partitions": t.partitions,
                    "replication_factor": t.replication_factor,
                    "configs": dict(t.configs),
                }
                for t in wanted
            }
            response = admin.create_topics(request, timeout_ms=timeout_ms, raise_errors=False)
            _raise_for_failures(response)
        admin.wait_for_topics([t.name for t in topics], timeout_ms=timeout_ms)
    except KafkaError as exc:
        raise TopicSetupError(f"setting up topics {[t.name for t in topics]} failed: {exc}") from exc
    finally:
        admin.close()
    return [t.name for t in wanted]


def _raise_for_failures(response: dict[str, Any]) -> None:
    from kafka.errors import TopicAlreadyExistsError, for_code

    problems = []
    for topic in response.get("topics", []):
        error = for_code(topic["error_code"])
        # Another client may have created it between our listing and our request: that is success.
        if topic["error_code"] != 0 and error is not TopicAlreadyExistsError:
            problems.append(f"{topic['name']}: {error.__name__} {topic.get('error_message') or ''}".strip())
    if problems:
        raise TopicSetupError("the broker refused to create topics: " + "; ".join(problems))
