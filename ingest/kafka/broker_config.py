"""What a local single-node Kafka broker needs to run: its folders, ports, server.properties and java command.

The broker is Apache Kafka's own server (Maven Central jars fetched by ``infra/kafka/fetch-jars.sh``) run as a
plain ``java`` process: one combined KRaft node, broker and controller, listening on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import shutil
import string
import uuid
from dataclasses import dataclass
from pathlib import Path

from ingest.kafka.errors import BrokerError
from ingest.settings import IngestSettings

HOST = "127.0.0.1"
#: The log line by which Kafka's KafkaRaftServer says it is up.
READY_LINE = "Kafka Server started"


@dataclass(frozen=True)
class BrokerConfig:
    """Where the broker's jars and templates are (``home``), where it runs (``run_dir``) and on which ports."""

    home: Path
    run_dir: Path
    port: int = 9092
    controller_port: int = 9093
    partitions: int = 6
    heap_mb: int = 512
    start_timeout_s: float = 90.0
    stop_timeout_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> BrokerConfig:
        home = settings.kafka_home
        return cls(
            home=home,
            run_dir=settings.kafka_run_dir or home / "run",
            port=settings.kafka_port,
            controller_port=settings.kafka_controller_port,
            partitions=settings.topic_partitions,
            start_timeout_s=settings.kafka_start_timeout_s,
        )

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def lib_dir(self) -> Path:
        return self.home / "lib"

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.run_dir / "broker.log"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "broker.pid"

    @property
    def state_file(self) -> Path:
        return self.run_dir / "broker.json"

    @property
    def properties_file(self) -> Path:
        return self.run_dir / "server.properties"


def new_cluster_id() -> str:
    """A KRaft cluster id: 22 characters, the URL-safe base64 of a random UUID without padding.

    Like Kafka's own ``Uuid.randomUuid``, ids starting with ``-`` are drawn again: a command line would read
    them as an option.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def render_server_properties(config: BrokerConfig) -> str:
    """server.properties for ``config``, from ``home/server.properties.template``."""
    template_path = config.home / "server.properties.template"
    if not template_path.is_file():
        raise BrokerError(f"{template_path} is missing; the broker's config template belongs in this checkout")
    if config.port == config.controller_port:
        raise BrokerError(f"the broker and controller ports must differ (both are {config.port})")
    template = string.Template(template_path.read_text(encoding="utf-8"))
    return template.substitute(
        host=HOST,
        port=config.port,
        controller_port=config.controller_port,
        data_dir=config.data_dir,
        partitions=config.partitions,
    )


def java_executable() -> str:
    java = shutil.which("java")
    if java is None:
        raise BrokerError("no `java` on PATH; run `bash infra/bootstrap.sh` (it installs Java 17 and the Kafka jars)")
    return java


def classpath(config: BrokerConfig) -> str:
    """The jar folder as one wildcard classpath entry (the JVM expands it), after checking the jars are there."""
    if not any(config.lib_dir.glob("kafka_2.13-*.jar")):
        raise BrokerError(
            f"the Kafka jars are not in {config.lib_dir}; run `bash infra/kafka/fetch-jars.sh` to fetch them"
        )
    return str(config.lib_dir / "*")


def java_command(config: BrokerConfig, main_class: str, *args: str) -> list[str]:
    """A ``java`` command line running ``main_class`` of the broker's jars with the broker's logging set-up."""
    return [
        java_executable(),
        f"-Xms{min(256, config.heap_mb)}m",
        f"-Xmx{config.heap_mb}m",
        # One small node on a small machine: the serial collector keeps the JVM's thread count and memory low.
        "-XX:+UseSerialGC",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={config.home / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={config.run_dir / 'logs'}",
        "-cp",
        classpath(config),
        main_class,
        *args,
    ]


def format_storage_command(config: BrokerConfig, cluster_id: str) -> list[str]:
    """Kafka's StorageTool: format ``data_dir`` as a standalone controller quorum of one."""
    return java_command(
        config,
        "kafka.tools.StorageTool",
        "format",
        "--standalone",
        "--ignore-formatted",
        "--cluster-id",
        cluster_id,
        "--config",
        str(config.properties_file),
    )


def broker_command(config: BrokerConfig) -> list[str]:
    return java_command(config, "kafka.Kafka", str(config.properties_file))
