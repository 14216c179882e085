"""The numba backend: a precomputed execution plan over compiled kernels, row tiles and one memory arena.

``prepare`` resolves every node once into a step that reads and writes preallocated buffers (slots), so a call
does no graph walking, no dictionary lookups and no allocation besides its outputs: batch-1 latency stays close
to the kernels' own cost. Trees and fused elementwise programs run as numba loops; matrix products use NumPy's
sum of products, row by row (:func:`~model_engine.ops.linalg.matmul_rows`: BLAS would round a row differently
in another batch); ufunc ops and ``cast`` write into their slots with NumPy's own loops; the remaining ops
(cheap reshaping ones) use their NumPy reference kernels.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from model_engine.backends import numba_kernels as nk
from model_engine.backends import numba_trees as nt
from model_engine.backends.base import DEFAULT_TILE_ROWS, Array, check_inputs, row_tiles
from model_engine.backends.numba_tree_shap import tree_shap_step
from model_engine.backends.plan import MemoryPlan, plan_memory
from model_engine.errors import SignatureError
from model_engine.ir.graph import Graph, Node
from model_engine.ops.elementwise import cast_into
from model_engine.ops.fused import parse_program
from model_engine.ops.groups import GroupOp
from model_engine.ops.linalg import matmul_rows
from model_engine.ops.registry import get_op
from model_engine.ops.verify import verify_graph

Step = Callable[[list[Any]], None]
ROW_BLOCK = 512  # rows that pass through one tree before the next: the tree's nodes stay in cache


class _Compiler:
    """Turns nodes into steps over slot indices."""

    def __init__(self, graph: Graph, tree_layout: str = "auto") -> None:
        self.graph = graph
        self.tree_layout = tree_layout
        self.slots: dict[str, int] = {}
        for name in (
            [v.name for v in graph.inputs] + list(graph.constants) + [v.name for n in graph.nodes for v in n.outputs]
        ):
            self.slots.setdefault(name, len(self.slots))

    def steps(self) -> list[Step]:
        """One step per node, except that ``concat(c - p, p)`` (the two-class head) runs as one kernel."""
        heads: dict[str, Node] = {}
        skipped: set[str] = set()
        for node in self.graph.nodes:
            head = self._binary_head(node)
            if head is not None:
                heads[node.name] = head
                skipped.add(head.name)
        steps = []
        for node in self.graph.nodes:
            if node.name in heads:
                steps.append(self._head_step(node, heads[node.name]))
            elif node.name not in skipped:
                steps.append(self.step(node))
        return steps

    def _binary_head(self, node: Node) -> Node | None:
        if node.op != "concat" or len(node.inputs) != 2 or node.output.type.rank != 2:
            return None
        complement, p = node.inputs
        sub = self.graph.producer(complement)
        if sub is None or sub.op != "sub" or sub.inputs[1] != p or self.graph.type_of(p).shape[1:] != (1,):
            return None
        c = sub.inputs[0]
        if not self.graph.is_constant(c) or self.graph.constants[c].size != 1:
            return None
        users = self.graph.users(complement)
        if users != [node] or complement in self.graph.outputs.values():
            return None
        return sub

    def _head_step(self, node: Node, sub: Node) -> Step:
        p, out = self.slots[node.inputs[1]], self.slots[node.output.name]
        c = float(self.graph.constants[sub.inputs[0]].reshape(()))

        def run(s: list[Any]) -> None:
            nk.binary_head(s[p], c, s[out])

        return run

    def step(self, node: Node) -> Step:
        ins = [self.slots[i] for i in node.inputs]
        out = self.slots[node.output.name]
        op = node.op
        if op == "matmul":
            a, b = ins
            return lambda s: matmul_rows(s[a], s[b], out=s[out])
        if op in GroupOp.UFUNC and len(node.outputs) == 1:
            ufunc = GroupOp.UFUNC[op]
            if len(ins) == 1:
                (a,) = ins
                return lambda s: ufunc(s[a], out=s[out])
            a, b = ins
            return lambda s: ufunc(s[a], s[b], out=s[out])
        if op == "cast":  # NumPy's conversion loop straight into the output buffer, as the ufunc ops above
            (a,) = ins
            return lambda s: cast_into(s[a], s[out])
        if op == "fused_elementwise" or op in GroupOp.FUSABLE:  # the fusable ops no ufunc computes
            return self._fused(node, ins, out)
        if op == "tree_traverse_perfect":
            return self._perfect(node, ins, out)
        if op in ("tree_traverse_compact", "tree_ensemble"):
            return self._compact(node, ins, out)
        if op == "tree_shap":
            return tree_shap_step(self.graph, node, ins[0], out)
        if op == "concat":
            return self._concat(ins, out)
        if op == "gather_columns":
            (a,) = ins
            index = np.asarray(node.attrs["indices"], dtype=np.intp)

            def gather(s: list[Any]) -> None:
                np.take(s[a], index, axis=1, out=s[out])

            return gather
        return self._reference(node, ins, out)

    def _fused(self, node: Node, ins: list[int], out: int) -> Step:
        if node.op == "fused_elementwise":
            program = parse_program(node.attrs["program"], len(ins))
        else:
            program = [(node.op, tuple(("r", i) for i in range(len(ins))))]
        out_type = node.output.type
        if out_type.rank != 2 or not out_type.batched:
            return self._reference(node, ins, out)
        width = int(out_type.shape[1] or 0)
        kinds: list[str] = []
        fixed: dict[int, Array] = {}  # constants, flattened once to the row or the single value they hold
        for pos, name in enumerate(node.inputs):
            t = self.graph.type_of(name)
            if not t.batched:
                array = self.graph.constants[name]
                if array.size == 1:
                    kinds.append("scalar")
                    fixed[pos] = np.ascontiguousarray(array.reshape(1))
                else:
                    kinds.append("row")
                    fixed[pos] = np.ascontiguousarray(np.broadcast_to(array, (1, width)).reshape(width))
            elif t.rank == 2 and t.shape[1] == width:
                kinds.append("full")
            elif t.rank == 2 and t.shape[1] == 1:
                kinds.append("col")
            else:
                return self._reference(node, ins, out)
        kernel = nk.fused_kernel(program, kinds)
        sources = [(fixed[pos], -1) if pos in fixed else (None, slot) for pos, slot in enumerate(ins)]

        def run(s: list[Any]) -> None:
            kernel(s[out], *[array if slot < 0 else s[slot] for array, slot in sources])

        return run

    def _reference(self, node: Node, ins: list[int], out: int) -> Step:
        reference = get_op(node.op).reference
        attrs = node.attrs

        def fallback(s: list[Any]) -> None:
            s[out][...] = reference(attrs, *(s[i] for i in ins))[0]

        return fallback

    def _perfect(self, node: Node, ins: list[int], out: int) -> Step:
        x, feature, threshold, missing_left, leaf_value = ins
        depth = int(node.attrs["depth"])  # type: ignore[arg-type]
        n_trees = self.graph.constants[node.inputs[1]].shape[0]
        divisor, base, post = nt.finish_args(node.attrs, n_trees, node.output.type.dtype.numpy)

        def run(s: list[Any]) -> None:
            nt.perfect_trees(s[x], s[feature], s[threshold], s[missing_left], s[leaf_value], depth, ROW_BLOCK,
                             divisor, base, post, s[out])  # fmt: skip

        return run

    def _compact(self, node: Node, ins: list[int], out: int) -> Step:
        x = ins[0]
        tables = [self.graph.constants[n] for n in node.inputs[1:]]
        feature, threshold, left = tables[:3]
        n_features = int(self.graph.type_of(node.inputs[0]).shape[1] or 0)
        divisor, base, post = nt.finish_args(node.attrs, tables[-1].shape[0], node.output.type.dtype.numpy)
        if nt.choose_layout(feature, threshold, left, n_features, self.tree_layout) == "records":
            records, value, roots, depths = nt.pack_records(*tables)

            def run_records(s: list[Any]) -> None:
                nt.compact_trees(s[x], records, value, roots, depths, ROW_BLOCK, divisor, base, post, s[out])

            return run_records
        b = nt.pack_binned(*tables[:7], n_features=n_features)

        def run_binned(s: list[Any]) -> None:
            nt.binned_trees(s[x], b.edges, b.starts, b.nodes, b.value, b.roots, b.depths, b.bins_like, ROW_BLOCK,
                            divisor, base, post, s[out])  # fmt: skip

        return run_binned

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

    def __init__(self, graph: Graph, tile_rows: int, tree_layout: str = "auto") -> None:
        verify_graph(graph)
        self.graph = graph
        self.tile_rows = tile_rows
        compiler = _Compiler(graph, tree_layout)
        self._slots = compiler.slots
        self._steps = compiler.steps()
        self.plan: MemoryPlan = plan_memory(graph, tile_rows)
        self._template: list[Any] = [None] * len(self._slots)
        for name, array in graph.constants.items():
            self._template[self._slots[name]] = array
        self._input_slots = [self._slots[v.name] for v in graph.inputs]
        self._input_types = [v.type for v in graph.inputs]
        self._outputs = [(self._slots[name], graph.type_of(name)) for name in graph.output_values()]
        self._checks = [(t.dtype.numpy, tuple(t.shape[1:])) for t in self._input_types]
        self._output_alloc = [(t.dtype.numpy, tuple(int(d or 0) for d in t.shape[1:])) for _, t in self._outputs]
        self._dtype0, self._shape0 = self._checks[0]
        self._out_dtype0, self._out_shape0 = self._output_alloc[0]
        self._x_slot, self._out_slot = self._input_slots[0], self._outputs[0][0]
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
        if len(inputs) != len(self._checks) or any(
            a.dtype != dtype or a.shape[1:] != shape for a, (dtype, shape) in zip(inputs, self._checks, strict=False)
        ):
            check_inputs(self.graph, list(inputs))
        n = inputs[0].shape[0]
        if len(inputs) > 1 and not all(a.shape[0] == n for a in inputs):
            raise SignatureError("inputs have different row counts")
        outputs = [np.empty((n, *shape), dtype=dtype) for dtype, shape in self._output_alloc]
        if n <= self.tile_rows:
            self._run_tile(tuple(a if a.flags.c_contiguous else np.ascontiguousarray(a) for a in inputs), outputs)
            return outputs
        for start, stop in row_tiles(n, self.tile_rows):
            self._run_tile(tuple(np.ascontiguousarray(a[start:stop]) for a in inputs), [o[start:stop] for o in outputs])
        return outputs

    def run_matrix(self, x: Array) -> Array:
        """The first output for a single input matrix: the per-call fast path of one-input, one-output models."""
        if x.dtype != self._dtype0 or x.shape[1:] != self._shape0 or not x.flags.c_contiguous:
            return self.run(x)[0]
        n = x.shape[0]
        if n > self.tile_rows:
            return self.run(x)[0]
        out = np.empty((n, *self._out_shape0), dtype=self._out_dtype0)
        slots = self._slots_for(n)
        slots[self._x_slot] = x
        slots[self._out_slot] = out
        for step in self._steps:
            step(slots)
        return out


class NumbaBackend:
    """Compiled CPU execution (single-threaded kernels; run tiles in parallel threads if you need more).

    ``tree_layout`` lays out tree ensembles' nodes: "auto" (binned where it holds the ensemble, else float
    records), "binned" or "records" (see :mod:`model_engine.backends.numba_trees`); every layout is exact.

    >>> from model_engine.ir import DType
    >>> from model_engine.ops import GraphBuilder
    >>> b = GraphBuilder()
    >>> b.output("y", b.op("exp", b.input("x", DType.FLOAT64, 1)))
    >>> NumbaBackend().prepare(b.build()).run(np.zeros((2, 1)))
    [array([[1.],
           [1.]])]
    """

    name = "numba"

    def __init__(self, tree_layout: str = "auto") -> None:
        if tree_layout not in nt.LAYOUTS:
            raise ValueError(f"tree_layout must be one of {nt.LAYOUTS}, got {tree_layout!r}")
        self.tree_layout = tree_layout

    def prepare(self, graph: Graph, *, tile_rows: int = DEFAULT_TILE_ROWS) -> NumbaExecutable:
        return NumbaExecutable(graph, tile_rows, self.tree_layout)
