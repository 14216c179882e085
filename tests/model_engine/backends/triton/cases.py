"""Small random models for the kernel parity tests: dense stacks and tree ensembles with known shapes."""

from __future__ import annotations

from typing import Any

import numpy as np

from model_engine.backends.triton.forest_layout import TreeTables

Array = np.ndarray[Any, Any]


def random_tables(
    rng: np.random.Generator, *, n_trees: int, max_depth: int, n_features: int, n_outputs: int, p_leaf: float = 0.2
) -> TreeTables:
    """Trees grown at random: a node becomes a leaf early with probability ``p_leaf`` (ragged depths)."""
    feature: list[int] = []
    threshold: list[float] = []
    left: list[int] = []
    right: list[int] = []
    roots: list[int] = []

    def grow(depth: int) -> int:
        node = len(feature)
        feature.append(0)
        threshold.append(0.0)
        left.append(-1)
        right.append(-1)
        if depth < max_depth and (depth == 0 or rng.random() > p_leaf):
            feature[node] = int(rng.integers(n_features))
            threshold[node] = float(np.float32(rng.normal()))
            left[node] = grow(depth + 1)
            right[node] = grow(depth + 1)
        return node

    for _ in range(n_trees):
        roots.append(grow(0))
    n = len(feature)
    return TreeTables(
        feature=np.asarray(feature, dtype=np.int32),
        threshold=np.asarray(threshold, dtype=np.float32),
        left=np.asarray(left, dtype=np.int32),
        right=np.asarray(right, dtype=np.int32),
        missing_go_left=rng.random(n) < 0.5,
        value=rng.normal(size=(n, n_outputs)).astype(np.float32),
        roots=np.asarray(roots, dtype=np.int32),
    )


def adversarial_rows(rng: np.random.Generator, tables: TreeTables, n_rows: int, n_features: int) -> Array:
    """Rows where many values sit exactly on a split threshold and some are NaN."""
    x = rng.normal(size=(n_rows, n_features)).astype(np.float32)
    splits = np.flatnonzero(tables.left >= 0)
    for r in range(n_rows):
        for node in rng.choice(splits, size=min(3, splits.size), replace=False):
            x[r, tables.feature[node]] = tables.threshold[node]
    x[rng.random(x.shape) < 0.1] = np.nan
    return x
