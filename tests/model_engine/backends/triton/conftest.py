"""Run the Triton kernels under Triton's interpreter when no CUDA device is present.

Triton reads ``TRITON_INTERPRET`` when ``@triton.jit`` decorates a kernel, i.e. when a kernel module is first
imported, so this must happen before any test imports ``model_engine.backends.triton``'s kernel modules. With a
GPU the same tests run compiled on the device instead. Without torch or triton each module here skips itself
(``pytest.importorskip``).
"""

from __future__ import annotations

import importlib.util
import os

import pytest

MISSING = [name for name in ("torch", "triton") if importlib.util.find_spec(name) is None]

if not MISSING:
    import torch

    if not torch.cuda.is_available():
        os.environ["TRITON_INTERPRET"] = "1"


@pytest.fixture(scope="session")
def device() -> torch.device:
    """The device kernels run on: the GPU when there is one, else the CPU under the interpreter."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
