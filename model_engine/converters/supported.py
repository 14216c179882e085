"""THE catalogue of supported scikit-learn estimators, and the imports that register their converters.

What compiles, and what is refused with a :class:`~model_engine.errors.ConversionError` saying why:

=============================== ==================================================================================
Pipeline                        any steps below; ``None``/"passthrough" steps skipped
ColumnTransformer               columns by index, slice, mask, name or callable (as resolved at fit time);
                                transformers "passthrough"/"drop"; remainder passthrough or drop
FunctionTransformer             identity only (``func=None``: ColumnTransformer's passthrough remainder)
StandardScaler, MinMaxScaler    every option (``with_mean``/``with_std``, ``feature_range``, ``clip``)
SimpleImputer                   ``missing_values`` nan / None; mean, median, most_frequent, constant (string
                                fill values on categorical columns too); dropped empty columns or
                                ``keep_empty_features``; ``add_indicator``
OneHotEncoder                   numeric or string categories incl. missing; ``drop``; infrequent grouping;
                                ``handle_unknown`` ignore / infrequent_if_exist / warn ("error" encodes unknown
                                values as zeros)
OrdinalEncoder, TargetEncoder   numeric or string categories incl. missing; infrequent grouping; unknown and
                                missing values as fitted ("error": unknown values score NaN)
KBinsDiscretizer                every strategy; encode ordinal, onehot, onehot-dense
LogisticRegression              binary and multinomial (one-vs-rest refused)
MLPClassifier                   relu, tanh, logistic, identity; binary and multiclass (multilabel refused)
DecisionTreeClassifier,         single output; NaN routing (``missing_go_to_left``); float32 split semantics
RandomForestClassifier,
ExtraTreesClassifier
GradientBoostingClassifier      log_loss and exponential; init prior or "zero" (other init estimators refused);
                                binary and multiclass
HistGradientBoostingClassifier  binary and multiclass; NaN routing; categorical splits on numeric or string
                                categories
xgboost.XGBClassifier           (extra ``xgboost``) binary:logistic gbtree; NaN default directions; categorical
                                splits; early-stopped models to their best iteration
lightgbm.LGBMClassifier         (extra ``lightgbm``) binary objective, gbdt or rf; NaN and None missing types;
                                categorical splits; early-stopped models to their best iteration
VotingClassifier                soft voting, with or without weights ("drop" estimators skipped); hard refused
CalibratedClassifierCV          binary; sigmoid and isotonic; cross-validated (the calibrated classifiers'
                                mean) or around a FrozenEstimator; calibrates the decision function of
                                LogisticRegression, (Hist)GradientBoostingClassifier and pipelines ending in one,
                                the probabilities of the others; temperature refused
FrozenEstimator                 the prefit estimator it wraps
=============================== ==================================================================================

To support a new estimator: write its parameter extraction in ``params/``, its converter module here (registered
with ``register_converter``), import the module below and add the class to :data:`SUPPORTED_ESTIMATORS`.
"""

from __future__ import annotations

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
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
    TargetEncoder,
)
from sklearn.tree import DecisionTreeClassifier

from model_engine.converters import (  # noqa: F401  (imported to register their converters)
    boosters,
    boosting,
    calibration,
    column_transformer,
    discretizer,
    encoder,
    forest,
    hist_boosting,
    identity,
    imputer,
    linear,
    lookup_encoder,
    neural,
    pipeline,
    scaler,
    tree,
    voting,
)
from model_engine.converters.registry import register_converter

SUPPORTED_ESTIMATORS: tuple[type, ...] = (
    # composition
    Pipeline,
    ColumnTransformer,
    FunctionTransformer,  # identity only (ColumnTransformer's passthrough remainder)
    # preprocessing
    StandardScaler,
    MinMaxScaler,
    SimpleImputer,
    OneHotEncoder,
    OrdinalEncoder,
    TargetEncoder,
    KBinsDiscretizer,
    # classifiers
    LogisticRegression,
    MLPClassifier,
    DecisionTreeClassifier,
    RandomForestClassifier,
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    # ensembles and calibration
    VotingClassifier,
    CalibratedClassifierCV,
    FrozenEstimator,
)
"""Every estimator type :func:`~model_engine.converters.convert_estimator` compiles (exact types only); the
optional libraries' classifiers are added below when they are installed."""


def _register_optional() -> tuple[type, ...]:
    """XGBoost and LightGBM classifiers, when their libraries are installed (extras ``xgboost``, ``lightgbm``)."""
    found = boosters.installed_boosters()
    for booster_type in found:
        register_converter(booster_type)(boosters.convert_booster)
    return tuple(found)


SUPPORTED_ESTIMATORS += _register_optional()
