"""Host side of the fused MLP kernel: a packed network resident on a device and its launch."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import triton

from model_engine.backends.triton.device_tensors import check_row_matrix, to_device
from model_engine.backends.triton.mlp_kernel import mlp_kernel
from model_engine.backends.triton.mlp_layout import MLPLayout
from model_engine.errors import GraphError

PRECISIONS = ("ieee", "tf32", "fp16")


class FusedMLP:
    """A packed network resident on one device, callable on a ``[N, F]`` float32 tensor of that device.

    >>> mlp = FusedMLP(pack_mlp(layers, OutputTransform.BINARY_SIGMOID), torch.device("cuda"))  # doctest: +SKIP
    >>> proba = mlp(x_on_gpu)  # [N, 2]                                                      # doctest: +SKIP
    """

    def __init__(self, layout: MLPLayout, device: torch.device, *, precision: str = "ieee", block_m: int = 128) -> None:
        if precision not in PRECISIONS:
            raise GraphError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
        if block_m < 16 or block_m & (block_m - 1):
            raise GraphError(f"block_m must be a power of two >= 16, got {block_m}")
        self.layout = layout
        self.device = device
        self.precision = precision
        self.block_m = block_m
        tensors = [to_device(w, device, np.float32) for w in layout.weights]
        bias_tensors = [to_device(b, device, np.float32) for b in layout.biases]
        n_dense = layout.n_layers - (1 if layout.scalar_head else 0)
        self._dense = list(zip(tensors[:n_dense], bias_tensors[:n_dense], strict=True))
        self._head = (tensors[-1], bias_tensors[-1]) if layout.scalar_head else self._dense[-1]
        widths = list(layout.widths[: n_dense + 1]) + [16] * (5 - (n_dense + 1))
        acts = [int(a) for a in layout.activations]
        self._constexprs: dict[str, Any] = {
            "N_FEATURES": layout.n_features,
            "N_UNITS": layout.n_units,
            "N_DENSE": n_dense,
            "SCALAR_HEAD": layout.scalar_head,
            **{f"K{i}": widths[i] for i in range(5)},
            "KH": layout.widths[n_dense],
            **{f"A{i}": (acts[i] if i < n_dense else 0) for i in range(4)},
            "AH": acts[-1] if layout.scalar_head else 0,
            "OUTPUT": int(layout.output),
            "PRECISION": precision,
            "BLOCK_M": block_m,
        }

    @property
    def out_width(self) -> int:
        return self.layout.out_width

    def __call__(self, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """Run the network on ``x`` (float32 ``[N, F]``, unit stride along features); write into ``out``."""
        n_rows = check_row_matrix(x, self.layout.n_features, self.device, "the model's weights are")
        if out is None:
            out = torch.empty((n_rows, self.out_width), dtype=torch.float32, device=self.device)
        elif out.shape[0] < n_rows or out.shape[1] != self.out_width or out.stride(1) != 1:
            raise GraphError(f"output buffer {tuple(out.shape)} cannot hold [{n_rows}, {self.out_width}]")
        if n_rows == 0:
            return out[:0]
        pointers: list[torch.Tensor] = []
        for i in range(4):
            w, b = self._dense[i] if i < len(self._dense) else self._head
            pointers += [w, b]
        pointers += list(self._head)
        grid = (triton.cdiv(n_rows, self.block_m),)
        mlp_kernel[grid](x, out, n_rows, x.stride(0), out.stride(0), *pointers, **self._constexprs)
        return out[:n_rows]
