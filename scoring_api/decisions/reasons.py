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

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
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
        return self.rows_reasons(contributions, np.asarray(values)[np.newaxis, :], rows=[row])[0]

    def rows_reasons(
        self, contributions: Contributions, values: npt.NDArray[Any], rows: Sequence[int] | None = None
    ) -> list[tuple[ReasonCode, ...]]:
        """:meth:`reasons` of several rows at once (``rows`` of ``contributions``, all by default; ``values`` holds
        their model inputs, one row each): one sort for all of them (the order of
        :meth:`~model_engine.Contributions.top`: largest ``|contribution|`` first, ties in signature order, zero
        and non-finite contributions left out)."""
        pushes = contributions.values if rows is None else contributions.values[np.asarray(rows, dtype=np.int64)]
        moved = np.isfinite(pushes) & (pushes != 0.0)
        order = np.argsort(np.where(moved, -np.abs(pushes), np.inf), axis=1, kind="stable")
        counts = moved.sum(axis=1).tolist()
        names = contributions.features
        described = [self.descriptions.get(name, name) for name in names]
        out = []
        for k, (chosen, count) in enumerate(zip(order.tolist(), counts, strict=True)):
            row_pushes = pushes[k].tolist()
            row_values = np.asarray(values[k], dtype=np.float64).tolist()
            codes = []
            for j in chosen[:count]:
                value, push = row_values[j], row_pushes[j]
                codes.append(ReasonCode(names[j], value, push, reason_text(described[j], value, push)))
            out.append(tuple(codes))
        return out

    @staticmethod
    def explanation(contributions: Contributions, row: int) -> Explanation:
        return Explanation(contributions.method, float(contributions.base_value[row]), float(contributions.margin[row]),
                           contributions.quantity)  # fmt: skip
