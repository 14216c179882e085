"""Lifecycle settings refuse the placeholder signing key outside development and tests."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from ingest.settings import Environment
from lifecycle.settings import LifecycleSettings


def test_placeholder_key_is_accepted_in_development() -> None:
    assert LifecycleSettings(environment=Environment.DEVELOPMENT).registry_url.startswith("sqlite:///")


@pytest.mark.parametrize("environment", [Environment.STAGING, Environment.PRODUCTION])
def test_placeholder_key_is_refused_outside_development(environment: Environment) -> None:
    with pytest.raises(ValidationError, match="FRAUD_MODEL_SIGNING_KEY"):
        LifecycleSettings(environment=environment)


def test_real_key_is_accepted_in_production() -> None:
    settings = LifecycleSettings(environment=Environment.PRODUCTION, model_signing_key=SecretStr("k" * 32))
    assert settings.model_signing_key.get_secret_value() == "k" * 32


def test_short_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="too short"):
        LifecycleSettings(model_signing_key=SecretStr("short"))
