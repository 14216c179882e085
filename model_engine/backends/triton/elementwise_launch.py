"""Host side of the generated elementwise kernels: broadcast strides, output buffers, launch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import triton

from model_engine.backends.triton.elementwise_codegen import kernel_source, load_kernel
from model_engine.errors import GraphError
from model_engine.ops.fused import Instruction

TORCH_DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "int32": torch.int32,
    "int64": torch.int64,
    "bool": torch.bool,
}


class FusedElementwise:
    """One elementwise program compiled to a kernel; call it on device tensors that broadcast to ``[N, K]``.

    >>> square_plus_one = FusedElementwise(            # doctest: +SKIP
    ...     (("mul", (("r", 0), ("r", 0))), ("add", (("r", 1), ("c", 1.0, "float32")))), n_inputs=1)
    """

    def __init__(self, program: Sequence[Instruction], n_inputs: int) -> None:
        self.program = tuple(program)
        self.n_inputs = n_inputs
        self.source = kernel_source(self.program, n_inputs)
        self._kernel = load_kernel(self.source)

    def __call__(self, inputs: Sequence[torch.Tensor], out: torch.Tensor) -> torch.Tensor:
        """Evaluate into ``out`` (``[N, K]``, contiguous); each input broadcasts to that shape (NumPy rules)."""
        if len(inputs) != self.n_inputs:
            raise GraphError(f"the program takes {self.n_inputs} inputs, got {len(inputs)}")
        if out.dim() != 2 or not out.is_contiguous():
            raise GraphError(f"elementwise output must be a contiguous matrix, got {tuple(out.shape)}")
        n_rows, n_cols = int(out.shape[0]), int(out.shape[1])
        if n_rows == 0 or n_cols == 0:
            return out
        args: list[Any] = []
        for tensor in inputs:
            try:
                view = tensor.expand(n_rows, n_cols)
            except RuntimeError:
                raise GraphError(f"input {tuple(tensor.shape)} does not broadcast to {(n_rows, n_cols)}") from None
            args += [view, view.stride(0), view.stride(1)]
        block_c = min(64, triton.next_power_of_2(n_cols))
        block_r = max(16, 4096 // block_c) if n_rows > 4096 else 32
        grid = (triton.cdiv(n_rows, block_r), triton.cdiv(n_cols, block_c))
        self._kernel[grid](out, *args, n_rows, n_cols, BLOCK_R=block_r, BLOCK_C=block_c)
        return out
