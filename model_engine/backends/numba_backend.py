"""The numba backend: a precomputed execution plan over compiled kernels, row tiles and one memory arena.

``prepare`` resolves every node once into a step that reads and writes preallocated buffers (slots), so a call
does no graph walking, no dictionary lookups and no allocation besides its outputs: batch-1 latency stays close
to the kernels' own cost. Trees and fused elementwise programs run as numba loops; matrix products use NumPy's
BLAS; the remaining ops (cheap reshaping ones) use their NumPy reference kernels.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from model_engine.backends import numba_kernels as nk
from model_engine.backends.base import DEFAULT_TILE_ROWS, Array, check_inputs, row_tiles
from model_engine.backends.plan import MemoryPlan, plan_memory
from model_engine.errors import SignatureError
from model_engine.ir.graph import Graph, Node
from model_engine.ops.fused import parse_program
from model_engine.ops.registry import get_op

Step = Callable[[list[Any]], None]

_UFUNCS: dict[str, Any] = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "maximum": np.maximum,
    "minimum": np.minimum, "neg": np.negative, "abs": np.abs, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
    "tanh": np.tanh, "isnan": np.isnan, "less": np.less, "less_equal": np.less_equal, "greater": np.greater,
    "greater_equal": np.greater_equal, "equal": np.equal,
}  # fmt: skip


class _Compiler:
    """Turns nodes into steps over slot indices."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.slots: dict[str, int] = {}
        for name in (
            [v.name for v in graph.inputs] + list(graph.constants) + [v.name for n in graph.nodes for v in n.outputs]
        ):
            self.slots.setdefault(name, len(self.slots))

    def step(self, node: Node) -> Step:
        ins = [self.slots[i] for i in node.inputs]
        out = self.slots[node.output.name]
        op = node.op
        if op == "matmul":
            a, b = ins
            return lambda s: np.matmul(s[a], s[b], out=s[out])
        if op in _UFUNCS and len(node.outputs) == 1:
            ufunc = _UFUNCS[op]
            if len(ins) == 1:
                (a,) = ins
                return lambda s: ufunc(s[a], out=s[out])
            a, b = ins
            return lambda s: ufunc(s[a], s[b], out=s[out])
        if op == "fused_elementwise" or op in ("sigmoid", "relu", "where"):
            return self._fused(node, ins, out)
        if op == "tree_traverse_perfect":
            return self._perfect(node, ins, out)
        if op == "tree_traverse_compact":
            return self._compact(node, ins, out)
        if op == "concat":
            return self._concat(ins, out)
        if op == "gather_columns":
            (a,) = ins
            index = np.asarray(node.attrs["indices"], dtype=np.intp)

            def gather(s: list[Any]) -> None:
                np.take(s[a], index, axis=1, out=s[out])

            return gather
        reference = get_op(op).reference
        attrs = node.attrs

        def fallback(s: list[Any]) -> None:
            s[out][...] = reference(attrs, *(s[i] for i in ins))[0]

        return fallback

    def _fused(self, node: Node, ins: list[int], out: int) -> Step:
        if node.op == "fused_elementwise":
            program = parse_program(node.attrs["program"], len(ins))
        else:
            program = [(node.op, tuple(("r", i) for i in range(len(ins))))]
        out_shape = node.output.type.shape
        # inputs that broadcast (constants such as a bias row) are expanded once, at plan time, when constant
        kernel = nk.fused_kernel(program, len(ins))
        const_views: dict[int, Array] = {}
        batched: list[int] = []
        for pos, name in enumerate(node.inputs):
            t = self.graph.type_of(name)
            if not t.batched:
                row = np.broadcast_to(self.graph.constants[name], (1, *[int(d or 1) for d in out_shape[1:]]))
                const_views[pos] = np.ascontiguousarray(row)
            elif t.shape != out_shape:
                batched.append(pos)
        n_ins = len(ins)

        def run(s: list[Any]) -> None:
            target = s[out]
            args = []
            for pos in range(n_ins):
                view = const_views.get(pos)
                if view is None:
                    view = s[ins[pos]]
                    if pos in batched:
                        view = np.broadcast_to(view, target.shape)
                else:
                    view = np.broadcast_to(view, target.shape)
                args.append(view)
            kernel(target, *args)

        return run

    def _perfect(self, node: Node, ins: list[int], out: int) -> Step:
        x, feature, threshold, missing_left, leaf_value = ins
        depth = int(node.attrs["depth"])  # type: ignore[arg-type]
        attrs = node.attrs
        n_trees = self.graph.constants[node.inputs[1]].shape[0]
        n_out = self.graph.constants[node.inputs[4]].shape[2]

        def run(s: list[Any]) -> None:
            raw = np.empty((s[x].shape[0], n_out), dtype=s[out].dtype)
            nk.perfect_raw(s[x], s[feature], s[threshold], s[missing_left], s[leaf_value], depth, raw)
            nk.finish(raw, s[out], attrs, n_trees)

        return run

    def _compact(self, node: Node, ins: list[int], out: int) -> Step:
        x, feature, threshold, left, right, value, missing_left, roots = ins
        attrs = node.attrs
        n_trees = self.graph.constants[node.inputs[7]].shape[0]
        n_out = self.graph.constants[node.inputs[5]].shape[1]

        def run(s: list[Any]) -> None:
            raw = np.empty((s[x].shape[0], n_out), dtype=s[out].dtype)
            nk.compact_raw(s[x], s[feature], s[threshold], s[left], s[right], s[value], s[missing_left], s[roots], raw)
            nk.finish(raw, s[out], attrs, n_trees)

        return run

    def _concat(self, ins: list[int], out: int) -> Step:
        widths = [int(self.graph.type_of(n).shape[1] or 0) for n in self._names(ins)]
        bounds = np.cumsum([0, *widths]).tolist()
        parts = list(zip(ins, bounds[:-1], bounds[1:], strict=True))

        def run(s: list[Any]) -> None:
            target = s[out]
            for slot, lo, hi in parts:
                target[:, lo:hi] = s[slot]

        return run

    def _names(self, slots: list[int]) -> list[str]:
        by_slot = {v: k for k, v in self.slots.items()}
        return [by_slot[i] for i in slots]


