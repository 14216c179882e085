"""The ``triton`` backend: graphs lowered to fused GPU kernels, small batches answered by the CPU backend.

>>> from model_engine.backends import get_backend   # doctest: +SKIP
>>> executable = get_backend("triton").prepare(graph)  # doctest: +SKIP
>>> (probabilities,) = executable.run(x)              # doctest: +SKIP
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model_engine.backends.base import DEFAULT_TILE_ROWS, Array, Executable, check_inputs, get_backend
from model_engine.backends.triton.availability import require
from model_engine.backends.triton.buffers import BufferPool
from model_engine.backends.triton.elementwise_launch import TORCH_DTYPES
from model_engine.backends.triton.lowering import LoweringOptions, lower
from model_engine.backends.triton.placement import DEFAULT_CALIBRATION_DIR, load_calibration
from model_engine.errors import BackendUnavailableError, GraphError
from model_engine.ir.graph import Graph
from model_engine.ir.types import DType
from model_engine.ops.verify import verify_graph

DEVICE_TILE_ROWS = 1 << 22
"""Rows sent to the device per launch sequence: bounds device memory for any batch size."""


def device_name(device: torch.device) -> str:
    """The name calibrations are stored under: the GPU's name, or the interpreter's."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "triton-interpreter"


class TritonBackend:
    """Runs float32 graphs on a CUDA device (or Triton's interpreter), batches below ``min_rows`` on the CPU.

    ``min_rows=None`` reads the stored calibration for this device from ``calibration_dir`` (every batch goes to
    the device when there is none). ``precision`` is ``"ieee"`` (fp32, matches the CPU), ``"tf32"`` or ``"fp16"``.
    """

    name = "triton"

    def __init__(
        self,
        *,
        precision: str = "ieee",
        min_rows: int | None = None,
        calibration_dir: Path = DEFAULT_CALIBRATION_DIR,
        cpu_backend: str = "numba",
        strict: bool = False,
        trees_per_chunk: int | None = None,
    ) -> None:
        availability = require()
        self.device = torch.device(availability.device)
        self.device_name = device_name(self.device)
        if min_rows is None:
            calibration = load_calibration(calibration_dir, self.device_name)
            min_rows = calibration.min_rows if calibration is not None else 0
        self.min_rows = min_rows
        self.cpu_backend = cpu_backend
        defaults = LoweringOptions()
        self.options = LoweringOptions(
            precision=precision, trees_per_chunk=trees_per_chunk or defaults.trees_per_chunk, strict=strict
        )

    def prepare(self, graph: Graph, *, tile_rows: int = DEFAULT_TILE_ROWS) -> TritonExecutable:
        verify_graph(graph)
        return TritonExecutable(graph, self, tile_rows)


