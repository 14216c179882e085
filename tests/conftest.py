"""Fixtures shared by the whole suite: where the shared handbook dataset is, and the rule that a missing
dataset skips a test on a developer's machine but fails it under CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HANDBOOK_DIR = ROOT.parent / "shared" / "data" / "ulb-handbook"


def _handbook_dir() -> Path:
    return Path(os.environ.get("FRAUD_HANDBOOK_DIR", str(DEFAULT_HANDBOOK_DIR)))


@pytest.fixture(scope="session")
def handbook_dir() -> Path:
    """The folder holding the ULB/Worldline handbook Parquet files (``transactions-2018-MM.parquet``)."""
    path = _handbook_dir()
    if not (path / "transactions-2018-04.parquet").exists():
        message = (
            f"the ULB handbook dataset is not at {path}; set FRAUD_HANDBOOK_DIR to the folder holding "
            "transactions-2018-MM.parquet"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
