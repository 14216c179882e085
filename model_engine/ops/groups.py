"""Op groups as data: the sets of ops that passes and backends treat alike, taken from the op modules' tables.

A pass or backend that handles "every unary op" or "every tree op" reads the group here instead of listing the
ops again, so adding an op to its table in :mod:`.elementwise` or :mod:`.trees` reaches every user at once (and a
backend whose per-op table misses it fails its contract test).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from model_engine.ops import elementwise, trees


def _ufuncs(*tables: Mapping[str, Any]) -> Mapping[str, np.ufunc]:
    return MappingProxyType({name: fn for table in tables for name, fn in table.items() if isinstance(fn, np.ufunc)})


class GroupOp:
    """Named sets of op names (as tinygrad's ``GroupOp``): ``"exp" in GroupOp.UNARY``."""

    UNARY: frozenset[str] = frozenset(elementwise.UNARY)
    """Float -> float elementwise ops of one input."""
    BINARY: frozenset[str] = frozenset(elementwise.BINARY)
    """Broadcasting arithmetic on two inputs of one dtype."""
    COMPARE: frozenset[str] = frozenset(elementwise.COMPARE)
    """Broadcasting comparisons giving bool."""
    PREDICATE: frozenset[str] = frozenset(elementwise.PREDICATE)
    """Float -> bool tests of one input."""
    TERNARY: frozenset[str] = elementwise.TERNARY
    """``where``."""
    FUSABLE: frozenset[str] = UNARY | BINARY | COMPARE | PREDICATE | TERNARY
    """Every attribute-free elementwise op: what a ``fused_elementwise`` program may contain."""
    UFUNC: Mapping[str, np.ufunc] = _ufuncs(elementwise.UNARY, elementwise.BINARY, elementwise.COMPARE,
                                            elementwise.PREDICATE)  # fmt: skip
    """The fusable ops whose reference kernel is one NumPy ufunc, by name (backends may call it with ``out=``)."""
    TREE: frozenset[str] = frozenset(trees.TREE_OPS)
    """``tree_ensemble`` and its lowered layouts; each takes ``(x, feature, threshold, ...)``."""
