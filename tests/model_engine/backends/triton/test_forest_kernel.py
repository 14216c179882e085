"""Forest kernels under the interpreter (or on the GPU) against the op reference kernels of model_engine.ops.

Tolerances: leaf choice identical; scores 1e-5 absolute (float32, sums in a different but fixed order).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="the Triton backend tests need torch (the 'gpu' extra)")
pytest.importorskip("triton", reason="the Triton backend tests need triton (the 'gpu' extra)")

import torch

from model_engine.backends.triton.forest_launch import TreeEnsembleKernel
from model_engine.backends.triton.forest_layout import (
    CompactLayout,
    ForestOutput,
    PerfectLayout,
    pack_compact,
    pack_perfect,
    perfect_from_arrays,
)
from model_engine.ir.graph import AttrValue
from model_engine.ops.registry import get_op
from model_engine.ops.trees import finish, traverse_tables

from .cases import adversarial_rows, random_tables

N_FEATURES = 5
TRANSFORMS = {
    ForestOutput.IDENTITY: "none",
    ForestOutput.BINARY_SIGMOID: "sigmoid",
    ForestOutput.SOFTMAX: "softmax",
}

pytestmark = pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")  # masked lanes, interpreter


def _run(kernel: TreeEnsembleKernel, x: np.ndarray, device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    xt = torch.from_numpy(x).to(device)
    leaves = torch.empty((x.shape[0], kernel.layout.n_trees), dtype=torch.int32, device=device)
    out = kernel(xt, leaves=leaves)
    return out.cpu().numpy(), leaves.cpu().numpy()


@pytest.mark.parametrize("layout_kind", ["perfect", "compact"])
@pytest.mark.parametrize(
    ("output", "n_outputs", "aggregation"),
    [(ForestOutput.BINARY_SIGMOID, 1, "sum"), (ForestOutput.SOFTMAX, 3, "sum"), (ForestOutput.IDENTITY, 2, "mean")],
)
@pytest.mark.parametrize("trees_per_chunk", [64, 2])
def test_forest_matches_reference(
    device: torch.device, layout_kind: str, output: ForestOutput, n_outputs: int, aggregation: str,
    trees_per_chunk: int,
) -> None:  # fmt: skip
    rng = np.random.default_rng(7)
    tables = random_tables(rng, n_trees=5, max_depth=4, n_features=N_FEATURES, n_outputs=n_outputs)
    x = adversarial_rows(rng, tables, 45, N_FEATURES)  # 45 rows: a ragged tail for blocks of 32
    base = rng.normal(size=n_outputs).astype(np.float32)
    layout: PerfectLayout | CompactLayout = pack_perfect(tables) if layout_kind == "perfect" else pack_compact(tables)
    kernel = TreeEnsembleKernel(
        layout, n_features=N_FEATURES, aggregation=aggregation, base_score=base, output=output, device=device,
        trees_per_chunk=trees_per_chunk,
    )  # fmt: skip
    got, leaves = _run(kernel, x, device)

    expected_leaves = traverse_tables(
        x, tables.feature, tables.threshold, tables.left, tables.right, tables.missing_go_left, tables.roots
    )
    if isinstance(layout, CompactLayout):
        assert np.array_equal(layout.node_ids[leaves], expected_leaves)
    else:  # perfect leaves are positions; compare the values they hold with the real leaves' values
        flat = layout.leaf_value[:, :n_outputs]
        reached = flat[np.arange(tables.n_trees) * (1 << layout.depth) + leaves]
        assert np.array_equal(reached, tables.value[expected_leaves])
    raw = np.zeros((x.shape[0], n_outputs), dtype=np.float32)
    for t in range(tables.n_trees):
        raw += tables.value[expected_leaves[:, t]]
    attrs: dict[str, AttrValue] = {
        "aggregation": aggregation,
        "post_transform": TRANSFORMS[output],
        "base_score": tuple(base.tolist()),
    }
    expected = finish(attrs, raw, tables.n_trees)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_nan_follows_missing_go_left_and_ties_go_left(device: torch.device) -> None:
    rng = np.random.default_rng(3)
    tables = random_tables(rng, n_trees=1, max_depth=1, n_features=1, n_outputs=1)
    tables.value[:] = np.arange(tables.value.shape[0], dtype=np.float32)[:, None]
    threshold = tables.threshold[0]
    x = np.array([[threshold], [np.nextafter(threshold, np.float32(np.inf))], [np.nan]], dtype=np.float32)
    for go_left in (True, False):
        tables.missing_go_left[0] = go_left
        for layout in (pack_perfect(tables), pack_compact(tables)):
            kernel = TreeEnsembleKernel(
                layout, n_features=1, aggregation="sum", base_score=np.zeros(1), output=ForestOutput.IDENTITY,
                device=device,
            )  # fmt: skip
            got, _ = _run(kernel, x, device)
            nan_leaf = tables.left[0] if go_left else tables.right[0]
            assert got[:, 0].tolist() == [tables.left[0], tables.right[0], nan_leaf]


def test_perfect_op_tables(device: torch.device) -> None:
    """The tree_traverse_perfect op's own arrays run as they are, against that op's reference kernel."""
    rng = np.random.default_rng(11)
    depth, n_trees = 3, 4
    feature = rng.integers(N_FEATURES, size=(n_trees, 2**depth - 1)).astype(np.int32)
    threshold = rng.normal(size=feature.shape).astype(np.float32)
    missing = rng.random(feature.shape) < 0.5
    leaf_value = rng.normal(size=(n_trees, 2**depth, 1)).astype(np.float32)
    x = rng.normal(size=(37, N_FEATURES)).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan
    x[0, feature[0, 0]] = threshold[0, 0]
    attrs = {"depth": depth, "aggregation": "sum", "post_transform": "sigmoid", "base_score": (0.25,), "n_classes": 2}
    (expected,) = get_op("tree_traverse_perfect").reference(attrs, x, feature, threshold, missing, leaf_value)
    layout = perfect_from_arrays(feature, threshold, missing, leaf_value, depth)
    kernel = TreeEnsembleKernel(
        layout, n_features=N_FEATURES, aggregation="sum", base_score=np.array([0.25]),
        output=ForestOutput.BINARY_SIGMOID, device=device, trees_per_chunk=3,
    )  # fmt: skip
    got, _ = _run(kernel, x, device)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_single_leaf_trees_and_empty_batch(device: torch.device) -> None:
    rng = np.random.default_rng(5)
    tables = random_tables(rng, n_trees=3, max_depth=0, n_features=2, n_outputs=1)
    for layout in (pack_perfect(tables), pack_compact(tables)):
        kernel = TreeEnsembleKernel(
            layout, n_features=2, aggregation="sum", base_score=np.zeros(1), output=ForestOutput.IDENTITY,
            device=device,
        )  # fmt: skip
        got, _ = _run(kernel, np.zeros((3, 2), dtype=np.float32), device)
        np.testing.assert_allclose(got[:, 0], tables.value.sum(), rtol=0, atol=1e-6)
        assert kernel(torch.zeros((0, 2), device=device)).shape == (0, 1)


def test_chunking_is_part_of_the_model_not_the_batch(device: torch.device) -> None:
    """A row scores the same bits whatever batch it arrives in (block sizes change, chunking does not)."""
    rng = np.random.default_rng(9)
    tables = random_tables(rng, n_trees=6, max_depth=3, n_features=N_FEATURES, n_outputs=1)
    kernel = TreeEnsembleKernel(
        pack_perfect(tables), n_features=N_FEATURES, aggregation="sum", base_score=np.zeros(1),
        output=ForestOutput.BINARY_SIGMOID, device=device, trees_per_chunk=4,
    )  # fmt: skip
    x = rng.normal(size=(40, N_FEATURES)).astype(np.float32)
    whole, _ = _run(kernel, x, device)
    for start, stop in ((0, 1), (3, 40), (17, 18)):
        part, _ = _run(kernel, x[start:stop], device)
        assert np.array_equal(part, whole[start:stop])
