"""The model signature: the input features (names, order, dtypes, categorical vocabularies) and the outputs.

Scoring data arrives as a matrix in signature order or as named columns; :meth:`Signature.encode` turns either
into the float matrix the graph reads. A categorical column (strings, or a pandas categorical) becomes its
vocabulary codes: the category's position in the vocabulary, ``UNKNOWN_CODE`` (-1) for a value outside it and NaN
for a missing value (None, NaN), so the graph's encoders can treat unknown and missing values as the fitted
encoders do. After unused-feature elimination ``used_features`` lists the columns the compiled graph still reads,
in its input order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from model_engine.errors import SignatureError

Array = np.ndarray[Any, Any]
CATEGORY = "category"
NUMERIC_DTYPES = ("float64", "float32", "int64", "int32", "bool")
UNKNOWN_CODE = -1.0
"""The code of a categorical value outside the vocabulary (missing values are NaN)."""
FLOAT32_EXACT_DTYPES = ("float32", "bool", CATEGORY)
"""Input dtypes whose values float32 holds exactly (category codes are small integers)."""


@dataclass(frozen=True)
class Signature:
    """Input features and outputs of a compiled model.

    >>> sig = Signature(("amount", "channel"), vocabularies={"channel": ("pos", "web")})
    >>> sig.encode({"amount": [10.0, 5.0, 1.0], "channel": ["web", "atm", None]}).tolist()
    [[10.0, 1.0], [5.0, -1.0], [1.0, nan]]

    A categorical value outside its vocabulary encodes as ``UNKNOWN_CODE`` (-1), a missing one as NaN.
    """

    features: tuple[str, ...]
    vocabularies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    dtypes: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ("probabilities",)
    classes: tuple[Any, ...] = (0, 1)
    used_features: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(str(f) for f in self.features))
        if not self.features:
            raise SignatureError("a signature needs at least one feature")
        vocabularies = {str(k): tuple(str(v) for v in vs) for k, vs in self.vocabularies.items()}
        object.__setattr__(self, "vocabularies", vocabularies)
        if len(set(self.features)) != len(self.features):
            raise SignatureError(f"feature names must be unique, got {list(self.features)}")
        unknown = set(vocabularies) - set(self.features)
        if unknown:
            raise SignatureError(f"vocabularies name features the signature lacks: {sorted(unknown)}")
        dtypes = tuple(self.dtypes) or tuple(CATEGORY if f in vocabularies else "float64" for f in self.features)
        if len(dtypes) != len(self.features):
            raise SignatureError(f"{len(dtypes)} dtypes for {len(self.features)} features")
        for name, dtype in zip(self.features, dtypes, strict=True):
            if (dtype == CATEGORY) != (name in vocabularies) or (dtype != CATEGORY and dtype not in NUMERIC_DTYPES):
                raise SignatureError(f"feature {name!r}: dtype {dtype!r} needs a vocabulary exactly when 'category'")
        object.__setattr__(self, "dtypes", dtypes)
        object.__setattr__(self, "classes", tuple(self.classes))
        if self.used_features is not None:
            object.__setattr__(self, "used_features", tuple(self.used_features))
            missing = set(self.used_features) - set(self.features)
            if missing:
                raise SignatureError(f"used features {sorted(missing)} are not features of the signature")

    @classmethod
    def coerce(cls, value: Signature | Sequence[str]) -> Signature:
        """A signature as given, or one built from a list of feature names (all numeric)."""
        return value if isinstance(value, Signature) else cls(tuple(value))

    def with_numeric_dtype(self, dtype: str) -> Signature:
        """The same features with every numeric (non-categorical) input declared ``dtype``."""
        if dtype not in NUMERIC_DTYPES:
            raise SignatureError(f"input dtype must be one of {NUMERIC_DTYPES}, got {dtype!r}")
        return replace(self, dtypes=tuple(d if d == CATEGORY else dtype for d in self.dtypes))

    def with_vocabularies(self, vocabularies: Mapping[str, Sequence[str]]) -> Signature:
        """The same features with these categorical vocabularies (their features become categorical)."""
        merged = {**self.vocabularies, **{k: tuple(v) for k, v in vocabularies.items()}}
        dtypes = tuple(CATEGORY if f in merged else (d if d != CATEGORY else "float64")
                       for f, d in zip(self.features, self.dtypes, strict=True))  # fmt: skip
        return replace(self, vocabularies=merged, dtypes=dtypes)

    @property
    def float32_exact_columns(self) -> tuple[bool, ...]:
        """Per feature: whether float32 holds its values exactly (float32 and bool data, category codes)."""
        return tuple(d in FLOAT32_EXACT_DTYPES for d in self.dtypes)

    def synthetic_batch(self, rows: int, *, missing: float = 0.0, seed: int = 0) -> Array:
        """A seeded float64 batch in signature order: normal values (rounded to each feature's dtype), category
        codes with some unknown ones, and a ``missing`` share of NaN cells."""
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(rows, self.n_features)) * 3.0
        for j, (name, dtype) in enumerate(zip(self.features, self.dtypes, strict=True)):
            vocabulary = self.vocabularies.get(name)
            if vocabulary is not None:
                X[:, j] = rng.integers(-1, len(vocabulary), size=rows)
            elif dtype != "float64":
                X[:, j] = X[:, j].astype(np.dtype(dtype)).astype(np.float64)
        if missing > 0:
            X[rng.random(X.shape) < missing] = np.nan
        return X

    @property
    def n_features(self) -> int:
        return len(self.features)

    @property
    def graph_features(self) -> tuple[str, ...]:
        """The columns the graph reads, in its input order."""
        return self.features if self.used_features is None else self.used_features

    @property
    def graph_columns(self) -> tuple[int, ...]:
        """Positions of :attr:`graph_features` among :attr:`features`."""
        index = {f: i for i, f in enumerate(self.features)}
        return tuple(index[f] for f in self.graph_features)

    def check_names(self, names: Sequence[str]) -> None:
        """Refuse input columns named otherwise or in another order than :attr:`features` (a matrix built in the
        wrong order would be scored as if it were right)."""
        given = tuple(str(n) for n in names)
        if given == self.features:
            return
        if len(given) != self.n_features or set(given) != set(self.features):
            missing = [f for f in self.features if f not in given]
            unknown = [n for n in given if n not in self.features]
            raise SignatureError(
                f"the input's columns do not match the model's: missing {missing}, unknown {unknown}; the model "
                f"reads {list(self.features)}"
            )
        position = next(i for i, (a, b) in enumerate(zip(given, self.features, strict=True)) if a != b)
        raise SignatureError(
            f"the input's columns are in another order than the model's: column {position} is {given[position]!r} "
            f"where the model reads {self.features[position]!r}; build the input by name in the signature's order"
        )

    def with_used_columns(self, kept: Sequence[int]) -> Signature:
        """The signature after the graph dropped columns: ``kept`` are indices into :attr:`graph_features`."""
        current = self.graph_features
        return replace(self, used_features=tuple(current[i] for i in kept))

    def encode(self, data: Any) -> Array:
        """A float64 matrix [N, n_features] in signature order from a matrix, a DataFrame or a column mapping."""
        if isinstance(data, np.ndarray):
            if data.ndim != 2 or data.shape[1] != self.n_features:
                raise SignatureError(
                    f"expected a matrix [N, {self.n_features}] with columns {list(self.features)}, "
                    f"got shape {data.shape}"
                )
            if data.dtype.kind not in "fiub":
                raise SignatureError(f"a matrix input must be numeric, got {data.dtype}; pass named columns instead")
            return data.astype(np.float64, copy=False)
        if hasattr(data, "columns"):  # a DataFrame (pandas or anything shaped like one)
            columns = [str(c) for c in data.columns]
        elif isinstance(data, Mapping):
            columns = [str(c) for c in data]
        else:
            raise SignatureError(f"cannot read features from a {type(data).__name__}; pass a matrix or named columns")
        missing = [f for f in self.features if f not in columns]
        if missing:
            raise SignatureError(f"input lacks the signature's columns {missing}; it has {columns}")
        return np.column_stack([self._encode_column(f, data[f]) for f in self.features])

    def _encode_column(self, name: str, values: Any) -> Array:
        vocabulary = self.vocabularies.get(name)
        if vocabulary is None:
            try:
                return np.asarray(values, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise SignatureError(
                    f"column {name!r} must be numeric: {exc}; the signature declares it numeric (a categorical "
                    "feature needs a vocabulary, which compile_model takes from the fitted encoders)"
                ) from exc
        return encode_categories(values, vocabulary)

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "dtypes": list(self.dtypes),
            "vocabularies": {k: list(v) for k, v in self.vocabularies.items()},
            "outputs": list(self.outputs),
            "classes": [c.item() if isinstance(c, np.generic) else c for c in self.classes],
            "used_features": None if self.used_features is None else list(self.used_features),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Signature:
        try:
            return cls(
                features=tuple(doc["features"]),
                vocabularies={k: tuple(v) for k, v in doc["vocabularies"].items()},
                dtypes=tuple(doc["dtypes"]),
                outputs=tuple(doc["outputs"]),
                classes=tuple(doc["classes"]),
                used_features=None if doc.get("used_features") is None else tuple(doc["used_features"]),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise SignatureError(f"malformed signature document: {exc!r}") from exc


def is_missing(value: Any) -> bool:
    """A missing categorical value: None, a float NaN, or pandas' NA/NaT."""
    return (
        value is None or (isinstance(value, float) and value != value) or type(value).__name__ in ("NAType", "NaTType")
    )


def encode_categories(values: Any, vocabulary: Sequence[str]) -> Array:
    """Vocabulary codes (float64) of a column of categories: position, ``UNKNOWN_CODE`` or NaN when missing.

    Values are matched by their text (``str(v)``), so integer-like categories read back from CSV match too.
    """
    import pandas as pd  # the column usually comes from a DataFrame already; kept off the CLI's import path

    objects = np.asarray(values, dtype=object).reshape(-1)
    missing = np.fromiter((is_missing(v) for v in objects), dtype=bool, count=objects.shape[0])
    text = np.where(missing, "", objects).astype(str)
    codes = pd.Index(list(vocabulary)).get_indexer(pd.Index(text)).astype(np.float64)  # -1: not in it
    codes[missing] = np.nan
    return codes
