"""Settings never repeat what they were given in an error (issue 12, point 4): with a too-short signing or
card-token key, pydantic's validation error quoted the key on stderr, inside a full traceback. Every settings
class of every package hides its inputs, and the command line says in one line what is wrong."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic_settings import BaseSettings
from typer.testing import CliRunner

from scoring_api.cli import app

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ingest", "features", "model_engine", "lifecycle", "monitoring", "scoring_api")


def _settings_classes() -> list[type[BaseSettings]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("settings.py")):
            module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
            found += [
                cls
                for _, cls in inspect.getmembers(module, inspect.isclass)
                if issubclass(cls, BaseSettings) and cls is not BaseSettings and cls.__module__ == module.__name__
            ]
    return found


def test_there_are_settings_classes_to_check() -> None:
    assert {cls.__name__ for cls in _settings_classes()} >= {"IngestSettings", "LifecycleSettings"}


@pytest.mark.parametrize("settings", _settings_classes(), ids=lambda cls: cls.__name__)
def test_every_settings_class_hides_its_inputs_in_errors(settings: type[BaseSettings]) -> None:
    assert settings.model_config.get("hide_input_in_errors") is True


@pytest.mark.parametrize(
    ("module", "name", "field"),
    [
        ("ingest.settings", "IngestSettings", "card_token_key"),
        ("lifecycle.settings", "LifecycleSettings", "model_signing_key"),
    ],
)
def test_a_short_secret_is_not_repeated_in_the_error(module: str, name: str, field: str) -> None:
    settings = getattr(importlib.import_module(module), name)
    with pytest.raises(ValidationError) as caught:
        settings(environment="production", **{field: "s3cr3t-short"})
    assert "too short" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "command"),
    [("FRAUD_MODEL_SIGNING_KEY", ["models", "list"]), ("FRAUD_CARD_TOKEN_KEY", ["kafka", "status"])],
)
def test_the_command_line_names_the_problem_without_the_secret(
    variable: str, command: list[str], tmp_path: Path
) -> None:
    env = {
        "FRAUD_ENVIRONMENT": "production",
        "FRAUD_MODEL_SIGNING_KEY": "a-real-signing-key-of-enough-length-0123",
        "FRAUD_CARD_TOKEN_KEY": "a-real-card-token-key-of-enough-length-0123",
        "FRAUD_REGISTRY_URL": f"sqlite:///{tmp_path}/registry.sqlite",
        variable: "s3cr3t-short",
    }
    result = CliRunner().invoke(app, command, env=env)
    assert result.exit_code == 2, result.output
    assert "s3cr3t" not in result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert f"{variable} is too short" in lines[0]
