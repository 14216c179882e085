"""Lazy public names have one home: every package that exports names on first use does so through
:func:`ingest.lazy_exports.lazy_exports`, and each of those packages passes the same contract: every name of its
``__all__`` resolves (from its own module), an unknown name is an ``AttributeError`` naming the package, and a
loaded name is kept on the package."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.lazy_exports import lazy_exports

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ingest", "features", "model_engine", "lifecycle", "monitoring", "scoring_api")
#: model_engine imports nothing of ingest (its layer contract); its Triton backend checks that torch, triton and
#: a device are there before it loads the backend, which a plain lazy export does not do.
OWN_GETATTR = {"model_engine/backends/triton/__init__.py"}


def _initialisers() -> list[Path]:
    return sorted(p for top in PACKAGES for p in (ROOT / top).rglob("__init__.py"))


def _package(path: Path) -> str:
    return ".".join(path.parent.relative_to(ROOT).parts)


LAZY_PACKAGES = sorted(_package(p) for p in _initialisers() if "lazy_exports(" in p.read_text())


def test_no_package_writes_its_own_module_getattr() -> None:
    own = [
        path
        for p in _initialisers()
        if re.search(r"^def __getattr__", p.read_text(), re.M)
        and (path := p.relative_to(ROOT).as_posix()) not in OWN_GETATTR
    ]
    assert own == [], f"use ingest.lazy_exports.lazy_exports instead of a hand-written __getattr__ in {own}"
    assert len(LAZY_PACKAGES) >= 8, LAZY_PACKAGES


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_public_name_resolves_and_unknown_names_are_refused(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)
        assert value is not None, name
        assert name in vars(module), f"{package}.{name} is not kept on the package once loaded"
    with pytest.raises(AttributeError, match=rf"module '{re.escape(package)}' has no attribute 'no_such_name'"):
        module.no_such_name  # noqa: B018


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_importing_the_package_loads_none_of_its_lazy_names(package: str) -> None:
    code = (
        "import importlib, sys\n"
        f"module = importlib.import_module({package!r})\n"
        "print(sorted(n for n in module.__all__ if n not in vars(module)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() != "[]", f"{package} loads every name at import: nothing is lazy"


def test_a_relative_home_is_resolved_against_the_package() -> None:
    load = lazy_exports("ingest", {"read_labels": ".sources", "Transaction": "ingest.contract"})
    from ingest.contract import Transaction
    from ingest.sources import read_labels

    assert load("read_labels") is read_labels
    assert load("Transaction") is Transaction
    with pytest.raises(AttributeError, match="module 'ingest' has no attribute 'sources'"):
        load("sources")
