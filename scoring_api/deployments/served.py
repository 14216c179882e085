"""A registry version loaded for serving: its compiled model, checked against the service's model input, warmed
up, with its own default thresholds (from its training run's alert budget).

Loading re-checks that the version may deploy (blessed, signed verdict, files unchanged since blessing), loads
the artifact through the engine on the configured backend (manifest and golden batch verified), refuses a model
whose inputs are not the feature set's model inputs by name, order and feature definitions, and scores warm-up
batches so the first request does not pay for compilation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from features.model_input import ModelInput, model_input_names
from features.spec import FeatureSet
from lifecycle.registry.registry import ModelRegistry, ModelVersion
from model_engine import CompiledModel, Contributions, load_model
from model_engine.errors import SignatureError
from scoring_api.decisions.policy import ModelThresholds
from scoring_api.errors import ModelMismatchError


@dataclass(frozen=True, eq=False)
class ServedModel:
    """A deployable registry version, loaded and warmed, ready to score model inputs by name."""

    version: ModelVersion
    model: CompiledModel
    thresholds: ModelThresholds

    @property
    def content_id(self) -> str:
        return self.version.content_id

    def score(self, model_input: ModelInput) -> NDArray[np.float32]:
        """Fraud probabilities [N]; a model input whose names differ from the signature is a SignatureError."""
        return np.asarray(self.model.score(model_input.values, names=model_input.names), dtype=np.float32)

    def explain(self, model_input: ModelInput) -> Contributions:
        """Each input's additive contribution to each row's margin (:class:`ExplanationUnavailableError` when
        the model has no explanation graph)."""
        return self.model.explain(model_input.values, names=model_input.names)


def model_thresholds(version: ModelVersion) -> ModelThresholds:
    """The version's default review threshold: the score of the last alert within its training run's alert
    budget (``metrics.threshold_at_alert_rate`` of its lineage). No default decline threshold: declining on
    the score alone is the bank's explicit choice, made in the decision configuration."""
    threshold = version.lineage.metrics.threshold_at_alert_rate
    if not 0.0 <= threshold <= 1.0:
        raise ModelMismatchError(
            f"model {version.content_id} records a threshold of {threshold} at its alert budget, not a probability; "
            "retrain it with `fraud train`"
        )
    return ModelThresholds(review=float(threshold))


def check_inputs(version: ModelVersion, model: CompiledModel, feature_set: FeatureSet) -> None:
    """Refuse a model that reads other columns, in another order, or other feature definitions than the
    feature set builds."""
    try:
        model.signature.check_names(model_input_names(feature_set))
    except SignatureError as error:
        raise ModelMismatchError(
            f"model {version.content_id} cannot be served with feature set {feature_set.version}: {error}"
        ) from error
    trained_on = version.lineage.feature_spec_version
    if trained_on != feature_set.version:
        raise ModelMismatchError(
            f"model {version.content_id} was trained on feature set {trained_on!r}, but this service computes "
            f"{feature_set.version!r}: the same names would carry other values; serve it with its feature set"
        )


def load_served_model(
    registry: ModelRegistry,
    ref: str,
    *,
    feature_set: FeatureSet,
    backend: str,
    warmup_rows: int = 64,
) -> ServedModel:
    """Load a registry version (content id, prefix or alias) for serving, after every check (see module)."""
    version = registry.get(ref)
    registry.check_deployable(version)
    model = load_model(version.artifact_path, backend=backend)
    check_inputs(version, model, feature_set)
    served = ServedModel(version, model, model_thresholds(version))
    width = len(model_input_names(feature_set))
    for rows in (warmup_rows, 1):
        zeros = ModelInput(model_input_names(feature_set), np.zeros((rows, width), dtype=np.float32))
        served.score(zeros)
        if model.explanation is not None:  # compiles the explanation's kernels before the first reason code
            served.explain(zeros)
    return served
