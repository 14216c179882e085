"""Lower a compiled graph to device steps: MLP chains, tree traversals, fused elementwise programs, device ops.

Every op of the engine's vocabulary has a device lowering. An op added to the vocabulary later without one
runs on the host through its NumPy reference kernel (a :class:`HostStep`: correct, but with a round trip per
node); ``strict=True`` turns that into an error naming the ops instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from model_engine.backends.triton.buffers import BufferPool
from model_engine.backends.triton.columnar import find_regions
from model_engine.backends.triton.dense_match import match_chain
from model_engine.backends.triton.elementwise_codegen import load_kernel
from model_engine.backends.triton.elementwise_launch import FusedElementwise
from model_engine.backends.triton.forest_launch import DEFAULT_TREES_PER_CHUNK, TreeEnsembleKernel
from model_engine.backends.triton.forest_layout import (
    ForestOutput,
    TreeTables,
    pack_compact,
    pack_perfect,
    perfect_from_arrays,
    tree_depths,
)
from model_engine.backends.triton.mlp_launch import FusedMLP
from model_engine.backends.triton.mlp_layout import pack_mlp
from model_engine.backends.triton.steps import (
    ColumnarStep,
    DeviceOpStep,
    ElementwiseStep,
    ForestStep,
    HostStep,
    MLPStep,
    Step,
)
from model_engine.backends.triton.torch_ops import TORCH_OPS
from model_engine.errors import BackendUnavailableError
from model_engine.ir.graph import Graph, Node
from model_engine.ops.fused import FUSABLE, parse_program

DEVICE_PERFECT_MAX_DEPTH = 10
"""Deepest trees padded to the perfect layout on the device (2**10 leaves a tree); deeper ones stay compact."""
TREE_OUTPUTS = {"none": ForestOutput.IDENTITY, "sigmoid": ForestOutput.BINARY_SIGMOID,
                "softmax": ForestOutput.SOFTMAX}  # fmt: skip


@dataclass(frozen=True)
class LoweringOptions:
    precision: str = "ieee"
    trees_per_chunk: int = DEFAULT_TREES_PER_CHUNK
    strict: bool = False


def lower(graph: Graph, device: torch.device, pool: BufferPool, options: LoweringOptions) -> list[Step]:
    """The steps that compute ``graph`` on ``device``, in topological order.

    Dense chains are claimed first (they own the bias and activation nodes after each product), then the
    preprocessing regions among what is left; every other node is lowered on its own.
    """
    chains = {}
    taken: set[str] = set()
    for node in graph.nodes:
        if node.op == "matmul" and node.name not in taken:
            chain = match_chain(graph, node)
            if chain is not None:
                chains[node.name] = chain
                taken.update(chain.nodes)
    regions = {region.nodes[-1].name: region for region in find_regions(graph, taken)}
    taken.update(n.name for region in regions.values() for n in region.nodes)
    steps: list[Step] = []
    host_ops: list[str] = []
    for node in graph.nodes:
        step: Step | None
        if node.name in chains:
            chain = chains[node.name]
            mlp = FusedMLP(pack_mlp(chain.layers, chain.output), device, precision=options.precision)
            step = MLPStep(mlp, chain.source, chain.result, graph.type_of(chain.result), tuple(chain.nodes))
        elif node.name in regions:
            region = regions[node.name]
            results = tuple((name, graph.type_of(name)) for name in region.outputs)
            names = tuple(n.name for n in region.nodes)
            step = ColumnarStep(load_kernel(region.source), tuple(region.sources), results, names)
        elif node.name in taken:
            continue
        else:
            step = _lower_node(graph, node, device, pool, options)
        if step is None:
            host_ops.append(node.op)
            step = HostStep(node.op, dict(node.attrs), node.inputs, tuple(v.name for v in node.outputs), (node.name,))
        steps.append(step)
    if host_ops and options.strict:
        raise BackendUnavailableError(
            f"the triton backend has no device lowering for op(s) {sorted(set(host_ops))}; run this model on the "
            "numba or numpy backend, or allow host fallback (strict=False)"
        )
    return steps


def _lower_node(
    graph: Graph, node: Node, device: torch.device, pool: BufferPool, options: LoweringOptions
) -> Step | None:
    if node.op in ("tree_traverse_perfect", "tree_traverse_compact", "tree_ensemble"):
        return _forest_step(graph, node, device, pool, options)
    out_type = node.outputs[0].type
    if (node.op == "fused_elementwise" or node.op in FUSABLE) and out_type.batched and out_type.rank == 2:
        if node.op == "fused_elementwise":
            program = parse_program(node.attrs["program"], len(node.inputs))
        else:
            program = [(node.op, tuple(("r", i) for i in range(len(node.inputs))))]
        kernel = FusedElementwise(program, len(node.inputs))
        return ElementwiseStep(kernel, node.inputs, node.output.name, out_type, (node.name,))
    if node.op in TORCH_OPS and len(node.outputs) == 1:
        return DeviceOpStep(TORCH_OPS[node.op], dict(node.attrs), node.inputs, node.output.name, (node.name,))
    return None


def _forest_step(graph: Graph, node: Node, device: torch.device, pool: BufferPool, options: LoweringOptions) -> Step:
    attrs: Mapping[str, Any] = node.attrs
    tables = [graph.constants[name] for name in node.inputs[1:]]
    if node.op == "tree_traverse_perfect":
        feature, threshold, missing_left, leaf_value = tables
        layout: Any = perfect_from_arrays(feature, threshold, missing_left, leaf_value, int(attrs["depth"]))
    else:
        feature, threshold, left, right, value, missing_left, roots = tables
        trees = TreeTables(feature, threshold, left, right, missing_left, value, roots)
        # The strategy pass weighs padding against CPU caches; on the GPU a fixed trip count and two loads per
        # level (no child offsets) win for any tree shallow enough to pad, so those are re-laid out as perfect.
        depth = int(tree_depths(trees).max(initial=0))
        layout = pack_perfect(trees, depth) if depth <= DEVICE_PERFECT_MAX_DEPTH else pack_compact(trees)
    n_outputs = layout.n_outputs
    base = np.asarray(attrs.get("base_score") or (0.0,) * n_outputs, dtype=np.float32)
    x_type = graph.type_of(node.inputs[0])
    forest = TreeEnsembleKernel(
        layout,
        n_features=int(x_type.shape[1] or 0),
        aggregation=str(attrs.get("aggregation", "sum")),
        base_score=base,
        output=TREE_OUTPUTS[str(attrs.get("post_transform", "none"))],
        device=device,
        trees_per_chunk=options.trees_per_chunk,
        pool=pool,
    )
    return ForestStep(forest, node.inputs[0], node.output.name, node.output.type, (node.name,))
