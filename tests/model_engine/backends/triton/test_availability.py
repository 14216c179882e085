"""The backend loads lazily and says what is missing when it cannot run."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from typing import Any

import pytest

from model_engine.backends import get_backend
from model_engine.backends.triton import availability
from model_engine.errors import BackendUnavailableError


def test_importing_the_engine_loads_neither_torch_nor_triton() -> None:
    code = (
        "import sys, model_engine, model_engine.backends, model_engine.backends.triton, model_engine.compile\n"
        "loaded = [m for m in ('torch', 'triton') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("package", ["torch", "triton"])
def test_a_missing_package_is_named(monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == package else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert availability.check().missing is not None
    assert f"{package} is not installed" in str(availability.check().missing)
    with pytest.raises(BackendUnavailableError, match=f"{package} is not installed"):
        get_backend("triton")


def test_no_cuda_device_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    triton = pytest.importorskip("triton")
    monkeypatch.setattr(triton.knobs.runtime, "interpret", False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(BackendUnavailableError, match="no CUDA device"):
        get_backend("triton")


def test_the_interpreter_counts_as_a_device() -> None:
    pytest.importorskip("torch")
    triton = pytest.importorskip("triton")
    if not triton.knobs.runtime.interpret:
        pytest.skip("a CUDA device is present: the kernels run compiled")
    assert availability.check() == availability.Availability(None, device="cpu")
    assert get_backend("triton").name == "triton"


def test_kernels_are_interpreted_without_a_gpu() -> None:
    """The folder's conftest sets TRITON_INTERPRET before the kernel modules are imported (Triton reads it when
    @triton.jit decorates), so without CUDA the kernels are the interpreter's, not compiled ones."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the kernels run compiled")
    from model_engine.backends.triton.forest_kernel import perfect_forest_kernel
    from model_engine.backends.triton.mlp_kernel import mlp_kernel

    assert type(mlp_kernel).__name__ == "InterpretedFunction"
    assert type(perfect_forest_kernel).__name__ == "InterpretedFunction"
