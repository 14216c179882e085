"""THE catalogue of explainable classifiers: each exact type and the explainer of its family (:mod:`.heads`).

A table, not a registry that modules add themselves to, so the explainer modules import nothing back from here.
"""

from __future__ import annotations

from typing import Any

from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from model_engine.errors import ExplanationUnavailableError
from model_engine.explain.ensembles import explain_calibrated, explain_soft_vote
from model_engine.explain.heads import EnsembleExplainer, HeadExplainer
from model_engine.explain.linear import explain_logistic_regression
from model_engine.explain.neural import explain_mlp
from model_engine.explain.trees import TREE_TYPES, explain_trees

EXPLAINERS: dict[type, HeadExplainer] = {
    LogisticRegression: explain_logistic_regression,
    MLPClassifier: explain_mlp,
    **dict.fromkeys(TREE_TYPES, explain_trees),
}
"""Every explainable single classifier type (exact types: a subclass may change what it computes)."""
ENSEMBLE_EXPLAINERS: dict[type, EnsembleExplainer] = {
    CalibratedClassifierCV: explain_calibrated,
    VotingClassifier: explain_soft_vote,
}
"""The classifiers explained from their members' explanations (:mod:`.ensembles`)."""


def explainable_types() -> tuple[type, ...]:
    """Every classifier type with an explainer."""
    return (*EXPLAINERS, *ENSEMBLE_EXPLAINERS)


def explainable_families() -> str:
    """The explainable classifiers, for error messages."""
    names = ", ".join(sorted(t.__name__ for t in explainable_types()))
    return f"explanations cover two-class {names} (alone or at the end of a pipeline)"


def get_ensemble_explainer(classifier: Any) -> EnsembleExplainer | None:
    """The explainer of an ensemble's exact type, None for any other classifier."""
    return ENSEMBLE_EXPLAINERS.get(type(classifier))


def get_explainer(classifier: Any) -> HeadExplainer:
    """The explainer of a classifier's exact type, or :class:`ExplanationUnavailableError` naming the families."""
    try:
        return EXPLAINERS[type(classifier)]
    except KeyError:
        raise ExplanationUnavailableError(
            f"{type(classifier).__name__} has no explanation method; {explainable_families()}"
        ) from None
