"""The catalogue of fitted models the converter tests run: every supported estimator appears in at least one.

A case fits a small model on seeded synthetic data and draws fresh inputs for it; it knows whether its inputs may
hold NaN and, for models fitted on a DataFrame, the feature names. Cases are data, so every contract test runs
over all of them by parametrisation.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    VotingClassifier,
)
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    KBinsDiscretizer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
    TargetEncoder,
)
from sklearn.tree import DecisionTreeClassifier

N_TRAIN = 240
N_NUMERIC = 5
N_CATEGORIES = 5  # the categorical column holds codes 0..4 at fit time; inputs also draw the unseen code 7

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class Case:
    """One fitted model and how to draw inputs for it."""

    id: str
    make: Callable[[], Any]
    nan: bool = False  # inputs (and training data) hold NaN
    categorical: bool = False  # the last column is a category code
    named: bool = False  # fitted on a DataFrame: the model reads columns by name
    multiclass: bool = False
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def n_features(self) -> int:
        return N_NUMERIC + int(self.categorical)

    @property
    def feature_names(self) -> list[str]:
        return [f"f{i}" for i in range(self.n_features)]

    def model(self, input_dtype: str = "float64") -> Any:
        """The case's model fitted on training data of ``input_dtype`` (float32: the same rows rounded)."""
        return _fitted_by_id(self.id, input_dtype)

    def inputs(self, n_rows: int, seed: int = 1) -> Array:
        """Fresh rows like the training data (unknown category codes and NaN included where the case allows)."""
        return _draw(self, n_rows, np.random.default_rng(seed), unknown=True)

    def as_sklearn_input(self, x: Array) -> Any:
        return pd.DataFrame(x, columns=self.feature_names) if self.named else x


def _draw(case: Case, n_rows: int, rng: np.random.Generator, *, unknown: bool) -> Array:
    x: Array = rng.normal(size=(n_rows, N_NUMERIC)) * np.array([1.0, 2.0, 0.5, 3.0, 1.0]) + np.array([0, 1, -1, 0, 5])
    if case.categorical:
        codes = rng.integers(0, N_CATEGORIES, size=(n_rows, 1)).astype(np.float64)
        if unknown:
            codes[rng.random(n_rows) < 0.1] = 7.0
        x = np.hstack([x, codes])
    if case.nan:
        x[rng.random(x.shape) < 0.15] = np.nan
    return np.asarray(x, dtype=np.float64)


def _labels(x: Array, multiclass: bool) -> Array:
    score = np.nan_to_num(x[:, 0]) + 0.5 * np.nan_to_num(x[:, 1]) - np.nan_to_num(x[:, 3]) * 0.3
    if x.shape[1] > N_NUMERIC:
        score = score + np.isin(x[:, -1], [1.0, 3.0]) * 3.0 - 1.5
    if multiclass:
        return np.digitize(score, [-0.5, 0.8])
    return (score > 0.3).astype(np.int64)


@cache
def _fitted_by_id(case_id: str, input_dtype: str = "float64") -> Any:
    case = CASES_BY_ID[case_id]
    x = _draw(case, N_TRAIN, np.random.default_rng(0), unknown=False).astype(input_dtype)
    y = _labels(x.astype(np.float64), case.multiclass)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of deliberately tiny fits
        return case.make().fit(case.as_sklearn_input(x), y)


def _ct(*transformers: tuple[str, Any, Any], remainder: str = "drop") -> ColumnTransformer:
    return ColumnTransformer(list(transformers), remainder=remainder)


TREES = frozenset({"trees"})
ONEHOT = OneHotEncoder(handle_unknown="ignore", sparse_output=False)

