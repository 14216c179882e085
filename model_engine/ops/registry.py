"""The op registry: per op its pattern kind, type inference and NumPy reference kernel.

The vocabulary is closed: every op a graph may contain is registered here by the modules of this package, and
:func:`~model_engine.ops.verify_graph` rejects anything else. The reference kernels are the executable
specification every other backend is tested against.

The op modules register themselves when imported, and importing any module of ``model_engine.ops`` runs the
package's ``__init__``, which imports them all: by the time code outside the package can call :func:`get_op`, the
vocabulary is complete. (The registry therefore never imports the package back.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np

from model_engine.errors import OpTypeError, UnknownOpError
from model_engine.ir.graph import AttrValue
from model_engine.ir.types import TensorType

Attrs = Mapping[str, AttrValue]
Array = np.ndarray[Any, Any]
InferFn = Callable[[Attrs, Sequence[TensorType]], tuple[TensorType, ...]]
ReferenceFn = Callable[..., tuple[Array, ...]]
CheckFn = Callable[[Attrs, Sequence[TensorType], Sequence["Array | None"]], None]


class OpKind(StrEnum):
    """How an op maps inputs to outputs, which is what fusion and scheduling care about."""

    ELEMENTWISE = "elementwise"  # out[i] depends on in[i] only (after broadcasting)
    INJECTIVE = "injective"  # each output element reads one input element (gather, concat, one-hot)
    REDUCTION = "reduction"  # reduces along an axis
    MATMUL = "matmul"  # matrix products
    OPAQUE = "opaque"  # anything else (tree traversal)


@dataclass(frozen=True)
class OpDef:
    """The definition of one op.

    ``infer(attrs, input_types)`` returns the output types or raises :class:`OpTypeError`;
    ``reference(attrs, *arrays)`` computes the outputs with NumPy. ``n_inputs`` is None for variadic ops.
    ``attrs`` names the attributes the op accepts (``required`` those it needs). ``check_values(attrs,
    input_types, constant_inputs)``, for ops that use constant inputs as indices, checks those values (each
    input's array, or None when it is computed): compiled kernels index without bounds checks, so an index out
    of range in a loaded graph must be refused before it runs.
    """

    name: str
    kind: OpKind
    infer: InferFn
    reference: ReferenceFn
    n_inputs: int | None
    attrs: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    doc: str = ""
    check_values: CheckFn | None = None

    def check_signature(self, attrs: Attrs, n_inputs: int) -> None:
        """Arity and attribute names (types are checked by ``infer``)."""
        if self.n_inputs is not None and n_inputs != self.n_inputs:
            raise OpTypeError(f"{self.name} takes {self.n_inputs} inputs, got {n_inputs}")
        unknown = set(attrs) - self.attrs
        if unknown:
            raise OpTypeError(f"{self.name} has no attribute(s) {sorted(unknown)}; it accepts {sorted(self.attrs)}")
        missing = self.required - set(attrs)
        if missing:
            raise OpTypeError(f"{self.name} needs attribute(s) {sorted(missing)}")


_REGISTRY: dict[str, OpDef] = {}


def register(opdef: OpDef) -> OpDef:
    """Add an op to the vocabulary (each name once)."""
    if opdef.name in _REGISTRY:
        raise ValueError(f"op {opdef.name!r} is registered twice")
    _REGISTRY[opdef.name] = _checked(opdef)
    return opdef


def _checked(opdef: OpDef) -> OpDef:
    """Wrap ``infer`` so arity and attribute names are always checked first."""
    inner = opdef.infer

    def infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
        opdef.check_signature(attrs, len(types))
        return tuple(inner(attrs, types))

    return replace(opdef, infer=infer)


def get_op(name: str) -> OpDef:
    """The definition of an op, or :class:`UnknownOpError` listing the vocabulary."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownOpError(f"unknown op {name!r}; the vocabulary is {', '.join(sorted(_REGISTRY))}") from None


def all_ops() -> dict[str, OpDef]:
    """Every registered op by name."""
    return dict(_REGISTRY)
