"""Tensor types of the IR: a dtype and a shape whose first (batch) dimension may be symbolic."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from model_engine.errors import GraphError


class DType(StrEnum):
    """The closed set of element types a graph value may have."""

    FLOAT32 = "float32"
    FLOAT64 = "float64"
    INT32 = "int32"
    INT64 = "int64"
    BOOL = "bool"

    @property
    def numpy(self) -> np.dtype[Any]:
        """The NumPy dtype holding values of this type."""
        return np.dtype(self.value)

    @property
    def is_float(self) -> bool:
        return self in (DType.FLOAT32, DType.FLOAT64)

    @property
    def is_int(self) -> bool:
        return self in (DType.INT32, DType.INT64)

    @classmethod
    def of(cls, dtype: Any) -> DType:
        """The DType of a NumPy dtype (or anything ``np.dtype`` accepts); a clear error for unsupported ones."""
        name = np.dtype(dtype).name
        try:
            return cls(name)
        except ValueError:
            supported = ", ".join(d.value for d in cls)
            raise GraphError(f"unsupported dtype {name!r}; the IR supports {supported}") from None


Dim = int | None
"""A dimension: a concrete size, or ``None`` for the symbolic batch dimension ``N``."""


@dataclass(frozen=True)
class TensorType:
    """The type of a graph value: ``TensorType(DType.FLOAT32, (None, 30))`` is an ``[N, 30]`` float32 matrix.

    Only the first dimension may be ``None`` (the batch); every other dimension is concrete.

    >>> t = TensorType(DType.FLOAT32, (None, 30))
    >>> str(t), t.batched, t.rank
    ('float32[N, 30]', True, 2)
    """

    dtype: DType
    shape: tuple[Dim, ...]

    def __post_init__(self) -> None:
        for axis, dim in enumerate(self.shape):
            if dim is None and axis != 0:
                raise GraphError(f"only the batch dimension (axis 0) may be symbolic, got shape {self.shape}")
            if dim is not None and dim < 0:
                raise GraphError(f"dimensions must be >= 0, got shape {self.shape}")

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def batched(self) -> bool:
        """True when the first dimension is the symbolic batch ``N``."""
        return self.rank > 0 and self.shape[0] is None

    def with_dtype(self, dtype: DType) -> TensorType:
        return TensorType(dtype, self.shape)

    def matches(self, array: np.ndarray[Any, Any]) -> bool:
        """Whether a concrete array has this type (the batch dimension matches any size)."""
        if DType.of(array.dtype) is not self.dtype or array.ndim != self.rank:
            return False
        return all(d is None or d == s for d, s in zip(self.shape, array.shape, strict=True))

    def __str__(self) -> str:
        dims = ", ".join("N" if d is None else str(d) for d in self.shape)
        return f"{self.dtype.value}[{dims}]"

    def to_json(self) -> dict[str, Any]:
        return {"dtype": self.dtype.value, "shape": list(self.shape)}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> TensorType:
        return cls(DType(doc["dtype"]), tuple(None if d is None else int(d) for d in doc["shape"]))

    @classmethod
    def of_array(cls, array: np.ndarray[Any, Any]) -> TensorType:
        """The (fully concrete) type of a constant array."""
        return cls(DType.of(array.dtype), tuple(int(s) for s in array.shape))


def broadcast_shapes(a: tuple[Dim, ...], b: tuple[Dim, ...]) -> tuple[Dim, ...]:
    """NumPy broadcasting over shapes with a symbolic batch: ``N`` combines with ``1`` or ``N`` only."""
    rank = max(len(a), len(b))
    pa = (1,) * (rank - len(a)) + a
    pb = (1,) * (rank - len(b)) + b
    out: list[Dim] = []
    for da, db in zip(pa, pb, strict=True):
        if da == db:
            out.append(da)
        elif da == 1:
            out.append(db)
        elif db == 1:
            out.append(da)
        else:
            raise GraphError(f"shapes {_fmt(a)} and {_fmt(b)} do not broadcast")
    for axis, dim in enumerate(out):
        if dim is None and axis != 0:
            raise GraphError(f"broadcasting {_fmt(a)} with {_fmt(b)} moves the batch dimension off axis 0")
    return tuple(out)


def _fmt(shape: tuple[Dim, ...]) -> str:
    return "[" + ", ".join("N" if d is None else str(d) for d in shape) + "]"
