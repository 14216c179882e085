"""Op groups are the one list of ops: they match the vocabulary, and every backend's per-op table covers them."""

from __future__ import annotations

import numpy as np
import pytest

from model_engine.backends import numba_kernels
from model_engine.backends.triton import elementwise_codegen
from model_engine.ops import GroupOp, OpKind, all_ops, get_op


def test_fusable_is_every_attribute_free_elementwise_op_of_fixed_arity() -> None:
    derived = {
        name
        for name, op in all_ops().items()
        if op.kind is OpKind.ELEMENTWISE and not op.attrs and op.n_inputs is not None
    }
    assert derived == GroupOp.FUSABLE


def test_groups_name_registered_ops_of_the_right_kind() -> None:
    for name in GroupOp.FUSABLE:
        assert get_op(name).kind is OpKind.ELEMENTWISE
    for name in GroupOp.TREE:
        assert get_op(name).kind is OpKind.OPAQUE
    assert set(GroupOp.UFUNC) <= GroupOp.FUSABLE
    for group, arity in ((GroupOp.UNARY, 1), (GroupOp.PREDICATE, 1), (GroupOp.BINARY, 2), (GroupOp.COMPARE, 2)):
        assert {get_op(name).n_inputs for name in group} == {arity}


@pytest.mark.parametrize("name", sorted(GroupOp.UFUNC))
def test_a_ufunc_computes_what_the_reference_kernel_does(name: str) -> None:
    x = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0, np.nan]])
    args = [x] * get_op(name).n_inputs  # type: ignore[operator]
    with np.errstate(all="ignore"):
        (expected,) = get_op(name).reference({}, *args)
        np.testing.assert_array_equal(GroupOp.UFUNC[name](*args), expected)


def test_the_numba_templates_cover_exactly_the_fusable_ops() -> None:
    assert set(numba_kernels._TEMPLATES) == GroupOp.FUSABLE


def test_the_triton_templates_cover_exactly_the_fusable_ops() -> None:
    templates = set(elementwise_codegen.UNARY) | set(elementwise_codegen.BINARY) | {"where"}
    assert templates == GroupOp.FUSABLE