class NumbaExecutable:
    """A graph compiled to a list of steps over slots; intermediates live in a per-thread arena."""

    def __init__(self, graph: Graph, tile_rows: int) -> None:
        graph.verify()
        self.graph = graph
        self.tile_rows = tile_rows
        compiler = _Compiler(graph)
        self._slots = compiler.slots
        self._steps = [compiler.step(node) for node in graph.nodes]
        self.plan: MemoryPlan = plan_memory(graph, tile_rows)
        self._template: list[Any] = [None] * len(self._slots)
        for name, array in graph.constants.items():
            self._template[self._slots[name]] = array
        self._input_slots = [self._slots[v.name] for v in graph.inputs]
        self._input_types = [v.type for v in graph.inputs]
        self._outputs = [(self._slots[name], graph.type_of(name)) for name in graph.output_values()]
        self._local = threading.local()
        self._warm_up()

    def _warm_up(self) -> None:
        # compile (or load from numba's cache) every kernel now rather than inside the first scoring call
        example = [np.zeros((1, *[int(d or 0) for d in t.shape[1:]]), dtype=t.dtype.numpy) for t in self._input_types]
        self.run(*example)

    def _slots_for(self, n: int) -> list[Any]:
        cache: dict[int, list[Any]] | None = getattr(self._local, "views", None)
        if cache is None:
            cache = self._local.views = {}
            self._local.arena = np.empty(self.plan.arena_bytes, dtype=np.uint8)
        slots = cache.get(n)
        if slots is None:
            if len(cache) >= 8:
                cache.clear()
            arena = self._local.arena
            slots = list(self._template)
            for name, buffer in self.plan.buffers.items():
                t = self.graph.type_of(name)
                shape = (n, *[int(d or 0) for d in t.shape[1:]])
                size = int(np.prod(shape)) * t.dtype.numpy.itemsize
                slots[self._slots[name]] = (
                    arena[buffer.offset : buffer.offset + size].view(t.dtype.numpy).reshape(shape)
                )
            cache[n] = slots
        return slots

    def _run_tile(self, inputs: tuple[Array, ...], outputs: list[Array]) -> None:
        slots = self._slots_for(inputs[0].shape[0])
        for slot, array in zip(self._input_slots, inputs, strict=True):
            slots[slot] = array
        for (slot, _), array in zip(self._outputs, outputs, strict=True):
            slots[slot] = array
        for step in self._steps:
            step(slots)

    def run(self, *inputs: Array) -> list[Array]:
        if len(inputs) != len(self._input_types):
            check_inputs(self.graph, list(inputs))
        for array, t in zip(inputs, self._input_types, strict=True):
            if array.dtype != t.dtype.numpy or array.shape[1:] != t.shape[1:]:
                check_inputs(self.graph, list(inputs))
        n = inputs[0].shape[0]
        if not all(a.shape[0] == n for a in inputs):
            raise SignatureError("inputs have different row counts")
        outputs = [np.empty((n, *[int(d or 0) for d in t.shape[1:]]), dtype=t.dtype.numpy) for _, t in self._outputs]
        if n <= self.tile_rows:
            self._run_tile(tuple(np.ascontiguousarray(a) for a in inputs), outputs)
            return outputs
        for start, stop in row_tiles(n, self.tile_rows):
            self._run_tile(tuple(np.ascontiguousarray(a[start:stop]) for a in inputs), [o[start:stop] for o in outputs])
        return outputs


class NumbaBackend:
    """Compiled CPU execution (single-threaded kernels; run tiles in parallel threads if you need more)."""

    name = "numba"

    def prepare(self, graph: Graph, *, tile_rows: int = DEFAULT_TILE_ROWS) -> NumbaExecutable:
        return NumbaExecutable(graph, tile_rows)
