"""The triton backend end to end: compiled scikit-learn models against the NumPy backend, lowering, placement
and buffer reuse.

Tolerance: 1e-5 absolute on probabilities (float32; the fused kernels sum in a different, fixed order).
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch", reason="the Triton backend tests need torch (the 'gpu' extra)")
pytest.importorskip("triton", reason="the Triton backend tests need triton (the 'gpu' extra)")

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from model_engine.backends import get_backend
from model_engine.backends.triton.backend import TritonBackend, TritonExecutable
from model_engine.backends.triton.forest_layout import CompactLayout
from model_engine.backends.triton.steps import ForestStep
from model_engine.compile import compile_model
from model_engine.errors import BackendUnavailableError
from model_engine.ir import DType
from model_engine.ops import GraphBuilder

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

N_FEATURES = 6
NAMES = [f"f{i}" for i in range(N_FEATURES)]


def _data() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, N_FEATURES))
    X[:, 5] = rng.integers(0, 4, size=400)  # a small categorical column
    y = ((X[:, 0] + X[:, 1] ** 2 + 0.3 * X[:, 5]) > 1.2).astype(int)
    y3 = y + (X[:, 2] > 0.5)
    return X, y, y3


def _models() -> dict[str, tuple[Any, str, list[str]]]:
    """name -> (estimator, target, the step kinds the lowering must produce)."""
    return {
        "logistic": (make_pipeline(StandardScaler(), LogisticRegression()), "y", ["mlp"]),
        "logistic_multiclass": (LogisticRegression(max_iter=300), "y3", ["mlp"]),
        "mlp_relu": (make_pipeline(StandardScaler(), MLPClassifier((16, 8), max_iter=60)), "y", ["mlp"]),
        "mlp_tanh_softmax": (MLPClassifier((12,), activation="tanh", max_iter=60, random_state=0), "y3", ["mlp"]),
        "random_forest": (RandomForestClassifier(4, max_depth=4, random_state=0), "y", ["forest"]),
        "deep_tree": (DecisionTreeClassifier(random_state=0), "noise", ["forest"]),  # deeper than 10: compact
        "hist_boosting": (HistGradientBoostingClassifier(max_iter=4, max_leaf_nodes=15), "y", ["forest"]),
        "boosting_scaled": (
            make_pipeline(StandardScaler(), GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0)),
            "y",
            ["elementwise", "device-op"],
        ),
        "binned_logistic": (
            make_pipeline(KBinsDiscretizer(n_bins=4, encode="onehot-dense"), LogisticRegression()),
            "y",
            ["columnar"],  # one-hot folded into row gathers: the whole model is one generated kernel
        ),
        "column_transformer_mlp": (
            make_pipeline(
                ColumnTransformer(
                    [
                        ("num", make_pipeline(SimpleImputer(), StandardScaler()), [0, 1, 2, 3, 4]),
                        ("cat", OneHotEncoder(handle_unknown="ignore"), [5]),
                    ]
                ),
                MLPClassifier((8,), max_iter=40),
            ),
            "y",
            ["columnar", "mlp"],
        ),
    }  # fmt: skip


def _test_rows(X: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    rows = X[:45].astype(np.float32).copy()  # 45 rows: ragged for every block size
    rows[2, 0] = np.nan
    rows[7, 1] = np.nan
    rows[9, 5] = 11.0  # a category never seen in training
    return rows


@pytest.mark.parametrize("name", list(_models()))
def test_model_matches_numpy_backend(device: Any, name: str) -> None:
    X, y, y3 = _data()
    estimator, target, kinds = _models()[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        labels = {"y": y, "y3": y3, "noise": np.random.default_rng(1).integers(0, 2, size=len(y))}[target]
        estimator.fit(X, labels)
    model = compile_model(estimator, NAMES, dtype="float32")
    rows = _test_rows(X)
    if name in ("binned_logistic", "logistic", "mlp_relu", "logistic_multiclass", "mlp_tanh_softmax"):
        rows = np.nan_to_num(rows)  # these scikit-learn models reject NaN; the engine would propagate it
    expected = model.predict_proba(rows, backend="numpy")
    got = model.predict_proba(rows, backend="triton")
    assert got.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5, equal_nan=True)
    executable = model.executable("triton")
    assert isinstance(executable, TritonExecutable)
    lowered = [kind for kind, _ in executable.lowering()]
    if name == "deep_tree":
        (step,) = executable.steps
        assert isinstance(step, ForestStep)
        assert isinstance(step.forest.layout, CompactLayout)
    for kind in kinds:
        assert kind in lowered
    assert "host" not in lowered


def test_small_batches_stay_on_the_cpu_backend() -> None:
    X, y, _ = _data()
    model = compile_model(RandomForestClassifier(3, max_depth=6, random_state=0).fit(X, y), NAMES, dtype="float32")
    rows = model.prepare_input(_test_rows(X))
    executable = TritonBackend(min_rows=40, cpu_backend="numpy").prepare(model.graph)
    small = executable.run(rows[:39])[0]
    assert executable.pool.allocations == 0  # nothing touched the device
    np.testing.assert_array_equal(small, get_backend("numpy").prepare(model.graph).run(rows[:39])[0])
    executable.run(rows)
    assert executable.pool.allocations > 0


def test_device_buffers_are_reused_in_steady_state() -> None:
    X, y, _ = _data()
    model = compile_model(
        make_pipeline(StandardScaler(), MLPClassifier((8,), max_iter=30)).fit(X, y), NAMES, dtype="float32"
    )
    executable = TritonBackend(min_rows=0).prepare(model.graph)
    rows = model.prepare_input(_test_rows(X))
    first = executable.run(rows)[0]
    allocations = executable.pool.allocations
    for n in (45, 10, 30):
        np.testing.assert_array_equal(executable.run(rows[:n])[0], first[:n])
    assert executable.pool.allocations == allocations


def test_op_without_device_lowering_runs_on_host_or_is_refused() -> None:
    builder = GraphBuilder()
    x = builder.input("x", DType.FLOAT32, 3)
    a = builder.constant(np.arange(3, dtype=np.float32), "a")
    b = builder.constant(np.ones(3, dtype=np.float32), "b")
    shift = builder.op("add", a, b)  # constant-only: not a batched elementwise op, so no device lowering
    builder.output("y", builder.op("mul", x, shift))
    graph = builder.build()
    executable = TritonBackend().prepare(graph)
    assert [kind for kind, _ in executable.lowering()] == ["host", "elementwise"]
    rows = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_array_equal(executable.run(rows)[0], rows * np.array([1, 2, 3], dtype=np.float32))
    with pytest.raises(BackendUnavailableError, match=r"no device lowering for op\(s\) \['add'\]"):
        TritonBackend(strict=True).prepare(graph)


def test_float64_graphs_are_refused_with_advice() -> None:
    X, y, _ = _data()
    model = compile_model(LogisticRegression().fit(X, y), NAMES, dtype="float64")
    with pytest.raises(Exception, match="dtype='float32'"):
        TritonBackend().prepare(model.graph)


def test_concurrent_calls_do_not_share_buffers_midway() -> None:
    X, y, _ = _data()
    model = compile_model(RandomForestClassifier(3, max_depth=6, random_state=0).fit(X, y), NAMES, dtype="float32")
    executable = TritonBackend(min_rows=0).prepare(model.graph)
    rows = model.prepare_input(_test_rows(X))
    expected = get_backend("numpy").prepare(model.graph).run(rows)[0]
    slices = [(0, 45), (3, 20), (10, 44), (0, 7)] * 2
    results: dict[int, np.ndarray[Any, Any]] = {}

    def work(i: int, start: int, stop: int) -> None:
        results[i] = executable.run(rows[start:stop])[0]

    threads = [threading.Thread(target=work, args=(i, a, b)) for i, (a, b) in enumerate(slices)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, (start, stop) in enumerate(slices):
        np.testing.assert_allclose(results[i], expected[start:stop], rtol=0, atol=1e-5)
