"""``fused_elementwise``: a chain of elementwise ops run as one op, so backends loop over the data once.

The ``program`` attribute is a tuple of instructions ``(op, args)``. ``op`` is an attribute-free elementwise op
(:data:`FUSABLE`); each arg is ``("r", i)``, register ``i`` (registers ``0 .. n_inputs - 1`` are the node's
inputs, register ``n_inputs + k`` the result of instruction ``k``), or ``("c", value, dtype)``, a scalar
immediate. The node's output is the last instruction's result. Example, ``sigmoid(x * 2.0 + b)``::

    (("mul", (("r", 0), ("c", 2.0, "float32"))), ("add", (("r", 2), ("r", 1))), ("sigmoid", (("r", 3),)))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from model_engine.errors import OpTypeError
from model_engine.ir.types import DType, TensorType
from model_engine.ops.groups import GroupOp
from model_engine.ops.registry import Array, Attrs, OpDef, OpKind, get_op, register

FUSABLE: frozenset[str] = GroupOp.FUSABLE
"""The ops a fused program may contain: every attribute-free elementwise op."""

Instruction = tuple[str, tuple[tuple[Any, ...], ...]]


def parse_program(program: Any, n_inputs: int) -> list[Instruction]:
    """Validate a program's structure (op names, register references, immediates) and return it as a list."""
    if not isinstance(program, tuple) or not program:
        raise OpTypeError(f"fused_elementwise: program must be a non-empty tuple, got {program!r}")
    parsed: list[Instruction] = []
    for k, instr in enumerate(program):
        if not (isinstance(instr, tuple) and len(instr) == 2 and isinstance(instr[1], tuple)):
            raise OpTypeError(f"fused_elementwise: instruction {k} must be (op, args), got {instr!r}")
        op, args = instr
        if op not in FUSABLE:
            raise OpTypeError(f"fused_elementwise: op {op!r} cannot be fused; fusable ops are {sorted(FUSABLE)}")
        for arg in args:
            if not isinstance(arg, tuple) or not arg:
                raise OpTypeError(f"fused_elementwise: bad argument {arg!r} in instruction {k}")
            if arg[0] == "r":
                if len(arg) != 2 or not isinstance(arg[1], int) or not 0 <= arg[1] < n_inputs + k:
                    raise OpTypeError(f"fused_elementwise: instruction {k} reads an undefined register {arg!r}")
            elif arg[0] == "c":
                if len(arg) != 3 or not isinstance(arg[1], (int, float)) or arg[2] not in {d.value for d in DType}:
                    raise OpTypeError(f"fused_elementwise: bad immediate {arg!r} in instruction {k}")
                if isinstance(arg[1], int) and not -(2**63) <= arg[1] < 2**63:  # graph JSON may hold any integer
                    raise OpTypeError(f"fused_elementwise: immediate {arg[1]} in instruction {k} is not an int64")
            else:
                raise OpTypeError(f"fused_elementwise: argument {arg!r} must be ('r', i) or ('c', value, dtype)")
        parsed.append((str(op), args))
    return parsed


def _infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
    program = parse_program(attrs["program"], len(types))
    registers = list(types)
    for op, args in program:
        arg_types = [registers[a[1]] if a[0] == "r" else TensorType(DType(a[2]), ()) for a in args]
        (out,) = get_op(op).infer({}, arg_types)
        registers.append(out)
    return (registers[-1],)


def run_program(program: Sequence[Instruction], inputs: Sequence[Array]) -> Array:
    """Evaluate a program with the NumPy reference kernels of its ops."""
    registers: list[Array] = list(inputs)
    for op, args in program:
        values = [registers[a[1]] if a[0] == "r" else np.asarray(a[1], dtype=DType(a[2]).numpy) for a in args]
        (out,) = get_op(op).reference({}, *values)
        registers.append(out)
    return registers[-1]


def _reference(attrs: Attrs, *inputs: Array) -> tuple[Array, ...]:
    return (run_program(parse_program(attrs["program"], len(inputs)), inputs),)


register(
    OpDef(
        "fused_elementwise",
        OpKind.ELEMENTWISE,
        _infer,
        _reference,
        None,
        attrs=frozenset({"program"}),
        required=frozenset({"program"}),
        doc="a chain of elementwise ops evaluated in one pass (see model_engine.ops.fused)",
    )
)
