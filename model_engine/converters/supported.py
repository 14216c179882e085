"""THE catalogue of supported scikit-learn estimators, and the imports that register their converters.

To support a new estimator: write its parameter extraction in ``params/``, its converter module here (registered
with ``register_converter``), import the module below and add the class to :data:`SUPPORTED_ESTIMATORS`.
"""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    MinMaxScaler,
    OneHotEncoder,
    StandardScaler,
)
from sklearn.tree import DecisionTreeClassifier

from model_engine.converters import (  # noqa: F401  (imported to register their converters)
    boosting,
    column_transformer,
    discretizer,
    encoder,
    forest,
    hist_boosting,
    identity,
    imputer,
    linear,
    neural,
    pipeline,
    scaler,
    tree,
)

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
    KBinsDiscretizer,
    # classifiers
    LogisticRegression,
    MLPClassifier,
    DecisionTreeClassifier,
    RandomForestClassifier,
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
)
"""Every estimator type :func:`~model_engine.converters.convert_estimator` compiles (exact types only)."""
