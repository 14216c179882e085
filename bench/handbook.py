"""The ULB/Worldline handbook's prequential benchmark, run with our features, models and engine.

Protocol (restated from the handbook): blocks of 7 days, train 7 days, skip 7 days (labels not yet known),
test 7 days; inputs standardised on the training week; on each test day T the cards with a known fraud on or
before T - 8 days are dropped; AUC ROC and AP over the pooled test transactions, card precision@100 per test
day (detected cards removed from later days), averaged; 4 folds, each shifted back one week. Hyper-parameters
are chosen on the validation folds (by mean AP); the published figures are for the test folds (August to
September 2018), which the shared data does not contain.

    python bench/handbook.py --data ../shared/data/ulb-handbook --folds validation --json handbook.json

``--ceiling`` also prints, per fold, the CP@100 that label-informed scores reach (upper bounds, not models).
"""

# ruff: noqa: E402  (the import path is fixed before the project packages are imported)
from __future__ import annotations

import sys
from pathlib import Path

# Sibling scripts of bench/ (features.py, ...) would shadow the packages of the same name: drop this folder
# from the import path before importing them.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from features import OfflineFeatureEngine, default_feature_set, model_input, model_input_names
from ingest.errors import IngestError
from ingest.sources import read_transactions
from lifecycle.evaluation import average_precision, card_precision_at_k, roc_auc
from lifecycle.training.split import TimeSplit, drop_known_compromised_cards

VALIDATION_STARTS = ("2018-06-20", "2018-06-27", "2018-07-04", "2018-07-11")
TEST_STARTS = ("2018-07-25", "2018-08-01", "2018-08-08", "2018-08-15")
PUBLISHED = {  # the handbook's test-fold results: AUC ROC, AP, CP@100
    "decision tree": (0.797, 0.579, 0.284),
    "logistic regression": (0.868, 0.623, 0.297),
    "random forest": (0.870, 0.678, 0.299),
    "XGBoost": (0.869, 0.687, 0.303),
    "feed-forward neural net": (0.876, 0.675, 0.303),
}


@dataclass(frozen=True)
class Candidate:
    family: str
    name: str
    estimator: BaseEstimator


def candidates(seed: int) -> list[Candidate]:
    """A small grid per family (kept small: the machine is shared)."""
    out = [
        Candidate(
            "logistic regression", f"lr C={c}", make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=500))
        )
        for c in (0.1, 1.0)
    ]
    out += [
        Candidate(
            "random forest",
            f"rf depth={d}",
            RandomForestClassifier(n_estimators=100, max_depth=d, min_samples_leaf=1, n_jobs=2, random_state=seed),
        )
        for d in (10, 20)
    ]
    out += [
        Candidate(
            "hist gradient boosting",
            f"hgb lr={lr} leaves={leaves}",
            HistGradientBoostingClassifier(
                learning_rate=lr, max_iter=200, max_leaf_nodes=leaves, early_stopping=False, random_state=seed
            ),
        )
        for lr, leaves in ((0.05, 15), (0.1, 31))
    ]
    out += [
        Candidate(
            "neural net",
            f"mlp {hidden}",
            make_pipeline(
                StandardScaler(),
                MLPClassifier(
                    hidden_layer_sizes=hidden, alpha=1e-4, max_iter=60, early_stopping=True, random_state=seed
                ),
            ),
        )
        for hidden in ((64, 32),)
    ]
    return out


def load(data: Path) -> pd.DataFrame:
    """The folder's transactions (the golden features beside them are skipped), on the contract, in time order."""
    try:
        frame = read_transactions([data], mapping="handbook")
    except IngestError as error:
        raise SystemExit(str(error)) from None
    return frame.sort_values("timestamp", kind="mergesort").reset_index(drop=True)


def engine_scores(estimator: BaseEstimator, names: list[str], X: np.ndarray, backend: str) -> np.ndarray:
    """Compile the fitted model and score through the engine (the serving code path)."""
    from model_engine.compile import compile_model

    model = compile_model(estimator, names)
    return np.asarray(model.score(X, backend=backend, names=names), dtype=np.float64)


