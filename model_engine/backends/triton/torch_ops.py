"""Device implementations of the ops that need no kernel of their own: exact data movement (column and row
gathers, concatenation, one-hot, bucketize, casts), the reductions, stray matrix products, and ``tree_gemm``.

Each takes the node's attributes and its inputs as device tensors and returns the output tensor; all follow the
op's NumPy reference (``model_engine.ops``) including NaN handling. Matrix products run in full fp32 (torch's
default ``highest`` matmul precision: no TF32).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from model_engine.errors import GraphError

TorchOp = Callable[..., torch.Tensor]
DTYPES = {"float32": torch.float32, "float64": torch.float64, "int32": torch.int32, "int64": torch.int64,
          "bool": torch.bool}  # fmt: skip


def _floats(attrs: Mapping[str, Any], key: str, like: torch.Tensor) -> torch.Tensor:
    return torch.tensor([float(v) for v in attrs[key]], dtype=like.dtype, device=like.device)


def _gather_columns(attrs: Mapping[str, Any], x: torch.Tensor) -> torch.Tensor:
    index = torch.tensor([int(i) for i in attrs["indices"]], dtype=torch.int64, device=x.device)
    return torch.index_select(x, 1, index)


def _one_hot(attrs: Mapping[str, Any], x: torch.Tensor) -> torch.Tensor:
    return (x == _floats(attrs, "categories", x)[None, :]).to(x.dtype)


def _category_index(attrs: Mapping[str, Any], x: torch.Tensor) -> torch.Tensor:
    categories = _floats(attrs, "categories", x)
    hits = (x == categories[None, :]).to(torch.int8)
    found = hits.amax(dim=1) > 0 if categories.numel() else torch.zeros_like(x[:, 0], dtype=torch.bool)
    first = hits.argmax(dim=1) if categories.numel() else torch.zeros_like(x[:, 0], dtype=torch.int64)
    index = torch.where(found, first, torch.full_like(first, categories.numel()))
    return index.to(torch.int32).reshape(-1, 1)


def _bucketize(attrs: Mapping[str, Any], x: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    column = x[:, 0].contiguous()
    bins = torch.searchsorted(edges, column, right=bool(attrs.get("right", True)))
    bins = torch.where(torch.isnan(column), torch.full_like(bins, edges.numel()), bins)  # NumPy sorts NaN last
    return bins.to(x.dtype).reshape(-1, 1)


def _go_left(x: torch.Tensor, threshold: torch.Tensor, missing_left: torch.Tensor) -> torch.Tensor:
    return (x <= threshold) | (torch.isnan(x) & missing_left)


def finish_trees(attrs: Mapping[str, Any], raw: torch.Tensor, n_trees: int) -> torch.Tensor:
    """Aggregation, base score and post-transform of summed leaf values (as ``model_engine.ops.trees.finish``)."""
    if attrs.get("aggregation", "sum") == "mean":
        raw = raw / n_trees
    base = attrs.get("base_score")
    if base is not None:
        raw = raw + torch.tensor([float(b) for b in base], dtype=raw.dtype, device=raw.device)
    transform = attrs.get("post_transform", "none")
    if transform == "sigmoid":
        s = torch.sigmoid(raw[:, :1])
        return torch.cat([1.0 - s, s], dim=1)
    if transform == "softmax":
        return torch.softmax(raw, dim=1)
    return raw


def _tree_gemm(attrs: Mapping[str, Any], x: torch.Tensor, feature: torch.Tensor, threshold: torch.Tensor,
               missing_left: torch.Tensor, path: torch.Tensor, left_counts: torch.Tensor,
               leaf_value: torch.Tensor) -> torch.Tensor:  # fmt: skip
    # Conditions and path hold 0/1 and the counts are small integers, so the first product is exact in fp32.
    conditions = _go_left(x[:, feature.long()], threshold, missing_left).to(x.dtype)
    reached = (conditions @ path == left_counts).to(x.dtype)
    return finish_trees(attrs, reached @ leaf_value, int(attrs["n_trees"]))


def _cast(attrs: Mapping[str, Any], x: torch.Tensor) -> torch.Tensor:
    return x.to(DTYPES[str(attrs["to"])])


TORCH_OPS: dict[str, TorchOp] = {
    "gather_columns": _gather_columns,
    "concat": lambda attrs, *xs: torch.cat(xs, dim=1),
    "one_hot": _one_hot,
    "category_index": _category_index,
    "gather_rows": lambda attrs, table, index: table[index[:, 0].long()],
    "bucketize": _bucketize,
    "cast": _cast,
    "matmul": lambda attrs, a, b: a @ b,
    "softmax": lambda attrs, x: torch.softmax(x, dim=1),
    "reduce_sum": lambda attrs, x: x.sum(dim=1, keepdim=True),
    "reduce_max": lambda attrs, x: x.amax(dim=1, keepdim=True),
    "tree_gemm": _tree_gemm,
}


def torch_op(name: str) -> TorchOp:
    try:
        return TORCH_OPS[name]
    except KeyError:
        raise GraphError(f"no device implementation of {name!r}") from None
