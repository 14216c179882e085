"""Audit settings refuse the placeholder key outside development and tests, and never repeat a key in an error."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from ingest.settings import Environment
from monitoring.audit import AuditSettings, Signer
from monitoring.audit.settings import DEVELOPMENT_AUDIT_SIGNING_KEY


def test_placeholder_key_is_accepted_in_development_and_tests() -> None:
    for environment in (Environment.DEVELOPMENT, Environment.TEST):
        settings = AuditSettings(environment=environment)
        assert settings.audit_signing_key.get_secret_value() == DEVELOPMENT_AUDIT_SIGNING_KEY
        assert settings.audit_url.startswith("sqlite:///")


@pytest.mark.parametrize("environment", [Environment.STAGING, Environment.PRODUCTION])
def test_placeholder_key_is_refused_outside_development(environment: Environment) -> None:
    with pytest.raises(ValidationError, match="FRAUD_AUDIT_SIGNING_KEY still holds the development placeholder"):
        AuditSettings(environment=environment)


def test_a_real_key_signs_in_production() -> None:
    settings = AuditSettings(environment=Environment.PRODUCTION, audit_signing_key=SecretStr("ab" * 32))
    assert Signer.from_secret(settings.audit_signing_key).public_key_hex != Signer.from_hex("cd" * 32).public_key_hex


@pytest.mark.parametrize("key", ["too-short-secret-value", "zz" * 32, "ab" * 31])
def test_a_malformed_key_is_refused_without_being_repeated(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUD_AUDIT_SIGNING_KEY", key)
    with pytest.raises(ValidationError) as raised:
        AuditSettings()
    assert "64 hex digits" in str(raised.value)
    assert key not in str(raised.value)
    assert key not in repr(raised.value)


def test_retention_periods_are_consistent() -> None:
    with pytest.raises(ValidationError, match="HOT_MONTHS"):
        AuditSettings(audit_hot_months=6, audit_retention_months=3)
    assert (AuditSettings().audit_retention_months, AuditSettings().audit_hot_months) == (12, 3)
