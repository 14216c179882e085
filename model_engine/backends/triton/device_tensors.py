"""Host arrays moved onto a device, and the input check every kernel launcher makes before a launch."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from model_engine.errors import GraphError


def to_device(array: np.ndarray[Any, Any], device: torch.device, dtype: Any = None) -> torch.Tensor:
    """A contiguous copy of ``array`` on ``device`` (cast to the NumPy ``dtype`` first when one is given)."""
    return torch.from_numpy(np.ascontiguousarray(array, dtype=dtype)).to(device)


def check_row_matrix(x: torch.Tensor, n_features: int, device: torch.device, resident: str) -> int:
    """The row count of ``x`` after checking it is a float32 ``[N, n_features]`` matrix on ``device`` with
    contiguous rows; ``resident`` names what already lives on the device (for the message)."""
    if x.dtype != torch.float32 or x.dim() != 2 or x.shape[1] != n_features:
        raise GraphError(f"expected a float32 [N, {n_features}] tensor, got {x.dtype} {tuple(x.shape)}")
    if x.device != device:
        raise GraphError(f"input is on {x.device}, {resident} on {device}")
    if x.shape[0] > 0 and x.stride(1) != 1:
        raise GraphError("input rows must be contiguous along the feature axis")
    return int(x.shape[0])
