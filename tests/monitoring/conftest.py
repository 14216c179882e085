"""Fixtures of the monitoring tests: the seeded scored pool (see :mod:`tests.monitoring.streams`)."""

from __future__ import annotations

import pytest

from tests.monitoring.streams import ScoredPool, scored_pool


@pytest.fixture(scope="session")
def pool() -> ScoredPool:
    return scored_pool()