class TritonExecutable:
    """A graph lowered to device steps. ``run`` takes and returns NumPy arrays (host transfers included);
    ``run_tensors`` takes device tensors and returns device tensors (valid until the next call)."""

    def __init__(self, graph: Graph, backend: TritonBackend, tile_rows: int) -> None:
        for value in graph.inputs:
            if value.type.dtype is not DType.FLOAT32 or value.type.rank != 2:
                raise GraphError(
                    f"the triton backend runs float32 matrix inputs; input {value.name!r} is {value.type} "
                    "(compile the model with dtype='float32')"
                )
        self.graph = graph
        self.backend = backend
        self.device = backend.device
        self.tile_rows = tile_rows
        self.pool = BufferPool(self.device)
        self.steps = lower(graph, self.device, self.pool, backend.options)
        wanted = {name for step in self.steps for name in getattr(step, "inputs", ())}
        self._constants = {
            name: torch.from_numpy(np.array(array)).to(self.device)
            for name, array in graph.constants.items()
            if name in wanted
        }
        self._cpu: Executable | None = None
        # Device buffers are shared by every call, so one call at a time uses them (a serving process may call
        # from several threads); small batches on the CPU path do not wait for it.
        self._lock = threading.Lock()

    def lowering(self) -> list[tuple[str, tuple[str, ...]]]:
        """(step kind, graph nodes it covers) in execution order: what runs where."""
        return [(step.kind, step.nodes) for step in self.steps]

    def cpu(self) -> Executable:
        """The CPU executable small batches go to (the configured CPU backend, else NumPy)."""
        if self._cpu is None:
            try:
                backend = get_backend(self.backend.cpu_backend)
            except BackendUnavailableError:
                backend = get_backend("numpy")
            self._cpu = backend.prepare(self.graph, tile_rows=self.tile_rows)
        return self._cpu

    def run(self, *inputs: Array) -> list[Array]:
        arrays = list(inputs)
        check_inputs(self.graph, arrays)
        n_rows = int(arrays[0].shape[0]) if arrays else 0
        if n_rows == 0 or n_rows < self.backend.min_rows:
            return self.cpu().run(*arrays)
        return self.run_device(*arrays)

    def run_device(self, *inputs: Array) -> list[Array]:
        """Every row on the device, whatever the batch size (host -> device -> host)."""
        with self._lock:
            return self._run_device(inputs)

    def _run_device(self, inputs: tuple[Array, ...]) -> list[Array]:
        n_rows = int(inputs[0].shape[0])
        out_types = [self.graph.type_of(name) for name in self.graph.output_values()]
        results = [np.empty((n_rows, *(int(d or 0) for d in t.shape[1:])), dtype=t.dtype.numpy) for t in out_types]
        for start in range(0, n_rows, DEVICE_TILE_ROWS):
            stop = min(start + DEVICE_TILE_ROWS, n_rows)
            tensors = [self._upload(i, a[start:stop]) for i, a in enumerate(inputs)]
            for i, tensor in enumerate(self._compute(tensors)):
                results[i][start:stop] = self._download(i, tensor)
        return results

    def run_tensors(self, *tensors: torch.Tensor) -> list[torch.Tensor]:
        """Run on inputs already on the device; the outputs live in reused buffers until the next call (callers
        sharing an executable across threads hold their own lock around the call and the use of its outputs)."""
        if len(tensors) != len(self.graph.inputs):
            raise GraphError(f"the graph takes {len(self.graph.inputs)} input(s), got {len(tensors)}")
        return self._compute(list(tensors))

    def _compute(self, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
        env: dict[str, torch.Tensor] = dict(self._constants)
        env.update({value.name: t for value, t in zip(self.graph.inputs, tensors, strict=True)})
        n_rows = int(tensors[0].shape[0])
        for step in self.steps:
            step.run(env, n_rows, self.pool)
        return [env[name] for name in self.graph.output_values()]

    def _upload(self, index: int, array: Array) -> torch.Tensor:
        contiguous = array.flags.c_contiguous and array.flags.writeable  # torch wants writable memory
        host = torch.from_numpy(array if contiguous else np.array(array, order="C"))
        if self.device.type == "cpu":
            return host
        staging = self.pool.host(f"input:{index}", host.shape[0], host.shape[1], host.dtype)
        staging.copy_(host)
        device = self.pool.get(f"input:{index}", host.shape[0], host.shape[1], host.dtype)
        return device.copy_(staging, non_blocking=True)

    def _download(self, index: int, tensor: torch.Tensor) -> Any:
        if self.device.type == "cpu":
            return tensor.numpy()
        view = tensor.reshape(tensor.shape[0], -1)
        staging = self.pool.host(f"output:{index}", view.shape[0], view.shape[1], view.dtype)
        staging.copy_(view, non_blocking=True)
        torch.cuda.synchronize(self.device)
        return staging.numpy().reshape(tensor.shape)


__all__ = ["TORCH_DTYPES", "TritonBackend", "TritonExecutable", "device_name"]
