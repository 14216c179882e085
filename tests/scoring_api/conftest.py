"""Fixtures of the scoring service's tests: the simulated world (built once), and a fresh blessed registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lifecycle.registry.registry import ModelRegistry
from tests.scoring_api.support import World, blessed_registry, build_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("world"))


@pytest.fixture
def registry_ids(tmp_path: Path, world: World) -> Iterator[tuple[ModelRegistry, dict[str, str]]]:
    registry, ids = blessed_registry(tmp_path / "registry", world)
    try:
        yield registry, ids
    finally:
        registry.close()
