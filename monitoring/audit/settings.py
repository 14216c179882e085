"""Settings of the audit trail: where it is kept, how long, and the key that signs its head and its exports.

Only settings modules read the environment (variables prefixed ``FRAUD_``); everything else receives a
settings object as an argument.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.settings import Environment

#: The development-only placeholder key (an Ed25519 seed anyone can read here). Outside development and tests,
#: settings holding it refuse to load.
DEVELOPMENT_AUDIT_SIGNING_KEY: Final = "de7e10b3e7000000000000000000000000000000000000000000000000000000"


class AuditSettings(BaseSettings):
    """The audit database (a SQLite file by default, ``postgresql://`` in production), the folder of its
    compressed archive segments, the retention periods, and the Ed25519 key (``FRAUD_AUDIT_SIGNING_KEY``: the
    32-byte seed as 64 hex digits) that signs the chain's head, exports and evidence bundles."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_", env_file=None, extra="ignore", hide_input_in_errors=True)

    environment: Environment = Environment.DEVELOPMENT
    audit_url: str = "sqlite:///fraud-audit/audit.sqlite"
    audit_archive_dir: Path = Path("fraud-audit/archive")
    audit_signing_key: SecretStr = SecretStr(DEVELOPMENT_AUDIT_SIGNING_KEY)
    #: Where a scoring process's records are screened, chained and committed: ``process``, a recording process
    #: of its own (:mod:`monitoring.audit.process_writer`: the scoring path pays the hand-over, another core the
    #: rest), or ``thread``, a thread of the scoring process (:class:`monitoring.audit.writer.AuditWriter`). Both
    #: answer only once the records are committed.
    audit_writer: Literal["process", "thread"] = "process"
    #: Months of records kept in all (the current month included); older months are deleted, and the deletion
    #: is itself recorded.
    audit_retention_months: int = Field(default=12, ge=1, le=240)
    #: Months kept in the main store (the current month included); older ones move to archive segments.
    audit_hot_months: int = Field(default=3, ge=1, le=240)

    @model_validator(mode="after")
    def _check(self) -> AuditSettings:
        key = self.audit_signing_key.get_secret_value().strip()
        if key == DEVELOPMENT_AUDIT_SIGNING_KEY and self.environment not in (Environment.DEVELOPMENT, Environment.TEST):
            raise ValueError(
                "FRAUD_AUDIT_SIGNING_KEY still holds the development placeholder; set a secret Ed25519 seed "
                f"(64 hex digits, e.g. `openssl rand -hex 32`) before running in {self.environment.value}"
            )
        if len(key) != 64 or any(c not in "0123456789abcdefABCDEF" for c in key):
            raise ValueError("FRAUD_AUDIT_SIGNING_KEY must be an Ed25519 seed of 64 hex digits (openssl rand -hex 32)")
        if self.audit_hot_months > self.audit_retention_months:
            raise ValueError("FRAUD_AUDIT_HOT_MONTHS cannot exceed FRAUD_AUDIT_RETENTION_MONTHS")
        return self
