"""Settings of the ingest side: Kafka, topics and the card-tokenisation key.

Only settings modules read the environment (variables prefixed ``FRAUD_``); everything else receives a
settings object as an argument.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Final

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: This checkout's infra/kafka folder: the broker's jars (lib/), its config templates and, by default, its run folder.
KAFKA_HOME: Final = Path(__file__).resolve().parents[1] / "infra" / "kafka"

#: The development-only placeholder key. Outside development, a settings object holding it refuses to load.
DEVELOPMENT_TOKEN_KEY: Final = "development-only-card-token-key-change-me"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"


class IngestSettings(BaseSettings):
    """Where Kafka is, what the topics are called, and the key that turns card numbers into tokens."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_", env_file=None, extra="ignore", hide_input_in_errors=True)

    environment: Environment = Environment.DEVELOPMENT
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    topic_transactions: str = "transactions"
    topic_labels: str = "labels"
    topic_scores: str = "scores"
    topic_dead_letters: str = "transactions.dlq"
    topic_partitions: int = Field(default=6, ge=1, le=1024)
    # The local broker that `fraud kafka start` runs: jars and config templates in kafka_home, its process,
    # logs and data in kafka_run_dir (default: kafka_home/run), listening on 127.0.0.1 only.
    kafka_home: Path = KAFKA_HOME
    kafka_run_dir: Path | None = None
    kafka_port: int = Field(default=9092, ge=1, le=65535)
    kafka_controller_port: int = Field(default=9093, ge=1, le=65535)
    kafka_start_timeout_s: float = Field(default=90.0, gt=0)
    card_token_key: SecretStr = SecretStr(DEVELOPMENT_TOKEN_KEY)

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> IngestSettings:
        unsafe = self.card_token_key.get_secret_value() == DEVELOPMENT_TOKEN_KEY
        if unsafe and self.environment not in (Environment.DEVELOPMENT, Environment.TEST):
            raise ValueError(
                "FRAUD_CARD_TOKEN_KEY still holds the development placeholder; set a secret key "
                f"(32+ random bytes) before running in {self.environment.value}"
            )
        if len(self.card_token_key.get_secret_value()) < 16:
            raise ValueError("FRAUD_CARD_TOKEN_KEY is too short: use at least 16 characters (32 random bytes)")
        return self
