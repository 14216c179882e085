"""The input check every kernel launcher makes: a float32 [N, F] matrix with contiguous rows, on its device."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="the Triton backend tests need torch (the 'gpu' extra)")

import torch

from model_engine.backends.triton.device_tensors import check_row_matrix, to_device
from model_engine.errors import GraphError

CPU = torch.device("cpu")


def test_a_float32_row_matrix_passes_and_gives_its_row_count() -> None:
    assert check_row_matrix(torch.zeros((5, 3)), 3, CPU, "tables are") == 5
    assert check_row_matrix(torch.zeros((0, 3)), 3, CPU, "tables are") == 0


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (torch.zeros((5, 3), dtype=torch.float64), "float32"),
        (torch.zeros((5, 4)), r"\[N, 3\]"),
        (torch.zeros(3), r"\[N, 3\]"),
        (torch.zeros((3, 5)).T, "contiguous"),
    ],
    ids=["float64", "width", "vector", "column-major"],
)
def test_other_inputs_are_refused_with_the_reason(x: torch.Tensor, message: str) -> None:
    with pytest.raises(GraphError, match=message):
        check_row_matrix(x, 3, CPU, "tables are")


def test_to_device_copies_contiguously_and_casts_when_asked() -> None:
    array = np.arange(6, dtype=np.float64).reshape(2, 3).T
    moved = to_device(array, CPU, np.float32)
    assert moved.dtype == torch.float32
    assert moved.is_contiguous()
    np.testing.assert_array_equal(moved.numpy(), array.astype(np.float32))
    assert to_device(np.arange(3, dtype=np.int32), CPU).dtype == torch.int32
