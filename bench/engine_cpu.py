"""Model engine on CPU against scikit-learn and ONNX Runtime, one thread each, in the same run.

Trains on synthetic data (make_classification: 30 float32 features, 1 % positives) a logistic regression,
an MLP (64, 32), a random forest (100 trees, depth 10) and a histogram gradient booster (200 iterations,
31 leaves), then times predict_proba at batch sizes 1, 100, 10,000 and 100,000 rows.

    python bench/engine_cpu.py [--json FILE] [--batches 1,100,10000,100000] [--budget SECONDS]
"""

from __future__ import annotations

import os

# one thread everywhere (set before NumPy, BLAS, OpenMP and numba load)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from functools import partial  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
from skl2onnx import convert_sklearn  # noqa: E402
from skl2onnx.common.data_types import FloatTensorType  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from model_engine import compile_model  # noqa: E402

N_FEATURES = 30


def models() -> dict[str, Any]:
    return {
        "logistic_regression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
        "mlp_64_32": make_pipeline(StandardScaler(), MLPClassifier((64, 32), max_iter=60, random_state=0)),
        "random_forest_100x10": RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0, n_jobs=1),
        "hist_gb_200x31": HistGradientBoostingClassifier(max_iter=200, max_leaf_nodes=31, early_stopping=False,
                                                         random_state=0),
    }  # fmt: skip


def per_call_seconds(fn: Callable[[], Any], budget: float) -> tuple[float, float]:
    """Median wall and CPU time of one call, from 5 blocks of calls each lasting about budget / 5.

    CPU time (this process, one thread everywhere) is the steadier figure on a shared machine.
    """
    fn()
    started = time.perf_counter()
    fn()
    once = max(time.perf_counter() - started, 1e-7)
    calls = max(1, int(budget / 5 / once))
    wall, cpu = [], []
    for _ in range(5):
        started, started_cpu = time.perf_counter(), time.process_time()
        for _ in range(calls):
            fn()
        wall.append((time.perf_counter() - started) / calls)
        cpu.append((time.process_time() - started_cpu) / calls)
    return statistics.median(wall), statistics.median(cpu)


def _patch_skl2onnx_missing_flags() -> None:
    """skl2onnx passes NumPy bools for HistGradientBoosting's missing-value flags, which onnx refuses; cast them."""
    from skl2onnx.common import tree_ensemble

    original = tree_ensemble.add_node

    def add_node(*args: Any, nodes_missing_value_tracks_true: Any = 0, **kwargs: Any) -> Any:
        return original(*args, nodes_missing_value_tracks_true=int(nodes_missing_value_tracks_true), **kwargs)

    tree_ensemble.add_node = add_node


def onnx_session(model: Any) -> tuple[ort.InferenceSession, str, str]:
    onx = convert_sklearn(model, initial_types=[("x", FloatTensorType([None, N_FEATURES]))],
                          options={id(model): {"zipmap": False}}, target_opset=17)  # fmt: skip
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(onx.SerializeToString(), options, providers=["CPUExecutionProvider"])
    output = next(o.name for o in session.get_outputs() if "prob" in o.name)
    return session, session.get_inputs()[0].name, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the figures to this JSON file")
    parser.add_argument("--batches", default="1,100,10000,100000")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds of timing per cell")
    parser.add_argument("--models", default="", help="comma-separated subset of the model names")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    _patch_skl2onnx_missing_flags()

    X, y = make_classification(n_samples=120_000, n_features=N_FEATURES, n_informative=12, weights=[0.99],
                               flip_y=0.0, random_state=0)  # fmt: skip
    X = X.astype(np.float32)
    X_train, y_train, X_test = X[:20_000], y[:20_000], X[20_000:]
    names = [f"f{i}" for i in range(N_FEATURES)]
    rows: list[dict[str, Any]] = []
    chosen = models()
    if args.models:
        chosen = {k: v for k, v in chosen.items() if k in args.models.split(",")}
    print(f"{'model':22} {'batch':>7} {'sklearn us':>11} {'onnxrt us':>11} {'engine us':>11} "
          f"{'engine rows/s':>14} {'ort rows/s':>12} {'eng/ort wall':>12} {'eng/ort cpu':>11}")  # fmt: skip
    for name, model in chosen.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X_train, y_train)
        session, input_name, output_name = onnx_session(model)
        compiled = compile_model(model, names, input_dtype="float32")  # the data is float32
        sample = X_test[:1000]
        engine_err = float(np.abs(compiled.predict_proba(sample) - model.predict_proba(sample)).max())
        ort_err = float(np.abs(session.run([output_name], {input_name: sample})[0] - model.predict_proba(sample)).max())
        for batch in batches:
            xb = np.ascontiguousarray(X_test[:batch])
            t_sk, c_sk = per_call_seconds(partial(model.predict_proba, xb), args.budget)
            t_ort, c_ort = per_call_seconds(partial(session.run, [output_name], {input_name: xb}), args.budget)
            t_eng, c_eng = per_call_seconds(partial(compiled.predict_proba, xb), args.budget)
            row = {
                "model": name, "batch": batch, "sklearn_s": t_sk, "onnxruntime_s": t_ort, "engine_s": t_eng,
                "sklearn_cpu_s": c_sk, "onnxruntime_cpu_s": c_ort, "engine_cpu_s": c_eng,
                "engine_rows_per_s": batch / t_eng, "onnxruntime_rows_per_s": batch / t_ort,
                "sklearn_rows_per_s": batch / t_sk, "engine_over_ort": t_eng / t_ort,
                "engine_over_ort_cpu": c_eng / c_ort,
                "engine_max_abs_err": engine_err, "ort_max_abs_err": ort_err,
                "graph_ops": compiled.graph.op_counts(),
            }  # fmt: skip
            rows.append(row)
            print(f"{name:22} {batch:>7} {t_sk * 1e6:>11.1f} {t_ort * 1e6:>11.1f} {t_eng * 1e6:>11.1f} "
                  f"{batch / t_eng:>14,.0f} {batch / t_ort:>12,.0f} {t_eng / t_ort:>12.2f} {c_eng / c_ort:>11.2f}",
                  flush=True)  # fmt: skip
        print(f"{'':22} max |p - sklearn| on 1000 rows: engine {engine_err:.2e}, onnxruntime {ort_err:.2e}; "
              f"graph {compiled.graph.op_counts()}")  # fmt: skip
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"rows": rows, "batches": batches, "threads": 1}, handle, indent=1)


if __name__ == "__main__":
    main()
