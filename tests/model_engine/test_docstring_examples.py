"""The examples in the compiler core's docstrings run and print what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

CORE = ("ir", "ops", "passes", "backends", "artifacts", "converters")
SKIPPED = ("model_engine.backends.triton",)  # GPU examples are marked +SKIP; importing them needs the gpu extra


def _core_modules() -> list[str]:
    names = ["model_engine.compile", "model_engine.model", "model_engine.signature"]
    for package in CORE:
        module = importlib.import_module(f"model_engine.{package}")
        names.append(module.__name__)
        names += [m.name for m in pkgutil.walk_packages(module.__path__, prefix=f"{module.__name__}.")]
    return sorted(n for n in names if not n.startswith(SKIPPED))


@pytest.mark.parametrize("name", _core_modules())
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples in {name} failed"


def test_the_examples_do_not_silently_disappear() -> None:
    attempted = sum(doctest.testmod(importlib.import_module(n), verbose=False).attempted for n in _core_modules())
    assert attempted >= 40, f"only {attempted} docstring example lines are left in the compiler core"
