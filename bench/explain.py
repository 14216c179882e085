"""Explanation cost per row against scoring cost, in the same run, one thread everywhere.

Trains on synthetic data (make_classification: 30 float32 features, 1 % positives) a random forest (100 trees,
depth 10) and a histogram gradient booster (200 iterations, 31 leaves), compiles them for their float32 data
(``input_dtype="float32"``: the default precision then computes in float32; numba backend), then times per row:
scoring (``score``) and explaining (``explain``: TreeSHAP in the engine's graph) at a batch of 1 and a larger
batch, and the shap package's ``TreeExplainer`` (path-dependent, its C++ TreeSHAP) on the same rows when it is
installed. Also reports compile time with and without the explanation graph and the artifact's size.

    python bench/explain.py [--json FILE] [--batch 200] [--budget SECONDS]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# one thread everywhere (set before NumPy, BLAS, OpenMP and numba load)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"
# Run as a script, this folder comes first on the path: the repository root must be there for bench.engine_cpu.
_here = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
sys.path.insert(0, str(_here.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from functools import partial  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier  # noqa: E402

from bench.engine_cpu import per_call_seconds  # noqa: E402
from model_engine import compile_model, save_model  # noqa: E402

N_FEATURES = 30


def models() -> dict[str, Any]:
    return {
        "random_forest_100x10": RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0, n_jobs=1),
        "hist_gb_200x31": HistGradientBoostingClassifier(max_iter=200, max_leaf_nodes=31, early_stopping=False,
                                                         random_state=0),
    }  # fmt: skip


def _shap_explainer(model: Any) -> Any:
    try:
        import shap
    except ImportError:
        return None
    return shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")


def _directory_bytes(path: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(path.iterdir())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the figures to this JSON file")
    parser.add_argument("--batch", type=int, default=200, help="rows of the larger batch")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds of timing per cell")
    args = parser.parse_args()
    X, y = make_classification(n_samples=40_000, n_features=N_FEATURES, n_informative=12, weights=[0.99],
                               flip_y=0.0, random_state=0)  # fmt: skip
    X = X.astype(np.float32).astype(np.float64)
    X_train, y_train, X_test = X[:20_000], y[:20_000], X[20_000:]
    names = [f"f{i}" for i in range(N_FEATURES)]
    rows: list[dict[str, Any]] = []
    print(f"{'model':22} {'batch':>6} {'score us/row':>13} {'explain us/row':>15} {'shap us/row':>12} "
          f"{'explain/score':>14} {'explain/shap':>13}")  # fmt: skip
    for name, model in models().items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X_train, y_train)
        started = time.perf_counter()
        compiled = compile_model(model, names, input_dtype="float32")
        compile_s = time.perf_counter() - started
        explanation_s = _timed(partial(_build_explanation, model, compiled))  # its share of compile_s, alone
        folder = Path(tempfile.mkdtemp())
        save_model(compiled, folder / "artifact")
        sizes = _directory_bytes(folder / "artifact")
        shutil.rmtree(folder)
        explainer = _shap_explainer(model)
        compiled.explain(X_test[:2])  # prepare (numba kernels load from their cache)
        for batch in (1, args.batch):
            xb = np.ascontiguousarray(X_test[:batch])
            t_score, c_score = per_call_seconds(partial(compiled.score, xb), args.budget)
            t_explain, c_explain = per_call_seconds(partial(compiled.explain, xb), args.budget)
            t_shap = c_shap = float("nan")
            if explainer is not None:
                t_shap, c_shap = per_call_seconds(partial(explainer.shap_values, xb), args.budget)
            row = {
                "model": name, "batch": batch, "score_s_per_row": t_score / batch,
                "explain_s_per_row": t_explain / batch, "shap_s_per_row": t_shap / batch,
                "score_cpu_s_per_row": c_score / batch, "explain_cpu_s_per_row": c_explain / batch,
                "shap_cpu_s_per_row": c_shap / batch, "explain_over_score": t_explain / t_score,
                "explain_over_shap": t_explain / t_shap, "compile_s": compile_s,
                "explanation_build_s": explanation_s, "artifact_bytes": sizes,
            }  # fmt: skip
            rows.append(row)
            print(f"{name:22} {batch:>6} {t_score / batch * 1e6:>13.1f} {t_explain / batch * 1e6:>15.1f} "
                  f"{t_shap / batch * 1e6:>12.1f} {t_explain / t_score:>14.1f} {t_explain / t_shap:>13.2f}",
                  flush=True)  # fmt: skip
        scoring = sizes["graph.json"] + sizes["weights.npz"]
        explaining = sizes.get("explanation.json", 0) + sizes.get("explanation.npz", 0)
        print(f"{'':22} compile {compile_s:.2f} s (explanation graph {explanation_s:.2f} s); artifact: scoring graph "
              f"{scoring / 1e6:.2f} MB, explanation graph {explaining / 1e6:.2f} MB")  # fmt: skip
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"rows": rows, "threads": 1, "shap": _shap_version()}, handle, indent=1)


def _build_explanation(model: Any, compiled: Any) -> None:
    from model_engine.explain.build import build_explanation

    build_explanation(model, compiled.signature, dtype=compiled.dtype)


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _shap_version() -> str | None:
    try:
        import shap
    except ImportError:
        return None
    return str(shap.__version__)


if __name__ == "__main__":
    main()
