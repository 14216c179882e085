"""Generated elementwise kernels against the NumPy evaluation of the same ``fused_elementwise`` program.

Tolerance: 2e-7 absolute (plus 1e-6 relative for exp) for the transcendental ops in float32, exact for the
others; NaN exactly where NumPy has NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch", reason="the Triton backend tests need torch (the 'gpu' extra)")
pytest.importorskip("triton", reason="the Triton backend tests need triton (the 'gpu' extra)")

import torch

from model_engine.backends.triton.elementwise_codegen import kernel_source
from model_engine.backends.triton.elementwise_launch import TORCH_DTYPES, FusedElementwise
from model_engine.errors import GraphError
from model_engine.ops.fused import run_program

UNARY = ["neg", "abs", "exp", "log", "sqrt", "tanh", "sigmoid", "relu"]
BINARY = ["add", "sub", "mul", "div", "maximum", "minimum"]
COMPARE = ["less", "less_equal", "greater", "greater_equal", "equal"]

pytestmark = pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")  # masked lanes, interpreter


def _data(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    x = np.asarray(rng.normal(size=shape) * 3, dtype=np.float32).reshape(shape)
    x[np.asarray(rng.random(shape) < 0.1)] = np.nan
    if x.size > 4:
        x.flat[1] = 0.0
        x.flat[3] = -0.0
    return x


def _check(
    program: tuple[Any, ...], inputs: list[np.ndarray[Any, Any]], device: torch.device, atol: float, rtol: float = 0.0
) -> None:
    expected = run_program(program, inputs)
    out = torch.empty(expected.shape, dtype=TORCH_DTYPES[expected.dtype.name], device=device)
    FusedElementwise(program, len(inputs))([torch.from_numpy(a).to(device) for a in inputs], out)
    got = out.cpu().numpy()
    assert got.dtype == expected.dtype
    if expected.dtype.kind == "f":
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("op", UNARY)
def test_unary(device: torch.device, op: str) -> None:
    rng = np.random.default_rng(1)
    _check(((op, (("r", 0),)),), [_data(rng, (37, 3))], device, atol=2e-7, rtol=1e-6 if op == "exp" else 0.0)


@pytest.mark.parametrize("op", BINARY + COMPARE)
@pytest.mark.parametrize("other_shape", [(37, 3), (3,), (1, 3), (37, 1), ()], ids=str)
def test_binary_broadcasting(device: torch.device, op: str, other_shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(2)
    _check(((op, (("r", 0), ("r", 1))),), [_data(rng, (37, 3)), _data(rng, other_shape)], device, atol=0.0)


def test_standardise_clip_and_where_program(device: torch.device) -> None:
    """A scaler, a clip with immediates (one infinite), and a NaN test feeding where, in one program."""
    rng = np.random.default_rng(3)
    program = (
        ("sub", (("r", 0), ("r", 1))),
        ("div", (("r", 3), ("r", 2))),
        ("minimum", (("r", 4), ("c", float("inf"), "float32"))),
        ("maximum", (("r", 5), ("c", -2.5, "float32"))),
        ("isnan", (("r", 0),)),
        ("where", (("r", 7), ("c", 0.0, "float32"), ("r", 6))),
    )
    inputs = [_data(rng, (45, 4)), rng.normal(size=4).astype(np.float32), rng.random((1, 4)).astype(np.float32) + 0.5]
    _check(program, inputs, device, atol=0.0)


def test_unknown_op_is_refused() -> None:
    with pytest.raises(GraphError, match="no elementwise lowering"):
        kernel_source((("erf", (("r", 0),)),), 1)
