"""Every audit test that touches a database runs on both: SQLite (the embedded default) and a real PostgreSQL
server (production), through the ``audit_url`` fixture."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def audit_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/audit.sqlite"
    url: str = request.getfixturevalue("postgres_url")
    return url