CLASSIFIER_CASES: tuple[Case, ...] = (
    Case("logreg", lambda: LogisticRegression()),
    Case("logreg_multiclass", lambda: LogisticRegression(), multiclass=True),
    Case("logreg_liblinear", lambda: LogisticRegression(solver="liblinear", C=0.3)),
    Case("mlp_relu", lambda: MLPClassifier((8, 4), max_iter=200, random_state=0)),
    Case("mlp_tanh_multiclass", lambda: MLPClassifier((6,), "tanh", max_iter=200, random_state=0), multiclass=True),
    Case("mlp_logistic", lambda: MLPClassifier((6,), "logistic", max_iter=200, random_state=0)),
    Case("mlp_identity", lambda: MLPClassifier((4,), "identity", max_iter=200, random_state=0)),
    Case("tree", lambda: DecisionTreeClassifier(max_depth=6, random_state=0), tags=TREES),
    Case(
        "tree_multiclass_nan",
        lambda: DecisionTreeClassifier(max_depth=5, random_state=0),
        nan=True,
        multiclass=True,
        tags=TREES,
    ),
    Case("forest", lambda: RandomForestClassifier(4, max_depth=5, random_state=0), tags=TREES),
    Case(
        "forest_multiclass_nan",
        lambda: RandomForestClassifier(3, max_depth=4, random_state=0),
        nan=True,
        multiclass=True,
        tags=TREES,
    ),
    Case("extra_trees", lambda: ExtraTreesClassifier(4, max_depth=6, random_state=0), tags=TREES),
    Case(
        "extra_trees_multiclass",
        lambda: ExtraTreesClassifier(3, max_depth=4, random_state=0),
        multiclass=True,
        tags=TREES,
    ),
    Case("gbm", lambda: GradientBoostingClassifier(n_estimators=6, max_depth=3, random_state=0), tags=TREES),
    Case(
        "gbm_multiclass",
        lambda: GradientBoostingClassifier(n_estimators=4, max_depth=2, random_state=0),
        multiclass=True,
        tags=TREES,
    ),
    Case(
        "gbm_exponential_zero_init",
        lambda: GradientBoostingClassifier(n_estimators=5, loss="exponential", init="zero", random_state=0),
        tags=TREES,
    ),
    Case("hgb", lambda: HistGradientBoostingClassifier(max_iter=8, max_leaf_nodes=7), tags=TREES),
    Case(
        "hgb_nan",
        lambda: HistGradientBoostingClassifier(max_iter=8, max_leaf_nodes=7),
        nan=True,
        tags=TREES,
    ),
    Case(
        "hgb_multiclass_nan",
        lambda: HistGradientBoostingClassifier(max_iter=5, max_leaf_nodes=5),
        nan=True,
        multiclass=True,
        tags=TREES,
    ),
    Case(
        "hgb_categorical_nan",
        lambda: HistGradientBoostingClassifier(max_iter=6, max_leaf_nodes=7, categorical_features=[5]),
        categorical=True,
        nan=True,
    ),
    Case(
        "hgb_categorical_multiclass",
        lambda: HistGradientBoostingClassifier(max_iter=4, max_leaf_nodes=5, categorical_features=[5]),
        categorical=True,
        multiclass=True,
    ),
    # composed pipelines
    Case(
        "ct_scaler_onehot_logreg",
        lambda: make_pipeline(
            _ct(("num", StandardScaler(), ["f0", "f1", "f2", "f3", "f4"]), ("cat", ONEHOT, ["f5"])),
            LogisticRegression(),
        ),
        categorical=True,
        named=True,
    ),
    Case(
        "imputer_scaler_mlp",
        lambda: make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True),
            StandardScaler(),
            MLPClassifier((8,), max_iter=200, random_state=0),
        ),
        nan=True,
    ),
    Case(
        "kbins_onehot_logreg",
        lambda: make_pipeline(
            KBinsDiscretizer(n_bins=4, encode="onehot", quantile_method="averaged_inverted_cdf"), LogisticRegression()
        ),
    ),
    Case(
        "minmax_clip_kbins_ordinal_tree",
        lambda: make_pipeline(
            MinMaxScaler(clip=True),
            KBinsDiscretizer(n_bins=5, encode="ordinal", strategy="uniform"),
            DecisionTreeClassifier(max_depth=4, random_state=0),
        ),
        tags=TREES,
    ),
    Case(
        "ct_passthrough_onehot_infrequent_hgb",
        lambda: make_pipeline(
            _ct(
                ("cat", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=40), [5]),
                remainder="passthrough",
            ),
            HistGradientBoostingClassifier(max_iter=5, max_leaf_nodes=5),
        ),
        categorical=True,
        tags=TREES,
    ),
    Case(
        "ct_target_encoder_logreg_multiclass",
        lambda: make_pipeline(
            _ct(("cat", TargetEncoder(random_state=0), [5]), remainder="passthrough"), LogisticRegression()
        ),
        categorical=True,
        multiclass=True,
    ),
    Case(
        "pipeline_passthrough_step",
        lambda: make_pipeline(StandardScaler(), "passthrough", LogisticRegression()),
    ),
    Case(
        "imputer_mean_forest_multiclass",
        lambda: make_pipeline(SimpleImputer(), ExtraTreesClassifier(3, max_depth=4, random_state=0)),
        nan=True,
        multiclass=True,
        tags=TREES,
    ),
    # calibration (the decision function of linear models and boosting, the probabilities of the others) and soft
    # voting
    Case(
        "calibrated_sigmoid_scaled_logreg",
        lambda: CalibratedClassifierCV(make_pipeline(StandardScaler(), LogisticRegression()), method="sigmoid", cv=3),
    ),
    Case(
        "calibrated_isotonic_forest",
        lambda: CalibratedClassifierCV(RandomForestClassifier(5, max_depth=4, random_state=0), method="isotonic", cv=2),
    ),
    Case(
        "calibrated_isotonic_frozen_hgb_nan",
        lambda: CalibratedClassifierCV(FrozenEstimator(_fitted_by_id("hgb_nan")), method="isotonic"),
        nan=True,
    ),
    Case(
        "calibrated_sigmoid_gbm_exponential",
        lambda: CalibratedClassifierCV(
            GradientBoostingClassifier(n_estimators=5, loss="exponential", random_state=0), method="sigmoid", cv=2
        ),
    ),
    Case(
        "voting_soft_weighted",
        lambda: VotingClassifier(
            [
                ("lr", make_pipeline(StandardScaler(), LogisticRegression())),
                ("rf", RandomForestClassifier(4, max_depth=4, random_state=0)),
                ("off", "drop"),
            ],
            voting="soft",
            weights=[1.0, 2.0, 5.0],
        ),
    ),
)

