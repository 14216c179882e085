"""Model engine on CPU against ONNX Runtime, treelite (compiled by tl2cgen) and each library's own predictor, one
thread each, in the same run.

Small models (the fraud-like data: make_classification, 30 float32 features, 1 % positives, 20,000 training
rows): a logistic regression, an MLP (64, 32), a random forest (100 trees, depth 10), a histogram gradient
booster (200 iterations, 31 leaves). Large tree ensembles: a random forest of 500 trees of depth 20 on the same
data, and three boosters of 1,000 trees of up to 255 leaves (HistGradientBoosting, LightGBM leaf-wise, XGBoost
lossguide) on noisier balanced data (30 % of labels flipped), where trees keep most of their leaves to the end.
Times predict_proba at batch sizes 1, 100, 10,000 and 100,000 rows.

Large models take minutes to train and tl2cgen minutes to compile (the forest's C takes the better part of an
hour on a busy 2-core machine): both are done once and kept in ``--cache`` (fitted models by their parameters,
compiled libraries beside them), outside every timing.

    python bench/engine_cpu.py [--json FILE] [--batches 1,100,10000,100000] [--budget SECONDS]
                               [--models NAME,...] [--peers onnxruntime,tl2cgen,native] [--cache DIR] [--quick]

``--quick`` bounds the run to a few minutes on a shared 2-core machine: the large ensembles only, batches 1 and
10,000, 0.2 s a cell, and tl2cgen only where its compiled library is already in the cache (it compiles no C).
Explicit ``--models``, ``--batches`` and ``--budget`` still override it.
"""

from __future__ import annotations

import os

# one thread everywhere (set before NumPy, BLAS, OpenMP and numba load)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from model_engine import compile_model  # noqa: E402

N_FEATURES = 30
Array = np.ndarray[Any, Any]
Predict = Callable[[Array], Any]
PEERS = ("onnxruntime", "tl2cgen", "native")
LARGE_MODELS = ("random_forest_500x20", "hist_gb_1000x255", "lightgbm_1000x255", "xgboost_1000x255")
QUICK = {"models": ",".join(LARGE_MODELS), "batches": "1,10000", "budget": 0.2}


@dataclass(frozen=True)
class Bench:
    """A model to time: how to build it, the data it is fitted on ("fraud" or "noisy"), its library."""

    build: Callable[[], Any]
    data: str = "fraud"
    library: str = "sklearn"


def models() -> dict[str, Bench]:
    import lightgbm
    import xgboost

    return {
        "logistic_regression": Bench(lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))),
        "mlp_64_32": Bench(lambda: make_pipeline(StandardScaler(), MLPClassifier((64, 32), max_iter=60,
                                                                                random_state=0))),
        "random_forest_100x10": Bench(lambda: RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0,
                                                                     n_jobs=1)),
        "hist_gb_200x31": Bench(lambda: HistGradientBoostingClassifier(max_iter=200, max_leaf_nodes=31,
                                                                       early_stopping=False, random_state=0)),
        "random_forest_500x20": Bench(lambda: RandomForestClassifier(n_estimators=500, max_depth=20, random_state=0,
                                                                     n_jobs=1)),
        "hist_gb_1000x255": Bench(lambda: HistGradientBoostingClassifier(max_iter=1000, max_leaf_nodes=255,
                                                                         early_stopping=False, random_state=0),
                                  "noisy"),
        "lightgbm_1000x255": Bench(lambda: lightgbm.LGBMClassifier(n_estimators=1000, num_leaves=255, n_jobs=1,
                                                                   random_state=0, verbose=-1), "noisy", "lightgbm"),
        "xgboost_1000x255": Bench(lambda: xgboost.XGBClassifier(n_estimators=1000, max_leaves=255, max_depth=0,
                                                                grow_policy="lossguide", tree_method="hist",
                                                                min_child_weight=1e-3, n_jobs=1, random_state=0),
                                  "noisy", "xgboost"),
    }  # fmt: skip


def dataset(kind: str) -> tuple[Array, Array, Array]:
    """(training rows, training labels, test rows), float32."""
    if kind == "noisy":
        X, y = make_classification(n_samples=120_000, n_features=N_FEATURES, n_informative=12, weights=[0.5],
                                   flip_y=0.3, random_state=0)  # fmt: skip
    else:
        X, y = make_classification(n_samples=120_000, n_features=N_FEATURES, n_informative=12, weights=[0.99],
                                   flip_y=0.0, random_state=0)  # fmt: skip
    X = X.astype(np.float32)
    return X[:20_000], y[:20_000], X[20_000:]


