"""Host side of the forest kernels: node tables resident on a device, buffers reused, launches sized."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import triton

from model_engine.backends.triton.buffers import BufferPool
from model_engine.backends.triton.device_tensors import check_row_matrix, to_device
from model_engine.backends.triton.forest_kernel import (
    compact_forest_kernel,
    forest_finish_kernel,
    perfect_forest_kernel,
)
from model_engine.backends.triton.forest_layout import CompactLayout, ForestOutput, PerfectLayout, node_words
from model_engine.errors import GraphError

DEFAULT_TREES_PER_CHUNK = 64


class TreeEnsembleKernel:
    """A packed ensemble on one device, callable on a ``[N, F]`` float32 tensor of that device.

    ``aggregation`` is ``"sum"`` or ``"mean"``; ``base_score`` has one value per output. ``trees_per_chunk``
    fixes how trees are grouped for partial sums, hence the summation order: it belongs to the model, not to
    the batch, so a row's score never depends on the batch it arrives in.
    """

    def __init__(
        self,
        layout: PerfectLayout | CompactLayout,
        *,
        n_features: int,
        aggregation: str,
        base_score: np.ndarray[Any, Any],
        output: ForestOutput,
        device: torch.device,
        trees_per_chunk: int = DEFAULT_TREES_PER_CHUNK,
        pool: BufferPool | None = None,
    ) -> None:
        if aggregation not in ("sum", "mean"):
            raise GraphError(f"unknown aggregation {aggregation!r}; expected 'sum' or 'mean'")
        if output is ForestOutput.BINARY_SIGMOID and layout.n_outputs != 1:
            raise GraphError(f"a binary sigmoid output needs one score per row, the ensemble has {layout.n_outputs}")
        if trees_per_chunk < 1:
            raise GraphError(f"trees_per_chunk must be >= 1, got {trees_per_chunk}")
        self.layout = layout
        self.n_features = n_features
        self.device = device
        self.output = output
        self.trees_per_chunk = trees_per_chunk
        self.n_chunks = max(1, -(-layout.n_trees // trees_per_chunk))
        self.divisor = float(layout.n_trees) if aggregation == "mean" else 1.0
        self.pool = pool or BufferPool(device)
        base = np.zeros(layout.c_pad, dtype=np.float32)
        base[: layout.n_outputs] = np.asarray(base_score, dtype=np.float32).reshape(-1)
        self._base = to_device(base, device)
        nodes = to_device(node_words(layout.code, layout.threshold), device)
        self._tables: tuple[torch.Tensor, ...]
        if isinstance(layout, PerfectLayout):
            self._tables = (nodes, to_device(layout.leaf_value, device))
        else:
            self._tables = (
                nodes,
                to_device(layout.left, device),
                to_device(layout.roots, device),
                to_device(layout.value, device),
            )

    @property
    def out_width(self) -> int:
        return 2 if self.output is ForestOutput.BINARY_SIGMOID else self.layout.n_outputs

    def __call__(
        self, x: torch.Tensor, out: torch.Tensor | None = None, *, leaves: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Score ``x`` into ``out`` (``[N, out_width]``); with ``leaves`` (int32 ``[N, n_trees]``) also record
        the leaf every row reached in every tree (perfect layout: leaf number; compact: node index)."""
        n_rows = check_row_matrix(x, self.n_features, self.device, "the ensemble's tables are")
        if out is None:
            out = torch.empty((n_rows, self.out_width), dtype=torch.float32, device=self.device)
        elif out.shape[0] < n_rows or out.shape[1] != self.out_width or out.stride(1) != 1:
            raise GraphError(f"output buffer {tuple(out.shape)} cannot hold [{n_rows}, {self.out_width}]")
        if n_rows == 0:
            return out[:0]
        if leaves is not None and tuple(leaves.shape) != (n_rows, self.layout.n_trees):
            raise GraphError(f"leaves buffer must be [{n_rows}, {self.layout.n_trees}], got {tuple(leaves.shape)}")
        block = block_rows(n_rows)
        finish = self.n_chunks == 1
        partial = out if finish else self.pool.get("forest_partial", self.n_chunks * n_rows, self.layout.c_pad)
        leaf_buf = leaves if leaves is not None else self._base
        common: dict[str, Any] = {
            "C_PAD": self.layout.c_pad,
            "N_OUTPUTS": self.layout.n_outputs,
            "OUTPUT": int(self.output),
            "BLOCK_R": block,
        }
        kernel = perfect_forest_kernel if isinstance(self.layout, PerfectLayout) else compact_forest_kernel
        grid = (triton.cdiv(n_rows, block), self.n_chunks)
        kernel[grid](
            x, *self._tables, partial, self._base, out, leaf_buf,
            n_rows, x.stride(0), out.stride(0), self.layout.n_trees, self.trees_per_chunk, self.divisor,
            DEPTH=self.layout.depth, FINISH=finish, STORE_LEAVES=leaves is not None, **common,
        )  # fmt: skip
        if not finish:
            forest_finish_kernel[(triton.cdiv(n_rows, block),)](
                partial, self._base, out, n_rows, self.n_chunks, out.stride(0), self.divisor, **common
            )
        return out[:n_rows]


def block_rows(n_rows: int) -> int:
    """Rows per program: small blocks for small batches so enough programs run; results do not depend on it."""
    if n_rows <= 4096:
        return 32
    if n_rows <= 65536:
        return 64
    return 128
