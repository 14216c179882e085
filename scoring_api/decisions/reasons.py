"""Reason codes: the features that pushed a score, in words an analyst reads, from the engine's additive
explanation of the answering model.

The engine splits a row's margin (the logit of its score) into one contribution per model input
(:meth:`model_engine.CompiledModel.explain`: the linear terms of a linear model, TreeSHAP for tree ensembles,
integrated gradients for an MLP), so that the base value plus the contributions is the margin. The reason codes
are every input that moved it, the largest push first, each with the input's value and a sentence built from the
feature catalogue's own description of the input (:func:`features.model_input_descriptions`).

>>> import numpy as np
>>> from features import default_feature_set
>>> from model_engine import Contributions
>>> c = Contributions(("amount", "card_count_10m"), np.array([[0.3, 1.2]]), np.array([-3.0]), np.array([-1.5]),
...                   "linear")
>>> [r.text for r in ReasonWriter(default_feature_set()).reasons(c, 0, np.array([420.0, 4.0]))]
['payments by the card in the last 10 minutes: 4, raised the risk', 'amount of this payment: 420, raised the risk']
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy.typing as npt

from features.model_input import model_input_descriptions
from features.spec import FeatureSet
from model_engine import Contributions
from monitoring.audit.events import Reason
from scoring_api.records import Explanation, ReasonCode


def audit_reasons(codes: Iterable[ReasonCode]) -> tuple[Reason, ...]:
    """Reason codes as the audit trail records them (the code is the model input's name in the feature set)."""
    return tuple(Reason(code=r.feature, feature=r.feature, contribution=r.contribution, text=r.text) for r in codes)


def reason_text(description: str, value: float, contribution: float) -> str:
    """``"<what the input measures>: <its value>, raised|lowered the risk"``."""
    return f"{description}: {value:g}, {'raised' if contribution > 0 else 'lowered'} the risk"


class ReasonWriter:
    """Reason codes of explained rows, in the words of one feature set's catalogue."""

    def __init__(self, feature_set: FeatureSet) -> None:
        self.descriptions = model_input_descriptions(feature_set)

    def reasons(self, contributions: Contributions, row: int, values: npt.NDArray[Any]) -> tuple[ReasonCode, ...]:
        """Every input that moved row ``row``'s margin, the largest push first; ``values`` is the row's model input
        in the order of ``contributions.features``."""
        where = {name: j for j, name in enumerate(contributions.features)}
        out = []
        for feature, contribution in contributions.top(row, len(contributions.features)):
            value = float(values[where[feature]])
            text = reason_text(self.descriptions.get(feature, feature), value, contribution)
            out.append(ReasonCode(feature, value, contribution, text))
        return tuple(out)

    @staticmethod
    def explanation(contributions: Contributions, row: int) -> Explanation:
        return Explanation(contributions.method, float(contributions.base_value[row]), float(contributions.margin[row]),
                           contributions.quantity)  # fmt: skip
