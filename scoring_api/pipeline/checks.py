"""The compiled validation suite the scorer checks every transaction with.

A suite saved by ``fraud validate`` (the contract plus what it learned from reference data) is compiled from
its file; without one, the contract's own suite is built once per process (building it imports
great-expectations, which takes seconds) and shared.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ingest.validation.checker import CompiledChecker


@lru_cache(maxsize=1)
def _contract_checker() -> CompiledChecker:
    from ingest.validation.suite import build_suite

    return CompiledChecker.from_suite(build_suite())


def load_checker(suite_path: Path | None = None) -> CompiledChecker:
    """The compiled suite of ``suite_path``, or the contract's suite when no path is given."""
    if suite_path is None:
        return _contract_checker()
    return CompiledChecker.from_suite_file(suite_path)
