"""Fuse the preprocessing left outside the model kernels (column selection, concatenation, scalers, one-hot,
bucketize) into one generated Triton kernel.

Such a region is data movement plus per-column arithmetic, so every output column is an expression of a few
input columns and per-column constants. The region is evaluated symbolically column by column into the body of
one kernel: a block of rows per program, each source column loaded once, every output column stored once. What
was a dozen launches with a dozen intermediate matrices becomes one pass over the input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model_engine.backends.triton.elementwise_codegen import BINARY, PRELUDE, UNARY, immediate
from model_engine.ir.graph import Graph, Node
from model_engine.ops.fused import FUSABLE, parse_program

COLUMNAR_OPS = (
    frozenset(
        {"gather_columns", "concat", "one_hot", "bucketize", "category_index", "gather_rows", "fused_elementwise"}
    )
    | FUSABLE
)
MAX_TABLE_ROWS = 64
"""Row gathers (one-hot folded into a product) become a chain of selects; larger tables stay per-node."""
MAX_STATEMENTS = 2048
"""Regions generating more column statements than this (huge one-hot vocabularies) stay per-node."""


@dataclass
class Region:
    """A fused region: its nodes, the outside values it reads (``sources``) and the values it writes."""

    nodes: list[Node]
    sources: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    source: str = ""  # the generated kernel's module text


def _constant_ok(graph: Graph, name: str) -> bool:
    array = graph.constants[name]
    return array.ndim <= 1 or (array.ndim == 2 and array.shape[0] == 1)


def _eligible(graph: Graph, node: Node) -> bool:
    out = node.outputs[0].type
    if node.op not in COLUMNAR_OPS or len(node.outputs) != 1 or not out.batched or out.rank != 2:
        return False
    if out.dtype.value not in ("float32", "bool", "int32"):
        return False
    if node.op == "gather_rows":
        table = node.inputs[0]
        return (
            graph.is_constant(table)
            and graph.constants[table].ndim == 2
            and len(graph.constants[table]) <= MAX_TABLE_ROWS
        )
    if node.op == "bucketize":
        return graph.is_constant(node.inputs[1]) and graph.constants[node.inputs[1]].ndim == 1
    for name in node.inputs:
        if graph.is_constant(name):
            if not _constant_ok(graph, name):
                return False
        elif graph.type_of(name).rank != 2:
            return False
    return True


def find_regions(graph: Graph, taken: set[str]) -> list[Region]:
    """Connected groups (two or more nodes) of eligible nodes not already claimed by another lowering."""
    eligible = {n.name: n for n in graph.nodes if n.name not in taken and _eligible(graph, n)}
    parent = {name: name for name in eligible}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for node in eligible.values():
        for name in node.inputs:
            producer = graph.producer(name)
            if producer is not None and producer.name in eligible:
                parent[root(producer.name)] = root(node.name)
    groups: dict[str, list[Node]] = {}
    for node in graph.nodes:
        if node.name in eligible:
            groups.setdefault(root(node.name), []).append(node)
    regions = []
    for nodes in groups.values():
        region = _region(graph, nodes)
        if region is not None:
            regions.append(region)
    return regions


def _region(graph: Graph, nodes: list[Node]) -> Region | None:
    if len(nodes) < 2:
        return None
    inside = {v.name for n in nodes for v in n.outputs}
    members = {n.name for n in nodes}
    order = {n.name: i for i, n in enumerate(graph.nodes)}
    last = max(order[n.name] for n in nodes)
    outputs = []
    for value in sorted(inside, key=lambda v: order[graph.producer(v).name]):  # type: ignore[union-attr]
        outside_users = [u for u in graph.users(value) if u.name not in members]
        if outside_users or value in graph.outputs.values():
            if any(order[u.name] < last for u in outside_users):
                return None  # an outside node needs this value before the region's last node runs
            outputs.append(value)
    sources = []
    for node in nodes:
        for name in node.inputs:
            if name not in inside and not graph.is_constant(name) and name not in sources:
                producer = graph.producer(name)
                if producer is not None and order[producer.name] > order[nodes[0].name]:
                    return None  # produced between the region's nodes by something outside it
                sources.append(name)
    region = Region(nodes, sources, outputs)
    body = _codegen(graph, region)
    if body is None:
        return None
    region.source = body
    return region


class _Writer:
    def __init__(self, graph: Graph, sources: list[str]) -> None:
        self.graph = graph
        self.lines: list[str] = []
        self.loaded: dict[tuple[int, int], str] = {}
        self.index = {name: i for i, name in enumerate(sources)}
        self.counter = 0

    def emit(self, expr: str) -> str:
        self.counter += 1
        name = f"t{self.counter}"
        self.lines.append(f"    {name} = {expr}")
        return name

    def source_column(self, source: int, col: int) -> str:
        key = (source, col)
        if key not in self.loaded:
            ptr = f"p{source} + r * sr{source} + {col} * sc{source}"
            self.loaded[key] = self.emit(f"tl.load({ptr}, mask=ok, other=0)")
        return self.loaded[key]


def _const_column(array: np.ndarray[Any, Any], col: int) -> str:
    flat = array.reshape(-1)
    value = flat[0] if flat.size == 1 else flat[col]
    return immediate(value.item(), array.dtype.name)


def _codegen(graph: Graph, region: Region) -> str | None:
    writer = _Writer(graph, region.sources)
    columns: dict[str, list[str]] = {}

    def cols(name: str, width: int) -> list[str]:
        if name in columns:
            found = columns[name]
            return found * width if len(found) == 1 and width > 1 else found
        k = int(graph.type_of(name).shape[1] or 0)
        got = [writer.source_column(writer.index[name], j) for j in range(k)]
        return got * width if k == 1 and width > 1 else got

    for node in region.nodes:
        out_width = int(node.outputs[0].type.shape[1] or 0)
        if node.op == "gather_columns":
            src = cols(node.inputs[0], 0)
            result = [src[int(i)] for i in node.attrs["indices"]]  # type: ignore[union-attr]
        elif node.op == "concat":
            result = [c for name in node.inputs for c in cols(name, 0)]
        elif node.op == "one_hot":
            (c,) = cols(node.inputs[0], 0)
            cats = node.attrs["categories"]
            assert isinstance(cats, tuple)
            result = [writer.emit(f"({c} == {immediate(float(v), 'float32')}).to(tl.float32)") for v in cats]
        elif node.op == "bucketize":
            (c,) = cols(node.inputs[0], 0)
            edges = graph.constants[node.inputs[1]]
            compare = ">=" if node.attrs.get("right", True) else ">"
            terms = [f"({c} {compare} {immediate(float(e), 'float32')}).to(tl.float32)" for e in edges] or ["0.0"]
            count = writer.emit(" + ".join(terms) if len(terms) > 1 else f"{terms[0]} + 0.0 * {c}")
            result = [writer.emit(f"tl.where({c} != {c}, {float(len(edges))}, {count})")]  # NaN sorts last
        elif node.op == "category_index":
            (c,) = cols(node.inputs[0], 0)
            cats = node.attrs["categories"]
            assert isinstance(cats, tuple)
            index = writer.emit(f"tl.full([1, 1], {len(cats)}, tl.int32) + 0 * {c}.to(tl.int32)")
            for k in range(len(cats) - 1, -1, -1):  # the first matching category wins, as in NumPy's argmax
                index = writer.emit(f"tl.where({c} == {immediate(float(cats[k]), 'float32')}, {k}, {index})")
            result = [index]
        elif node.op == "gather_rows":
            (index,) = cols(node.inputs[1], 0)
            table = graph.constants[node.inputs[0]]
            result = []
            for m in range(table.shape[1]):
                value = writer.emit(f"{immediate(table[-1, m].item(), 'float32')} + 0.0 * {index}.to(tl.float32)")
                for k in range(table.shape[0] - 2, -1, -1):
                    value = writer.emit(
                        f"tl.where({index} == {k}, {immediate(table[k, m].item(), 'float32')}, {value})"
                    )
                result.append(value)
        else:
            if node.op == "fused_elementwise":
                program = parse_program(node.attrs["program"], len(node.inputs))
            else:
                program = [(node.op, tuple(("r", i) for i in range(len(node.inputs))))]
            result = []
            for j in range(out_width):
                registers = []
                for name in node.inputs:
                    if graph.is_constant(name):
                        registers.append(_const_column(graph.constants[name], j))
                    else:
                        column = cols(name, out_width)
                        registers.append(column[j])
                for op, args in program:
                    operands = [registers[a[1]] if a[0] == "r" else immediate(a[1], a[2]) for a in args]
                    if op in UNARY:
                        expr = UNARY[op](operands[0])
                    elif op in BINARY:
                        expr = BINARY[op](*operands)
                    else:  # where
                        expr = f"tl.where({operands[0]}, {operands[1]}, {operands[2]})"
                    registers.append(writer.emit(expr))
                result.append(registers[-1])
        columns[node.outputs[0].name] = result
        if writer.counter > MAX_STATEMENTS:
            return None
    params = "".join(f"p{i}, sr{i}, sc{i}, " for i in range(len(region.sources)))
    outs = "".join(f"o{i}, " for i in range(len(region.outputs)))
    head = [
        "@triton.jit",
        f"def fused_kernel({outs}{params}n_rows, BLOCK_R: tl.constexpr):",
        "    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)",
        "    ok = (rows < n_rows)[:, None]",
        "    r = rows.to(tl.int64)[:, None]",
    ]
    stores = []
    for i, name in enumerate(region.outputs):
        width = len(columns[name])
        for j, expr in enumerate(columns[name]):
            stores.append(f"    tl.store(o{i} + r * {width} + {j}, {expr}, mask=ok)")
    return PRELUDE + "\n" + "\n".join(head + writer.lines + stores) + "\n"
