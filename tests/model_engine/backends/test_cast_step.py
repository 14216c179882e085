"""The numba backend's ``cast`` step converts exactly as NumPy's ``astype`` (the reference kernel): float64 rounded
to float32 and back (the isotonic map's rounding) on ties, subnormals, overflow, NaN and infinities, floats
truncated to ints, bools and ints to floats; and it runs without falling back to the reference kernel."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from model_engine.backends import get_backend
from model_engine.backends.numba_backend import _Compiler
from model_engine.backends.numpy_backend import run_graph
from model_engine.ir import DType, Graph
from model_engine.ops import GraphBuilder

F32_MAX = float(np.finfo(np.float32).max)
ONE_ULP32 = 2.0**-23
TIE = 1 + ONE_ULP32 / 2
AWKWARD = np.array(
    [
        [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.1, 1.0 / 3.0, 2.5, -2.5, 7.9, -7.9],
        # halfway between two float32s: ties to even, and one float64 ulp either side of the tie
        [TIE, 1 + 3 * ONE_ULP32 / 2, np.nextafter(TIE, 2), np.nextafter(TIE, 0),
         -(1 + 3 * ONE_ULP32 / 2), 1e-40, -1e-40, 1e-46, 5e-324, F32_MAX, np.nextafter(F32_MAX, np.inf), 3.5e38, -1e39],
    ]
)  # fmt: skip
INT_SAFE = np.array([[0.0, -0.0, 0.5, -0.5, 0.99, -0.99, 2.5, -2.5, 1e9, -1e9, 2.0**30, -(2.0**31), 123.75]])


def _cast_chain(source: DType, targets: tuple[DType, ...], width: int) -> Graph:
    b = GraphBuilder()
    v = b.input("x", source, width)
    for target in targets:
        v = b.op("cast", v, to=target.value)
    b.output("y", v)
    return b.build()


def _astype(x: np.ndarray[Any, Any], targets: tuple[DType, ...]) -> np.ndarray[Any, Any]:
    with np.errstate(over="ignore"):  # beyond float32's range: an infinity, with NumPy's warning
        for target in targets:
            x = x.astype(target.numpy)
    return x


CASES = {
    "float64->float32->float64": (DType.FLOAT64, (DType.FLOAT32, DType.FLOAT64), AWKWARD),
    "float64->float32": (DType.FLOAT64, (DType.FLOAT32,), AWKWARD),
    "float32->float64": (DType.FLOAT32, (DType.FLOAT64,), _astype(AWKWARD, (DType.FLOAT32,))),
    "float64->int64": (DType.FLOAT64, (DType.INT64,), INT_SAFE),
    "float32->int32->float32": (DType.FLOAT32, (DType.INT32, DType.FLOAT32), INT_SAFE.astype(np.float32)),
    "int64->float32": (DType.INT64, (DType.FLOAT32,), np.array([[0, -1, 2**24 + 1, -(2**53) - 1, 2**62]])),
    "bool->float64": (DType.BOOL, (DType.FLOAT64,), np.array([[True, False, True]])),
}


@pytest.mark.parametrize("case", list(CASES))
def test_cast_matches_numpy_astype_bit_for_bit(case: str) -> None:
    source, targets, values = CASES[case]
    x = np.ascontiguousarray(np.repeat(values.astype(source.numpy), 3, axis=0))
    graph = _cast_chain(source, targets, x.shape[1])
    with np.errstate(over="ignore"):  # beyond float32's range: an infinity, with NumPy's warning
        (got,) = get_backend("numba").prepare(graph).run(x)
        expected = _astype(x, targets)
        reference = run_graph(graph, x)[0]
    assert got.dtype == expected.dtype
    assert got.tobytes() == expected.tobytes()  # bit for bit: the sign of zero and NaN included
    assert got.tobytes() == reference.tobytes()


def test_nan_and_infinities_cast_to_int_as_numpy_does() -> None:
    x = np.array([[np.nan, np.inf, -np.inf, 1.5]])
    graph = _cast_chain(DType.FLOAT64, (DType.INT64,), x.shape[1])
    with np.errstate(invalid="ignore"):  # NumPy warns that these have no int value; both kernels give its answer
        (got,) = get_backend("numba").prepare(graph).run(x)
        expected = x.astype(np.int64)
    np.testing.assert_array_equal(got, expected)


def test_the_cast_step_does_not_fall_back_to_the_reference_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fallback(self: _Compiler, node: Any, ins: list[int], out: int) -> Any:
        raise AssertionError(f"{node.op} fell back to its reference kernel")

    monkeypatch.setattr(_Compiler, "_reference", no_fallback)
    x = np.ascontiguousarray(AWKWARD)
    graph = _cast_chain(DType.FLOAT64, (DType.FLOAT32, DType.FLOAT64), x.shape[1])
    with np.errstate(over="ignore"):
        (got,) = get_backend("numba").prepare(graph).run(x)
        assert got.tobytes() == x.astype(np.float32).astype(np.float64).tobytes()