def fitted(name: str, bench: Bench, X: Array, y: Array, cache: Path) -> Any:
    """The fitted model, trained once per parameter set and kept in ``cache``."""
    model = bench.build()
    key = hashlib.sha256(f"{bench.data}:{model!r}".encode()).hexdigest()[:12]
    path = cache / f"{name}-{key}.joblib"
    if path.exists():
        return joblib.load(path)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    print(f"{name}: trained in {time.perf_counter() - started:.0f} s, kept as {path}", flush=True)
    cache.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path)
    return model


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


def onnx_predict(model: Any, library: str) -> Predict:
    """ONNX Runtime on the model converted by skl2onnx (scikit-learn) or onnxmltools (XGBoost, LightGBM)."""
    if library == "sklearn":
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType

        onx = convert_sklearn(model, initial_types=[("x", FloatTensorType([None, N_FEATURES]))],
                              options={id(model): {"zipmap": False}}, target_opset=17)  # fmt: skip
    else:
        import onnxmltools
        from onnxmltools.convert.common.data_types import FloatTensorType as MlFloatTensorType

        types = [("x", MlFloatTensorType([None, N_FEATURES]))]
        if library == "xgboost":
            onx = onnxmltools.convert_xgboost(model, initial_types=types, target_opset=15)
        else:
            onx = onnxmltools.convert_lightgbm(model, initial_types=types, target_opset=15, zipmap=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(onx.SerializeToString(), options, providers=["CPUExecutionProvider"])
    output = next(o.name for o in session.get_outputs() if "prob" in o.name)
    return partial(_run_session, session, session.get_inputs()[0].name, output)


def _run_session(session: ort.InferenceSession, input_name: str, output: str, x: Array) -> Any:
    return session.run([output], {input_name: x})[0]


def tl2cgen_predict(name: str, model: Any, library: str, cache: Path, *, compile_c: bool = True) -> Predict | None:
    """treelite's model compiled to C by tl2cgen (gcc), once per model, kept beside the fitted model; None where
    treelite cannot import the model, or where the library is not cached and ``compile_c`` is false."""
    import tl2cgen
    import treelite

    if library == "sklearn":
        if not isinstance(model, HistGradientBoostingClassifier | RandomForestClassifier):
            return None
        tree_model = treelite.sklearn.import_model(model)
    elif library == "xgboost":
        tree_model = treelite.frontend.from_xgboost(model.get_booster())
    else:
        tree_model = treelite.frontend.from_lightgbm(model.booster_)
    key = hashlib.sha256(tree_model.dump_as_json(pretty_print=False).encode()).hexdigest()[:12]
    path = cache / f"{name}-{key}.so"
    if not path.exists():
        if not compile_c:
            print(f"{name}: tl2cgen not timed (no compiled library in {cache}; the quick form compiles no C)")
            return None
        started = time.perf_counter()
        cache.mkdir(parents=True, exist_ok=True)
        tl2cgen.export_lib(tree_model, toolchain="gcc", libpath=str(path), params={"parallel_comp": 16}, nthread=2)
        print(f"{name}: tl2cgen compiled in {time.perf_counter() - started:.0f} s, kept as {path}", flush=True)
    predictor = tl2cgen.Predictor(str(path), nthread=1)
    return partial(_run_tl2cgen, predictor)


def _run_tl2cgen(predictor: Any, x: Array) -> Any:
    import tl2cgen

    return predictor.predict(tl2cgen.DMatrix(x, dtype="float32"))


def native_predict(model: Any, library: str) -> Predict:
    """The library's own predictor, one thread: scikit-learn's predict_proba, XGBoost's inplace_predict on the
    booster, LightGBM's Booster.predict."""
    if library == "xgboost":
        booster = model.get_booster()
        booster.set_param({"nthread": 1})
        return partial(booster.inplace_predict)
    if library == "lightgbm":
        return partial(model.booster_.predict, num_threads=1)
    return partial(model.predict_proba)


def positive(p: Any) -> Array:
    """The positive-class probability from any predictor's output."""
    a = np.asarray(p, dtype=np.float64)
    return a.reshape(a.shape[0], -1)[:, -1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the figures to this JSON file")
    parser.add_argument("--batches", help="comma-separated batch sizes (default 1,100,10000,100000)")
    parser.add_argument("--budget", type=float, help="seconds of timing per cell (default 1.0)")
    parser.add_argument("--models", help="comma-separated subset of the model names (default all)")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of " + ", ".join(PEERS))
    parser.add_argument("--cache", default=".bench-cache/engine_cpu", help="fitted models and compiled libraries")
    parser.add_argument("--quick", action="store_true", help="the large ensembles, bounded to a few minutes")
    args = parser.parse_args()
    defaults = QUICK if args.quick else {"models": "", "batches": "1,100,10000,100000", "budget": 1.0}
    for option, value in defaults.items():
        if getattr(args, option) is None:
            setattr(args, option, value)
    batches = [int(b) for b in args.batches.split(",")]
    peers = [p for p in args.peers.split(",") if p]
    unknown = sorted(set(peers) - set(PEERS))
    if unknown:
        parser.error(f"unknown peers {unknown}; choose among {', '.join(PEERS)}")
    cache = Path(args.cache)
    _patch_skl2onnx_missing_flags()
    names = [f"f{i}" for i in range(N_FEATURES)]
    rows: list[dict[str, Any]] = []
    chosen = models()
    if args.models:
        wanted = args.models.split(",")
        missing = sorted(set(wanted) - set(chosen))
        if missing:
            parser.error(f"unknown models {missing}; choose among {', '.join(chosen)}")
        chosen = {k: v for k, v in chosen.items() if k in wanted}
    print(f"{'model':22} {'batch':>7} " + " ".join(f"{p + ' us':>14}" for p in peers)
          + f" {'engine us':>11} {'engine rows/s':>14} {'eng/ort cpu':>11} {'eng/best cpu':>12}")  # fmt: skip
    for name, bench in chosen.items():
        X_train, y_train, X_test = dataset(bench.data)
        model = fitted(name, bench, X_train, y_train, cache)
        compiled = compile_model(model, names, input_dtype="float32")  # the data is float32
        predictors: dict[str, Predict] = {}
        for peer in peers:
            if peer == "onnxruntime":
                predictors[peer] = onnx_predict(model, bench.library)
            elif peer == "tl2cgen":
                compiled_c = tl2cgen_predict(name, model, bench.library, cache, compile_c=not args.quick)
                if compiled_c is not None:
                    predictors[peer] = compiled_c
            else:
                predictors[peer] = native_predict(model, bench.library)
        sample = X_test[:1000]
        reference = positive(model.predict_proba(sample))
        errors = {p: float(np.abs(positive(f(sample)) - reference).max()) for p, f in predictors.items()}
        errors["engine"] = float(np.abs(positive(compiled.predict_proba(sample)) - reference).max())
        for batch in batches:
            xb = np.ascontiguousarray(X_test[:batch])
            times = {p: per_call_seconds(partial(f, xb), args.budget) for p, f in predictors.items()}
            t_eng, c_eng = per_call_seconds(partial(compiled.predict_proba, xb), args.budget)
            best = min(times, key=lambda p: times[p][1]) if times else None
            row: dict[str, Any] = {
                "model": name, "batch": batch, "engine_s": t_eng, "engine_cpu_s": c_eng,
                "engine_rows_per_s": batch / t_eng, "max_abs_err_vs_predict_proba": errors,
                "graph_ops": compiled.graph.op_counts(), "precision": compiled.metadata["precision"]["dtype"],
                "best_peer_cpu": best,
            }  # fmt: skip
            for peer, (wall, cpu) in times.items():
                row[f"{peer}_s"], row[f"{peer}_cpu_s"] = wall, cpu
                row[f"engine_over_{peer}_cpu"] = c_eng / cpu
            rows.append(row)
            over_ort = f"{c_eng / times['onnxruntime'][1]:>11.2f}" if "onnxruntime" in times else f"{'':>11}"
            over_best = f"{c_eng / times[best][1]:>12.2f}" if best else f"{'':>12}"
            cells = " ".join(f"{times[p][1] * 1e6:>14.1f}" if p in times else f"{'-':>14}" for p in peers)
            print(f"{name:22} {batch:>7} {cells} {c_eng * 1e6:>11.1f} {batch / c_eng:>14,.0f} {over_ort} {over_best}",
                  flush=True)  # fmt: skip
        print(f"{'':22} max |p - predict_proba| on 1000 rows: "
              + ", ".join(f"{k} {v:.1e}" for k, v in errors.items())
              + f"; engine {compiled.metadata['precision']['dtype']}, graph {compiled.graph.op_counts()}")  # fmt: skip
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"rows": rows, "batches": batches, "threads": 1, "peers": peers, "budget_s": args.budget,
                       "load_average_at_end": os.getloadavg()}, handle, indent=1)  # fmt: skip


if __name__ == "__main__":
    main()
