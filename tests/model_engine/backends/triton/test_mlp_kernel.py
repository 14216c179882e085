"""The fused MLP kernel under the interpreter (or on the GPU) against plain NumPy float32 on the unpadded network.

Tolerance: 1e-5 absolute (fp32 with input_precision="ieee"; only the summation order differs).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

pytest.importorskip("torch", reason="the Triton backend tests need torch (the 'gpu' extra)")
pytest.importorskip("triton", reason="the Triton backend tests need triton (the 'gpu' extra)")

import torch

from model_engine.backends.triton.mlp_launch import FusedMLP
from model_engine.backends.triton.mlp_layout import (
    Activation,
    DenseLayer,
    OutputTransform,
    pack_mlp,
)
from model_engine.errors import GraphError
from model_engine.ops.elementwise import sigmoid
from model_engine.ops.reductions import softmax

ACTIVATIONS: dict[Activation, Callable[[np.ndarray], np.ndarray]] = {
    Activation.IDENTITY: lambda h: h,
    Activation.RELU: lambda h: np.maximum(h, np.float32(0)),
    Activation.TANH: np.tanh,
    Activation.LOGISTIC: sigmoid,
}

pytestmark = pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")  # masked lanes, interpreter


def _layers(rng: np.random.Generator, widths: list[int], activations: list[Activation]) -> list[DenseLayer]:
    return [
        DenseLayer(
            (rng.normal(size=(a, b)) / np.sqrt(a)).astype(np.float32), rng.normal(size=b).astype(np.float32), act
        )
        for a, b, act in zip(widths[:-1], widths[1:], activations, strict=True)
    ]


def _numpy(layers: list[DenseLayer], output: OutputTransform, x: np.ndarray) -> np.ndarray:
    h = x
    for layer in layers:
        h = ACTIVATIONS[layer.activation](h @ layer.weight + layer.bias).astype(np.float32)
    if output is OutputTransform.BINARY_SIGMOID:
        p = sigmoid(h)
        return np.concatenate([1 - p, p], axis=1)
    if output is OutputTransform.SIGMOID:
        return sigmoid(h)
    if output is OutputTransform.SOFTMAX:
        return softmax(h)
    return h


CASES = [
    ([30, 64, 32, 1], [Activation.RELU, Activation.RELU, Activation.IDENTITY], OutputTransform.BINARY_SIGMOID),
    ([7, 1], [Activation.IDENTITY], OutputTransform.BINARY_SIGMOID),  # logistic regression
    ([6, 20, 3], [Activation.TANH, Activation.IDENTITY], OutputTransform.SOFTMAX),
    ([5, 17, 9, 33, 2], [Activation.LOGISTIC, Activation.TANH, Activation.RELU, Activation.IDENTITY],
     OutputTransform.SIGMOID),
    ([9, 128, 4], [Activation.RELU, Activation.IDENTITY], OutputTransform.IDENTITY),
    ([3, 8, 1], [Activation.TANH, Activation.LOGISTIC], OutputTransform.IDENTITY),
]  # fmt: skip


@pytest.mark.parametrize(("widths", "activations", "output"), CASES, ids=lambda v: str(v))
def test_mlp_matches_numpy(
    device: torch.device, widths: list[int], activations: list[Activation], output: OutputTransform
) -> None:
    rng = np.random.default_rng(sum(widths))
    layers = _layers(rng, widths, activations)
    x = rng.normal(size=(37, widths[0])).astype(np.float32)  # 37 rows: a ragged tail for blocks of 16
    mlp = FusedMLP(pack_mlp(layers, output), device, block_m=16)
    got = mlp(torch.from_numpy(x).to(device)).cpu().numpy()
    expected = _numpy(layers, output, x)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_nan_rows_stay_nan_and_do_not_leak(device: torch.device) -> None:
    rng = np.random.default_rng(1)
    layers = _layers(rng, [4, 16, 1], [Activation.RELU, Activation.IDENTITY])
    x = rng.normal(size=(20, 4)).astype(np.float32)
    x[3, 2] = np.nan
    got = FusedMLP(pack_mlp(layers, OutputTransform.BINARY_SIGMOID), device, block_m=16)(torch.from_numpy(x).to(device))
    got_np = got.cpu().numpy()
    assert np.isnan(got_np[3]).all()
    np.testing.assert_allclose(
        np.delete(got_np, 3, axis=0), np.delete(_numpy(layers, OutputTransform.BINARY_SIGMOID, x), 3, axis=0),
        rtol=0, atol=1e-5,
    )  # fmt: skip


def test_output_buffer_is_reused_and_empty_batch(device: torch.device) -> None:
    rng = np.random.default_rng(2)
    mlp = FusedMLP(pack_mlp(_layers(rng, [3, 1], [Activation.IDENTITY]), OutputTransform.BINARY_SIGMOID), device)
    out = torch.empty((50, 2), device=device)
    result = mlp(torch.ones((20, 3), device=device), out)
    assert result.data_ptr() == out.data_ptr()
    assert result.shape == (20, 2)
    assert mlp(torch.ones((0, 3), device=device)).shape == (0, 2)


@pytest.mark.parametrize("precision", ["tf32", "fp16"])
def test_reduced_precision_is_opt_in_and_close(device: torch.device, precision: str) -> None:
    rng = np.random.default_rng(4)
    layers = _layers(rng, [30, 64, 32, 1], [Activation.RELU, Activation.RELU, Activation.IDENTITY])
    x = rng.normal(size=(16, 30)).astype(np.float32)
    mlp = FusedMLP(pack_mlp(layers, OutputTransform.BINARY_SIGMOID), device, precision=precision, block_m=16)
    got = mlp(torch.from_numpy(x).to(device)).cpu().numpy()
    np.testing.assert_allclose(got, _numpy(layers, OutputTransform.BINARY_SIGMOID, x), rtol=0, atol=2e-2)


def test_bad_shapes_are_refused(device: torch.device) -> None:
    rng = np.random.default_rng(5)
    with pytest.raises(GraphError, match="at most 128"):
        pack_mlp(_layers(rng, [4, 200, 1], [Activation.RELU, Activation.IDENTITY]), OutputTransform.IDENTITY)
    with pytest.raises(GraphError, match="one logit"):
        pack_mlp(_layers(rng, [4, 3], [Activation.IDENTITY]), OutputTransform.BINARY_SIGMOID)
    mlp = FusedMLP(pack_mlp(_layers(rng, [4, 1], [Activation.IDENTITY]), OutputTransform.IDENTITY), device)
    with pytest.raises(GraphError, match=r"float32 \[N, 4\]"):
        mlp(torch.ones((3, 5), device=device))
    with pytest.raises(GraphError, match="precision"):
        FusedMLP(pack_mlp(_layers(rng, [4, 1], [Activation.IDENTITY]), OutputTransform.IDENTITY), device, precision="x")
