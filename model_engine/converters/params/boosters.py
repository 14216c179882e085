"""XGBoost and LightGBM binary classifiers as node tables (see :mod:`.trees` for the layout).

Read from each library's own JSON dump, with each library's rules:

- **XGBoost** casts the input to float32 and goes left when ``x < split_condition`` (float32); NaN goes to the
  default child. ``x < c`` for a float32 ``x`` is ``x <= c'`` with ``c'`` the float32 below ``c``, which
  :func:`.trees.sklearn_float32_threshold` turns into the float64 threshold that decides every float64 input the
  same way. Leaf values are in ``split_conditions``; the margin adds ``logit(base_score)``. A categorical split
  sends the categories of its set right, the others (unknown ones too) left, and NaN to the default child.
- **LightGBM** compares doubles: left when ``x <= threshold``. Missing type "NaN" sends NaN to the default child,
  "None" replaces NaN by 0 first (so NaN goes left exactly when ``0 <= threshold``); "Zero" is refused. Inputs
  with ``|x| <= 1e-35`` count as 0 (LightGBM drops them from its sparse rows): thresholds in that band move to
  its edge. A
  categorical split ("==") sends the listed categories left and everything else (NaN, unknown, negative) right.
  Leaf values already include the initial score; ``sigmoid`` scales the margin.

Categorical splits become derived input columns appended after the real ones (:class:`MembershipColumn`), split
at 0.5, so every backend runs them with the ordinary numeric traversal. Node covers, which explanations weigh a
split's children by, are each library's own: XGBoost's hessian sums (``sum_hessian``, the "cover" of its dumps),
LightGBM's training row counts (``internal_count``, ``leaf_count``), as their own TreeSHAP uses them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from model_engine.converters.params.categories import F64, CodesOf, no_vocabulary, numeric_or_codes
from model_engine.converters.params.fitted import require_fitted
from model_engine.converters.params.trees import TreeEnsembleParams, _TableBuilder, sklearn_float32_threshold
from model_engine.errors import ConversionError


@dataclass(frozen=True)
class MembershipColumn:
    """A derived column: 1 where ``x[:, feature]`` is one of ``members``, else 0; NaN stays NaN when
    ``keep_missing`` (it then follows the split's missing routing), else it counts as not a member."""

    feature: int
    members: F64
    keep_missing: bool


@dataclass(frozen=True)
class BoosterParams:
    """The node tables (over ``F + len(derived)`` columns) and the derived categorical-split columns."""

    tables: TreeEnsembleParams
    derived: tuple[MembershipColumn, ...]


class _Derived:
    def __init__(self, n_features: int) -> None:
        self.n_features = n_features
        self.columns: list[MembershipColumn] = []
        self._index: dict[tuple[int, tuple[float, ...], bool], int] = {}

    def column(self, feature: int, members: F64, keep_missing: bool) -> int:
        key = (feature, tuple(float(m) for m in members), keep_missing)
        if key not in self._index:
            self._index[key] = self.n_features + len(self.columns)
            self.columns.append(MembershipColumn(feature, np.asarray(members, dtype=np.float64), keep_missing))
        return self._index[key]


def _binary_only(model: Any, library: str) -> None:
    classes = getattr(model, "classes_", None)
    if classes is None or len(classes) != 2:
        raise ConversionError(
            f"{type(model).__name__}: only binary classifiers compile ({library}'s logistic objective)"
        )


# -- XGBoost ----------------------------------------------------------------------------------------------------
def _xgb_categories(doc: dict[str, Any], feature: int) -> list[Any]:
    cats = doc.get("cats") or {}
    encodings = cats.get("enc") or []
    if feature >= len(encodings) or not encodings[feature].get("values"):
        return []
    entry = encodings[feature]
    values, offsets = entry["values"], entry.get("offsets") or []
    if offsets:  # strings, as UTF-8 bytes cut at the offsets
        raw = bytes(values)
        return [raw[offsets[k] : offsets[k + 1]].decode() for k in range(len(offsets) - 1)]
    return list(values)


def xgboost_params(model: Any, codes_of: CodesOf = no_vocabulary) -> BoosterParams:
    """Read a fitted ``xgboost.XGBClassifier`` (binary:logistic, gbtree)."""
    require_fitted(model)
    _binary_only(model, "XGBoost")
    booster = model.get_booster()
    learner = json.loads(booster.save_raw(raw_format="json"))["learner"]
    if learner["objective"]["name"] != "binary:logistic":
        raise ConversionError(
            f"XGBClassifier objective {learner['objective']['name']!r}: only binary:logistic compiles"
        )
    gbm = learner["gradient_booster"]
    if gbm["name"] != "gbtree":
        raise ConversionError(f"XGBClassifier booster {gbm['name']!r}: only gbtree compiles (not dart or gblinear)")
    missing = getattr(model, "missing", np.nan)
    if not (isinstance(missing, float) and math.isnan(missing)):
        raise ConversionError(f"XGBClassifier(missing={missing!r}): only missing=np.nan compiles")
    doc = gbm["model"]
    trees = doc["trees"]
    best = booster.attr("best_iteration")
    if best is not None:  # predict_proba stops at the best iteration after early stopping
        trees = trees[: int(doc["iteration_indptr"][int(best) + 1])]
    n_features = int(learner["learner_model_param"]["num_feature"])
    base_text = learner["learner_model_param"]["base_score"].replace("E", "e")  # "5e-1" or "[5e-1]"
    base = float(np.asarray(json.loads(base_text), dtype=np.float32).reshape(-1)[0])
    derived = _Derived(n_features)
    tables = _TableBuilder.empty(1)
    for tree in trees:
        left = np.asarray(tree["left_children"], dtype=np.int64)
        leaf = left < 0
        condition = np.asarray(tree["split_conditions"], dtype=np.float32)
        below = np.nextafter(condition, np.float32(-np.inf))  # x < c  <=>  x <= below(c) for float32 x
        threshold = sklearn_float32_threshold(below.astype(np.float64))
        feature = np.asarray(tree["split_indices"], dtype=np.int64)
        split_type = np.asarray(tree.get("split_type", [0] * len(left)), dtype=np.int64)
        segments = dict(zip(tree.get("categories_nodes", []), zip(tree.get("categories_segments", []),
                                                                   tree.get("categories_sizes", []), strict=True),
                            strict=True))  # fmt: skip
        for node in np.flatnonzero((split_type == 1) & ~leaf):
            start, size = segments[int(node)]
            in_set = tree["categories"][start : start + size]
            names = _xgb_categories(doc, int(feature[node]))
            if names:  # the training categories, in code order, become the input's vocabulary first
                numeric_or_codes(names, int(feature[node]), codes_of)
            members = numeric_or_codes([names[c] for c in in_set] if names else in_set, int(feature[node]), codes_of)
            feature[node] = derived.column(int(feature[node]), members, keep_missing=True)
            threshold[node] = 0.5  # members (1) go right
        tables.add(
            feature=feature,
            threshold=threshold,
            left=left,
            right=np.asarray(tree["right_children"], dtype=np.int64),
            value=np.where(leaf, condition.astype(np.float64), 0.0).reshape(-1, 1),
            missing_go_left=np.asarray(tree["default_left"], dtype=bool),
            cover=np.asarray(tree["sum_hessian"], dtype=np.float64),  # what XGBoost's own dump calls "cover"
        )
    if not tables.roots:
        raise ConversionError("XGBClassifier has no trees; refit it")
    margin = math.log(base / (1.0 - base))
    return BoosterParams(
        tables.build(aggregation="sum", post_transform="sigmoid", base_score=np.array([margin]), n_classes=2),
        tuple(derived.columns),
    )


# -- LightGBM ---------------------------------------------------------------------------------------------------
_Row = tuple[int, float, int, int, float, bool, float]
"""A flattened LightGBM node: feature, threshold, left, right, value, NaN goes left, training rows (NaN: unknown)."""


def lightgbm_params(model: Any, codes_of: CodesOf = no_vocabulary) -> BoosterParams:
    """Read a fitted ``lightgbm.LGBMClassifier`` (binary objective, gbdt/rf, no linear trees)."""
    require_fitted(model)
    _binary_only(model, "LightGBM")
    booster = model.booster_
    dump = booster.dump_model()  # the best iteration after early stopping, as predict_proba uses
    objective = str(dump.get("objective", ""))
    if not objective.startswith("binary"):
        raise ConversionError(f"LGBMClassifier objective {objective!r}: only binary compiles")
    sigmoid = _lightgbm_sigmoid(objective)
    if booster.params.get("linear_tree"):
        raise ConversionError("LGBMClassifier(linear_tree=True) is not supported: its leaves are linear models")
    n_features = int(dump["max_feature_idx"]) + 1
    derived = _Derived(n_features)
    tables = _TableBuilder.empty(1)
    names_of = _lightgbm_category_names(dump)
    for tree in dump["tree_info"]:
        rows: list[_Row] = []
        _flatten(tree["tree_structure"], rows, derived, names_of, codes_of)
        counts = np.array([r[6] for r in rows], dtype=np.float64)
        tables.add(
            feature=np.array([r[0] for r in rows], dtype=np.int64),
            threshold=np.array([r[1] for r in rows], dtype=np.float64),
            left=np.array([r[2] for r in rows], dtype=np.int64),
            right=np.array([r[3] for r in rows], dtype=np.int64),
            value=np.array([r[4] for r in rows], dtype=np.float64).reshape(-1, 1) * sigmoid,
            missing_go_left=np.array([r[5] for r in rows], dtype=bool),
            cover=counts if bool(np.isfinite(counts).all()) else None,
        )
    if not tables.roots:
        raise ConversionError("LGBMClassifier has no trees; refit it")
    aggregation = "mean" if dump.get("average_output") else "sum"
    return BoosterParams(
        tables.build(aggregation=aggregation, post_transform="sigmoid", base_score=np.zeros(1), n_classes=2),
        tuple(derived.columns),
    )


def _lightgbm_category_names(dump: dict[str, Any]) -> dict[int, list[Any]]:
    """Input column -> its categories by code, for the DataFrame's categorical columns (in column order, as
    LightGBM stores them in ``pandas_categorical``; a categorical feature's info lists codes, not a range)."""
    pandas_categories = dump.get("pandas_categorical") or []
    infos = list(dump.get("feature_infos", {}).values())
    categorical = [i for i, info in enumerate(infos) if isinstance(info, dict) and info.get("values")]
    if len(pandas_categories) != len(categorical):
        return {}
    return dict(zip(categorical, (list(c) for c in pandas_categories), strict=True))


ZERO_THRESHOLD = float(np.float32(1e-35))
"""LightGBM's ``kZeroThreshold``: inputs with ``|x| <= 1e-35f`` are read as exactly 0 (dropped from its sparse rows)."""


def _lightgbm_threshold(threshold: float) -> float:
    """The threshold on raw inputs equivalent to LightGBM's on inputs whose tiny values became 0."""
    if -ZERO_THRESHOLD <= threshold < ZERO_THRESHOLD:
        return ZERO_THRESHOLD if threshold >= 0 else float(np.nextafter(-ZERO_THRESHOLD, -np.inf))
    return threshold


def _flatten(node: dict[str, Any], rows: list[_Row], derived: _Derived, names_of: dict[int, list[Any]],
             codes_of: CodesOf) -> int:  # fmt: skip
    """Append ``node``'s subtree in preorder and return its row."""
    index = len(rows)
    if "leaf_value" in node:
        rows.append((0, 0.0, -1, -1, float(node["leaf_value"]), False, float(node.get("leaf_count", np.nan))))
        return index
    count = float(node.get("internal_count", np.nan))
    rows.append((0, 0.0, -1, -1, 0.0, False, count))
    feature = int(node["split_feature"])
    missing_type = str(node.get("missing_type", "None"))
    if node["decision_type"] == "==":  # members go left: the table's split "member <= 0.5" goes left for the rest
        codes = [int(c) for c in str(node["threshold"]).split("||")]
        names = names_of.get(feature)
        if names:  # the training categories, in code order, become the input's vocabulary first
            numeric_or_codes(names, feature, codes_of)
        members = numeric_or_codes([names[c] for c in codes] if names else codes, feature, codes_of)
        column = derived.column(feature, members, keep_missing=False)  # NaN and unknown: not members, right
        others = _flatten(node["right_child"], rows, derived, names_of, codes_of)
        listed = _flatten(node["left_child"], rows, derived, names_of, codes_of)
        rows[index] = (column, 0.5, others, listed, 0.0, False, count)
        return index
    if missing_type == "Zero":
        raise ConversionError("LGBMClassifier with zero_as_missing splits (missing_type Zero) is not supported")
    threshold = _lightgbm_threshold(float(node["threshold"]))
    nan_left = bool(node["default_left"]) if missing_type == "NaN" else threshold >= 0.0
    left_id = _flatten(node["left_child"], rows, derived, names_of, codes_of)
    right_id = _flatten(node["right_child"], rows, derived, names_of, codes_of)
    rows[index] = (feature, threshold, left_id, right_id, 0.0, nan_left, count)
    return index


def lightgbm_margin_scale(model: Any) -> float:
    """LightGBM's ``sigmoid`` parameter: its probability is ``sigmoid(scale * raw score)``, and
    :func:`lightgbm_params`' leaves hold ``scale`` times the raw score's (read from the first tree's dump alone)."""
    return _lightgbm_sigmoid(str(model.booster_.dump_model(num_iteration=1).get("objective", "")))


def _lightgbm_sigmoid(objective: str) -> float:
    """The ``sigmoid:`` factor of a dumped LightGBM objective (``"binary sigmoid:0.7"``), 1 when absent."""
    for part in objective.split()[1:]:
        if part.startswith("sigmoid:"):
            return float(part.split(":", 1)[1])
    return 1.0
