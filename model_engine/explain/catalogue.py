"""THE catalogue of explainable classifiers: each exact type and the explainer of its family (:mod:`.heads`).

A table, not a registry that modules add themselves to, so the explainer modules import nothing back from here.
"""

from __future__ import annotations

from typing import Any

from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from model_engine.errors import ExplanationUnavailableError
from model_engine.explain.heads import HeadExplainer
from model_engine.explain.linear import explain_logistic_regression
from model_engine.explain.neural import explain_mlp
from model_engine.explain.trees import TREE_TYPES, explain_trees

EXPLAINERS: dict[type, HeadExplainer] = {
    LogisticRegression: explain_logistic_regression,
    MLPClassifier: explain_mlp,
    **dict.fromkeys(TREE_TYPES, explain_trees),
}
"""Every explainable classifier type (exact types: a subclass may change what it computes)."""


def explainable_types() -> tuple[type, ...]:
    """Every classifier type with an explainer."""
    return tuple(EXPLAINERS)


def explainable_families() -> str:
    """The explainable classifiers, for error messages."""
    names = ", ".join(sorted(t.__name__ for t in EXPLAINERS))
    return f"explanations cover two-class {names} (alone or at the end of a pipeline)"


def get_explainer(classifier: Any) -> HeadExplainer:
    """The explainer of a classifier's exact type, or :class:`ExplanationUnavailableError` naming the families."""
    try:
        return EXPLAINERS[type(classifier)]
    except KeyError:
        raise ExplanationUnavailableError(
            f"{type(classifier).__name__} has no explanation method; {explainable_families()}"
        ) from None
