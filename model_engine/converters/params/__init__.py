"""Fitted-parameter extraction: plain arrays read from fitted scikit-learn estimators.

Each module reads one family's fitted attributes into a frozen dataclass of NumPy arrays and knows nothing about
graphs; the emitting converters (one level up) turn these records into ops. Keeping the two apart lets the
parameters be tested against scikit-learn's own ``transform``/``predict_proba`` without any graph machinery.
"""

from __future__ import annotations

from model_engine.converters.params.calibration import CalibratedMember, CalibrationMap, calibrated_members
from model_engine.converters.params.discretizer import BinningParams, binning_params
from model_engine.converters.params.encoder import OneHotParams, one_hot_params
from model_engine.converters.params.fitted import require_fitted
from model_engine.converters.params.hist_trees import CategoricalSplitColumn, HistBoostingParams, hist_boosting_params
from model_engine.converters.params.imputer import ImputerParams, imputer_params
from model_engine.converters.params.linear import LinearParams, logistic_params
from model_engine.converters.params.neural import MLPParams, mlp_params
from model_engine.converters.params.scalers import AffineParams, min_max_params, standard_scaler_params
from model_engine.converters.params.trees import (
    TreeEnsembleParams,
    decision_tree_params,
    forest_params,
    gradient_boosting_params,
    sklearn_float32_threshold,
)

__all__ = [
    "AffineParams",
    "BinningParams",
    "CalibratedMember",
    "CalibrationMap",
    "CategoricalSplitColumn",
    "HistBoostingParams",
    "ImputerParams",
    "LinearParams",
    "MLPParams",
    "OneHotParams",
    "TreeEnsembleParams",
    "binning_params",
    "calibrated_members",
    "decision_tree_params",
    "forest_params",
    "gradient_boosting_params",
    "hist_boosting_params",
    "imputer_params",
    "logistic_params",
    "min_max_params",
    "mlp_params",
    "one_hot_params",
    "require_fitted",
    "sklearn_float32_threshold",
    "standard_scaler_params",
]
