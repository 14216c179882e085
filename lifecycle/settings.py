"""Settings of the model lifecycle: where the registry lives and the key that signs gate verdicts.

Only settings modules read the environment (variables prefixed ``FRAUD_``); everything else receives a
settings object as an argument.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Final

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.settings import Environment

#: The development-only placeholder key. Outside development and tests, settings holding it refuse to load.
DEVELOPMENT_SIGNING_KEY: Final = "development-only-model-signing-key-change-me"


class LifecycleSettings(BaseSettings):
    """The model registry (a SQLite file by default, or a ``postgresql://`` DSN), the folder where registered
    artifacts are kept, and the HMAC key that signs gate verdicts."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_", env_file=None, extra="ignore", hide_input_in_errors=True)

    environment: Environment = Environment.DEVELOPMENT
    registry_url: str = "sqlite:///fraud-registry/registry.sqlite"
    model_store: Path = Path("fraud-registry/models")
    model_signing_key: SecretStr = SecretStr(DEVELOPMENT_SIGNING_KEY)
    #: Who runs the commands (``FRAUD_ACTOR``), recorded as the actor of registrations, promotions and
    #: rollbacks; the operating-system user when unset (often a shared service account: set it).
    actor: str | None = None

    def actor_name(self) -> str:
        """The configured actor, or the operating-system user."""
        return self.actor or getpass.getuser()

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> LifecycleSettings:
        key = self.model_signing_key.get_secret_value()
        if key == DEVELOPMENT_SIGNING_KEY and self.environment not in (Environment.DEVELOPMENT, Environment.TEST):
            raise ValueError(
                "FRAUD_MODEL_SIGNING_KEY still holds the development placeholder; set a secret key "
                f"(32+ random bytes) before running in {self.environment.value}"
            )
        if len(key) < 16:
            raise ValueError("FRAUD_MODEL_SIGNING_KEY is too short: use at least 16 characters (32 random bytes)")
        return self
