"""Whether the Triton backend can run here, and on which device, without importing torch or triton eagerly.

The backend needs torch and triton (the ``gpu`` extra) and a CUDA device. Triton's interpreter
(``TRITON_INTERPRET=1``, read by Triton itself) counts as a device: kernels then run on CPU tensors, which is
how the kernels are tested on machines without a GPU.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from model_engine.errors import BackendUnavailableError


@dataclass(frozen=True)
class Availability:
    """``missing`` says what is missing (None when the backend can run); ``device`` is "cuda" or "cpu"."""

    missing: str | None
    device: str = "cuda"

    @property
    def ok(self) -> bool:
        return self.missing is None


def check() -> Availability:
    """Look for torch, triton and a device, in that order, and report the first thing missing."""
    for package in ("torch", "triton"):
        if importlib.util.find_spec(package) is None:
            return Availability(f"{package} is not installed (install the 'gpu' extra: pip install '.[gpu]')")
    import torch
    import triton

    if triton.knobs.runtime.interpret:
        return Availability(None, device="cpu")
    if not torch.cuda.is_available():
        return Availability(
            "no CUDA device is visible to torch (torch.cuda.is_available() is False); "
            "score with the numba or numpy backend on this machine"
        )
    return Availability(None, device="cuda")


def require() -> Availability:
    """The availability, or :class:`BackendUnavailableError` naming what is missing."""
    availability = check()
    if availability.missing is not None:
        raise BackendUnavailableError(f"the triton backend cannot run here: {availability.missing}")
    return availability