TRANSFORMER_CASES: tuple[Case, ...] = (
    Case("standard_scaler", lambda: StandardScaler()),
    Case("standard_scaler_no_mean", lambda: StandardScaler(with_mean=False)),
    Case("standard_scaler_no_std", lambda: StandardScaler(with_std=False)),
    Case("min_max_scaler", lambda: MinMaxScaler(feature_range=(-1.0, 2.0))),
    Case("min_max_scaler_clip", lambda: MinMaxScaler(clip=True)),
    Case("imputer_mean", lambda: SimpleImputer(), nan=True),
    Case("imputer_median_indicator", lambda: SimpleImputer(strategy="median", add_indicator=True), nan=True),
    Case("imputer_most_frequent", lambda: SimpleImputer(strategy="most_frequent"), nan=True, categorical=True),
    Case("imputer_constant", lambda: SimpleImputer(strategy="constant", fill_value=-3.5), nan=True),
    Case("onehot_ignore", lambda: _ct(("cat", ONEHOT, [5])), categorical=True),
    Case(
        "onehot_drop_first",
        lambda: _ct(("cat", OneHotEncoder(drop="first", handle_unknown="ignore", sparse_output=False), [5])),
        categorical=True,
    ),
    Case(
        "onehot_nan_category",
        lambda: _ct(("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), [5])),
        categorical=True,
        nan=True,
    ),
    Case(
        "onehot_infrequent_drop",
        lambda: _ct(
            (
                "cat",
                OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=3, drop="first"),
                [5],
            )
        ),
        categorical=True,
    ),
    Case(
        "onehot_nan_infrequent",
        lambda: _ct(("cat", OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=3), [5])),
        categorical=True,
        nan=True,
    ),
    Case(
        "onehot_infrequent_ignore",
        lambda: _ct(("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=45, sparse_output=False), [5])),
        categorical=True,
    ),
    Case(
        "ordinal_unknown_value",
        lambda: _ct(("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), [5])),
        categorical=True,
    ),
    Case(
        "ordinal_infrequent_nan",
        lambda: _ct(
            (
                "cat",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value", unknown_value=-3, encoded_missing_value=-2, min_frequency=45
                ),
                [5],
            )
        ),
        categorical=True,
        nan=True,
    ),
    Case("target_encoder", lambda: _ct(("cat", TargetEncoder(random_state=0), [5])), categorical=True, nan=True),
    Case("kbins_quantile_ordinal", lambda: KBinsDiscretizer(n_bins=5, encode="ordinal", quantile_method="linear")),
    Case("kbins_uniform_onehot_dense", lambda: KBinsDiscretizer(n_bins=3, encode="onehot-dense", strategy="uniform")),
    Case("kbins_kmeans_onehot", lambda: KBinsDiscretizer(n_bins=4, encode="onehot", strategy="kmeans")),
    Case(
        "ct_slice_mask_callable_drop",
        lambda: _ct(
            ("head", MinMaxScaler(), slice(0, 2)),
            ("mask", "passthrough", [False, False, True, False, True]),
            ("callable", StandardScaler(), lambda frame: [3]),
            ("dropped", "drop", [0]),
            ("empty", StandardScaler(), []),
        ),
    ),
    Case(
        "ct_named_scaler_passthrough",
        lambda: _ct(("scale", StandardScaler(), ["f3", "f0"]), remainder="passthrough"),
        named=True,
    ),
)

ALL_CASES = CLASSIFIER_CASES + TRANSFORMER_CASES
CASES_BY_ID = {case.id: case for case in ALL_CASES}
TREE_CASES = tuple(case for case in CLASSIFIER_CASES if case.tags >= TREES)
