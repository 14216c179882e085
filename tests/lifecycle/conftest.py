"""Fixtures of the lifecycle tests: the small dataset the registry support forests learn, and a fresh registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lifecycle.registry import ModelRegistry
from tests.lifecycle.registry import support


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return support.make_data()


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return support.make_registry(tmp_path)