def run_fold(
    frame: pd.DataFrame, X: np.ndarray, names: list[str], start: str, cands: list[Candidate], scorer: str, backend: str
) -> dict[str, dict[str, Any]]:
    split = TimeSplit(datetime.fromisoformat(start).replace(tzinfo=UTC), train_days=7, gap_days=7, test_days=7)
    stamps = frame["timestamp"]
    train = split.train_mask(stamps)
    test = drop_known_compromised_cards(
        frame, split.test_mask(stamps), label_delay_days=7, history_start=split.train_start
    )
    y_train = frame.loc[train, "is_fraud"].to_numpy(dtype=np.int64)
    y_test = frame.loc[test, "is_fraud"].to_numpy(dtype=np.int64)
    days = stamps[test].dt.strftime("%Y-%m-%d").to_numpy()
    cards = frame.loc[test, "card_token"].to_numpy()
    results: dict[str, dict[str, Any]] = {}
    for cand in cands:
        t0 = time.perf_counter()
        model = clone(cand.estimator).fit(X[train], y_train)
        fit_s = time.perf_counter() - t0
        reference = model.predict_proba(X[test])[:, 1]
        if scorer == "engine":
            scores = engine_scores(model, names, X[test], backend)
            parity = float(np.max(np.abs(scores - reference)))
        else:
            scores, parity = reference, 0.0
        results[cand.name] = {
            "family": cand.family,
            "auc_roc": roc_auc(scores, y_test),
            "average_precision": average_precision(scores, y_test),
            "card_precision_at_100": card_precision_at_k(scores, y_test, cards, days, k=100).mean,
            "max_abs_diff_vs_sklearn": parity,
            "fit_seconds": fit_s,
            "train_rows": int(train.sum()),
            "test_rows": int(test.sum()),
        }
        r = results[cand.name]
        print(
            f"  {start} {cand.name:<28} AUC {r['auc_roc']:.3f} AP {r['average_precision']:.3f} "
            f"CP@100 {r['card_precision_at_100']:.3f} (fit {fit_s:.0f}s, engine-vs-sklearn {parity:.1e})",
            flush=True,
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with transactions-2018-MM.parquet")
    parser.add_argument("--folds", choices=("validation", "test", "all"), default="validation")
    parser.add_argument("--json", type=Path, help="write per model and fold figures here")
    parser.add_argument("--scorer", choices=("engine", "sklearn"), default="engine")
    parser.add_argument("--backend", default="numba", help="engine backend (numba, numpy)")
    parser.add_argument("--model", action="append", help="a candidate name to run (repeatable; default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--ceiling", action="store_true", help="also print, per fold, the CP@100 ceilings that labels allow"
    )
    args = parser.parse_args(argv)

    frame = load(args.data)
    last = frame["timestamp"].max()
    feature_set = default_feature_set()
    t0 = time.perf_counter()
    X = model_input(frame, OfflineFeatureEngine(feature_set).compute(frame), feature_set)
    names = list(model_input_names(feature_set))
    print(f"{len(frame):,} transactions to {last:%Y-%m-%d}; {len(names)} inputs in {time.perf_counter() - t0:.1f}s")

    wanted = {"validation": ("validation",), "test": ("test",), "all": ("validation", "test")}[args.folds]
    cands = candidates(args.seed)
    if args.model:
        wanted_names = set(args.model)
        cands = [c for c in cands if c.name in wanted_names]
        if not cands:
            raise SystemExit(f"no candidate named {sorted(wanted_names)}; names: {[c.name for c in candidates(0)]}")
    out: dict[str, Any] = {
        "feature_set_version": feature_set.version,
        "inputs": names,
        "scorer": args.scorer,
        "folds": {},
    }
    for kind in wanted:
        starts = VALIDATION_STARTS if kind == "validation" else TEST_STARTS
        fold_end = max(datetime.fromisoformat(s).replace(tzinfo=UTC) for s in starts) + timedelta(days=21)
        if fold_end > last + timedelta(days=1):
            print(f"{kind} folds need data to {fold_end:%Y-%m-%d}; the data ends {last:%Y-%m-%d}: skipped")
            out["folds"][kind] = {"skipped": f"data ends {last:%Y-%m-%d}, folds need {fold_end:%Y-%m-%d}"}
            continue
        print(f"{kind} folds:")
        if args.ceiling:
            out.setdefault("ceilings", {})[kind] = {start: ceilings(frame, X, names, start) for start in starts}
        per_fold = {start: run_fold(frame, X, names, start, cands, args.scorer, args.backend) for start in starts}
        out["folds"][kind] = per_fold
        summarise(kind, per_fold, cands)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


def ceilings(frame: pd.DataFrame, X: np.ndarray, names: list[str], start: str) -> dict[str, float]:
    """CP@100 of two label-informed scores, upper bounds for a model, not models.

    ``all frauds``: every fraudulent transaction first (what perfect knowledge finds). ``frauds with a cue``:
    only the fraudulent transactions that carry a cue a model can read from our inputs: a known fraud at the
    terminal (any terminal fraud share above 0), an amount at least 3 times the card's 30-day mean, or above
    220. Frauds at a terminal in the first week of its compromise carry none: their labels are not known yet.
    """
    split = TimeSplit(datetime.fromisoformat(start).replace(tzinfo=UTC), train_days=7, gap_days=7, test_days=7)
    stamps = frame["timestamp"]
    test = drop_known_compromised_cards(
        frame, split.test_mask(stamps), label_delay_days=7, history_start=split.train_start
    )
    y = frame.loc[test, "is_fraud"].to_numpy(dtype=np.int64)
    days = stamps[test].dt.strftime("%Y-%m-%d").to_numpy()
    cards = frame.loc[test, "card_token"].to_numpy()
    Xt = X[np.asarray(test)]
    col = {name: i for i, name in enumerate(names)}
    shares = [col[n] for n in names if n.startswith("terminal_fraud_share_")]
    cue = (Xt[:, shares] > 0).any(axis=1) | (Xt[:, col["amount"]] > 220) | (Xt[:, col["card_amount_ratio_30d"]] >= 3)
    out = {
        "all frauds": card_precision_at_k(y.astype(np.float64), y, cards, days, k=100).mean,
        "frauds with a cue": card_precision_at_k((y * cue).astype(np.float64), y, cards, days, k=100).mean,
    }
    print(f"  {start} CP@100 ceilings: " + ", ".join(f"{k} {v:.3f}" for k, v in out.items()), flush=True)
    return out


def summarise(kind: str, per_fold: dict[str, dict[str, dict[str, Any]]], cands: list[Candidate]) -> None:
    metrics = ("auc_roc", "average_precision", "card_precision_at_100")
    table: dict[str, dict[str, tuple[float, float]]] = {}
    for cand in cands:
        table[cand.name] = {
            m: (float(np.mean(v)), float(np.std(v)))
            for m in metrics
            for v in [[per_fold[s][cand.name][m] for s in per_fold]]
        }
    best_per_family: dict[str, str] = {}
    for cand in cands:
        current = best_per_family.get(cand.family)
        if current is None or table[cand.name]["average_precision"][0] > table[current]["average_precision"][0]:
            best_per_family[cand.family] = cand.name
    print(f"\nours, {kind} folds (mean +- std over {len(per_fold)} folds; config chosen per family by mean AP):")
    print(f"  {'model':<32} {'AUC ROC':>14} {'AP':>14} {'CP@100':>14}")
    for family, name in best_per_family.items():
        cells = " ".join(f"{table[name][m][0]:.3f} +- {table[name][m][1]:.3f}" for m in metrics)
        print(f"  {family + ' (' + name + ')':<32} {cells}")
    print("published (handbook, test folds):")
    for model, (auc, ap, cp) in PUBLISHED.items():
        print(f"  {model:<32} {auc:>14.3f} {ap:>14.3f} {cp:>14.3f}")
    best = max(best_per_family.values(), key=lambda n: table[n]["average_precision"][0])
    ratios = [table[best][m][0] / ref for m, ref in zip(metrics, (0.876, 0.687, 0.303), strict=True)]
    print(f"best ({best}) / best published: AUC x{ratios[0]:.3f}, AP x{ratios[1]:.3f}, CP@100 x{ratios[2]:.3f}\n")


if __name__ == "__main__":
    sys.exit(main())
