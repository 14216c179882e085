"""Executable steps of a lowered graph: each runs one kernel (or device op) over values held on the device.

Every step reads its inputs from ``env`` (value name -> device tensor), writes its output into a buffer of the
backend's pool (reused across calls) and stores it back into ``env``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
import triton

from model_engine.backends.triton.buffers import BufferPool
from model_engine.backends.triton.elementwise_launch import TORCH_DTYPES, FusedElementwise
from model_engine.backends.triton.forest_launch import TreeEnsembleKernel
from model_engine.backends.triton.mlp_launch import FusedMLP
from model_engine.backends.triton.torch_ops import TorchOp
from model_engine.ir.types import TensorType
from model_engine.ops.registry import get_op

Env = dict[str, torch.Tensor]


class Step(Protocol):
    kind: str  # "mlp", "forest", "elementwise", "device-op" or "host"
    nodes: tuple[str, ...]

    def run(self, env: Env, n_rows: int, pool: BufferPool) -> None: ...


def _out(pool: BufferPool, name: str, n_rows: int, out_type: TensorType) -> torch.Tensor:
    width = out_type.shape[1] if out_type.rank == 2 else 1
    assert width is not None  # only the batch dimension is symbolic
    return pool.get("value:" + name, n_rows, width, TORCH_DTYPES[out_type.dtype.value])


@dataclass
class MLPStep:
    mlp: FusedMLP
    source: str
    result: str
    result_type: TensorType
    nodes: tuple[str, ...]
    kind: str = "mlp"

    def run(self, env: Env, n_rows: int, pool: BufferPool) -> None:
        env[self.result] = self.mlp(env[self.source], _out(pool, self.result, n_rows, self.result_type))


@dataclass
class ForestStep:
    forest: TreeEnsembleKernel
    source: str
    result: str
    result_type: TensorType
    nodes: tuple[str, ...]
    kind: str = "forest"

    def run(self, env: Env, n_rows: int, pool: BufferPool) -> None:
        env[self.result] = self.forest(env[self.source], _out(pool, self.result, n_rows, self.result_type))


@dataclass
class ElementwiseStep:
    kernel: FusedElementwise
    inputs: tuple[str, ...]
    result: str
    result_type: TensorType
    nodes: tuple[str, ...]
    kind: str = "elementwise"

    def run(self, env: Env, n_rows: int, pool: BufferPool) -> None:
        out = _out(pool, self.result, n_rows, self.result_type)
        env[self.result] = self.kernel([env[name] for name in self.inputs], out)


@dataclass
class ColumnarStep:
    """A fused preprocessing region (``columnar.Region``): one generated kernel, several source matrices."""

    kernel: Any
    sources: tuple[str, ...]
    results: tuple[tuple[str, TensorType], ...]
    nodes: tuple[str, ...]
    kind: str = "columnar"

    def run(self, env: Env, n_rows: int, pool: BufferPool) -> None:
        outs = [_out(pool, name, n_rows, out_type) for name, out_type in self.results]
        args: list[Any] = list(outs)
        for name in self.sources:
            tensor = env[name]
            args += [tensor, tensor.stride(0), tensor.stride(1)]
        if n_rows:
            block = 32 if n_rows <= 4096 else 128
            self.kernel[(triton.cdiv(n_rows, block),)](*args, n_rows, BLOCK_R=block)
        for (name, _), out in zip(self.results, outs, strict=True):
            env[name] = out

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.sources


@dataclass
class DeviceOpStep:
    fn: TorchOp
    attrs: Mapping[str, Any]
    inputs: tuple[str, ...]
    result: str
    nodes: tuple[str, ...]
    kind: str = "device-op"

    def run(self, env: Env, n_rows: int, pool: BufferPool) -> None:
        env[self.result] = self.fn(self.attrs, *(env[name] for name in self.inputs))


@dataclass
class HostStep:
    """An op without a device lowering, run by its NumPy reference kernel (inputs copied to the host and back)."""

    op: str
    attrs: Mapping[str, Any]
    inputs: tuple[str, ...]
    results: tuple[str, ...]
    nodes: tuple[str, ...]
    kind: str = "host"

    def run(self, env: Env, n_rows: int, pool: BufferPool) -> None:
        arrays: Sequence[np.ndarray[Any, Any]] = [env[name].cpu().numpy() for name in self.inputs]
        with np.errstate(all="ignore"):
            outputs = get_op(self.op).reference(self.attrs, *arrays)
        device = env[self.inputs[0]].device if self.inputs else torch.device("cpu")
        for name, array in zip(self.results, outputs, strict=True):
            env[name] = torch.from_numpy(np.ascontiguousarray(array)).to(device)
