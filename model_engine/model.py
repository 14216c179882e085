"""CompiledModel: an optimised graph with its signature, runnable on any backend.

Writing and reading it as an artifact directory is :mod:`model_engine.artifacts` (``save_model``, ``load_model``),
which builds on this module.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from model_engine.backends.base import DEFAULT_TILE_ROWS, Executable, get_backend
from model_engine.errors import ExplanationUnavailableError, GoldenMismatchError, SignatureError
from model_engine.explain.contributions import Contributions
from model_engine.explain.explanation import CONTRIBUTIONS, MARGIN, RECOMPILE, ExplanationGraph
from model_engine.ir.graph import Graph
from model_engine.ops.verify import verify_graph
from model_engine.passes.infra import PassStat
from model_engine.signature import Signature

Array = np.ndarray[Any, Any]
OUTPUT = "probabilities"
CPU_BACKENDS = ("numpy", "numba")
EXPLAIN_TOLERANCE = 1e-9  # relative, golden explanations on backends other than numpy
_log = logging.getLogger(__name__)


class CompiledModel:
    """A fitted model compiled to a graph. Built by :func:`model_engine.compile_model` or
    :func:`model_engine.load_model`; written with :func:`model_engine.save_model`.

    >>> from sklearn.linear_model import LogisticRegression
    >>> from model_engine import compile_model
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> model = compile_model(LogisticRegression().fit(X, y), ["a", "b", "c"])
    >>> model.predict_proba(X[:2], backend="numpy").shape
    (2, 2)
    """

    def __init__(
        self,
        graph: Graph,
        signature: Signature,
        *,
        metadata: Mapping[str, Any] | None = None,
        pass_stats: Sequence[PassStat] = (),
        backend: str = "numba",
        tile_rows: int = DEFAULT_TILE_ROWS,
        explanation: ExplanationGraph | None = None,
        explanation_note: str = RECOMPILE,
    ) -> None:
        verify_graph(graph)
        if len(graph.inputs) != 1 or OUTPUT not in graph.outputs:
            raise SignatureError(f"a model graph takes one input matrix and returns {OUTPUT!r}")
        x = graph.inputs[0].type
        if x.rank != 2 or x.shape[1] != len(signature.graph_features):
            raise SignatureError(
                f"the graph reads {x} but the signature lists {len(signature.graph_features)} used features"
            )
        self.graph = graph
        self.signature = signature
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.pass_stats = tuple(pass_stats)
        self.default_backend = backend
        self.tile_rows = tile_rows
        self.input_dtype = x.dtype.numpy
        columns = signature.graph_columns
        self._columns: list[int] | None = None if columns == tuple(range(signature.n_features)) else list(columns)
        self._output_index = list(graph.outputs).index(OUTPUT)
        self._single_output = len(graph.outputs) == 1
        self._executables: dict[str, Executable] = {}
        if explanation is not None and explanation.n_features != signature.n_features:
            raise SignatureError(
                f"the explanation graph reads {explanation.n_features} features, the signature has "
                f"{signature.n_features}"
            )
        self.explanation = explanation
        self.explanation_note = explanation_note
        self._explainers: dict[str, Executable] = {}

    @property
    def dtype(self) -> str:
        return str(self.input_dtype)

    def executable(self, backend: str | None = None) -> Executable:
        """The graph prepared for a backend (prepared once, then reused)."""
        name = backend or self.default_backend
        prepared = self._executables.get(name)
        if prepared is None:
            prepared = get_backend(name).prepare(self.graph, tile_rows=self.tile_rows)
            self._executables[name] = prepared
        return prepared

    def signature_matrix(self, X: Any, names: Sequence[str] | None = None) -> Array:
        """A float matrix [N, n_features] in signature order from a matrix or named columns. ``names`` are the
        columns of a matrix ``X``: anything but the signature's features in its order is a :class:`SignatureError`."""
        if names is not None:
            self.signature.check_names(names)
        if not isinstance(X, np.ndarray) or X.ndim != 2 or X.dtype.kind != "f":
            return self.signature.encode(X)
        if X.shape[1] != self.signature.n_features:
            raise SignatureError(
                f"expected {self.signature.n_features} columns {list(self.signature.features)}, got {X.shape[1]}"
            )
        return X

    def prepare_input(self, X: Any, names: Sequence[str] | None = None) -> Array:
        """The graph's input matrix: the used columns, contiguous, in the graph's dtype (``names`` as for
        :meth:`signature_matrix`).

        Infinite values are refused, as scikit-learn refuses them (NaN stays: it is a missing value), and so
        are values beyond the graph's dtype, which the cast would turn into infinities.
        """
        X = self.signature_matrix(X, names)
        if self._columns is not None:
            X = X[:, self._columns]
        if X.dtype != self.input_dtype or not X.flags.c_contiguous:
            with np.errstate(over="ignore"):  # an overflow becomes an infinity, refused just below
                X = np.ascontiguousarray(X, dtype=self.input_dtype)
        if np.isinf(X).any():
            used = self.signature.graph_features
            columns = [used[j] for j in np.flatnonzero(np.isinf(X).any(axis=0))]
            raise SignatureError(
                f"input holds infinite values (or values beyond {self.input_dtype}) in columns {columns}; "
                "scikit-learn refuses them too: replace or drop those rows"
            )
        prepared: Array = X
        return prepared

    def predict_proba(self, X: Any, backend: str | None = None, *, names: Sequence[str] | None = None) -> Array:
        """Class probabilities [N, C] for features [N, F] in signature order (or named columns); ``names``, the
        matrix's column names, are checked against the signature."""
        executable = self.executable(backend)
        x = self.prepare_input(X, names)
        # backends may offer run_matrix, a per-call fast path for one-input, one-output graphs (batch-1 latency)
        fast = getattr(executable, "run_matrix", None) if self._single_output else None
        result: Array = fast(x) if fast is not None else executable.run(x)[self._output_index]
        return result

    def score(self, X: Any, backend: str | None = None, *, names: Sequence[str] | None = None) -> Array:
        """The positive-class probability [N] (column 1 of :meth:`predict_proba`).

        >>> from sklearn.linear_model import LogisticRegression
        >>> from model_engine import compile_model
        >>> X = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
        >>> model = compile_model(LogisticRegression().fit(X, X[:, 0] > 0), ["amount", "count"])
        >>> model.score(X[:, ::-1], names=["count", "amount"])
        Traceback (most recent call last):
        ...
        model_engine.errors.SignatureError: the input's columns are in another order than the model's: ...
        """
        return self.predict_proba(X, backend, names=names)[:, 1]

    def explain(self, X: Any, backend: str | None = None, *, names: Sequence[str] | None = None) -> Contributions:
        """Additive contributions of each signature feature to each row's margin.

        ``X`` (and ``names``) are given as for :meth:`score`. Row by row ``base_value + values.sum(axis=1) ==
        margin`` (see :class:`~model_engine.explain.Contributions` for the tolerances); ``quantity`` states what
        the margin is: the score's logit (``sigmoid(margin)`` is the score) except for calibrated models and soft
        votes, whose explainers state theirs (``model_engine.explain.ensembles``).
        Explanations run on the CPU: ``backend="triton"`` (or a triton default) computes them with numba and logs
        that it did. Raises :class:`ExplanationUnavailableError` when the model has no explanation graph.
        """
        if self.explanation is None:
            raise ExplanationUnavailableError(f"this model cannot be explained: {self.explanation_note}")
        x = np.ascontiguousarray(self.signature_matrix(X, names), dtype=np.float64)
        contributions, margin = self._explainer(backend).run(x)
        return Contributions(self.signature.features, contributions[:, :-1], contributions[:, -1], margin[:, 0],
                             self.explanation.method, self.explanation.quantity)  # fmt: skip

    def _explainer(self, backend: str | None) -> Executable:
        assert self.explanation is not None
        name = backend or self.default_backend
        if name not in CPU_BACKENDS:
            if name not in self._explainers:
                _log.warning("the %s backend does not run explanation graphs; explaining on the CPU with numba", name)
            self._explainers[name] = self._explainer("numba")
        prepared = self._explainers.get(name)
        if prepared is None:
            prepared = get_backend(name).prepare(self.explanation.graph, tile_rows=self.tile_rows)
            self._check_golden_explanation(prepared, name)
            self._explainers[name] = prepared
        return prepared

    def _check_golden_explanation(self, executable: Executable, backend: str) -> None:
        """The stored golden explanation must reproduce (bit for bit on numpy) before the first use of a backend."""
        assert self.explanation is not None
        golden = self.explanation.golden
        if golden is None:
            return
        names = list(self.explanation.graph.outputs)
        got = executable.run(np.ascontiguousarray(golden.input))
        expected = {CONTRIBUTIONS: golden.contributions, MARGIN: golden.margin}
        for name, array in zip(names, got, strict=True):
            want = expected[name]
            if backend == "numpy":
                same = np.array_equal(array, want, equal_nan=True)
            else:
                same = np.allclose(array, want, rtol=EXPLAIN_TOLERANCE, atol=EXPLAIN_TOLERANCE, equal_nan=True)
            if array.shape != want.shape or not same:
                raise GoldenMismatchError(
                    f"the golden explanation does not reproduce on backend {backend!r} ({name}); the artifact or "
                    "this engine build is not the one it was made with"
                )
