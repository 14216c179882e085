"""Applying a decision configuration to scored transactions: rules first, then the thresholds of the segment.

>>> import numpy as np
>>> from scoring_api.decisions.config import DecisionConfig, Rule, RuleMatch
>>> config = DecisionConfig(rules=[Rule(name="big", action="review", match=RuleMatch(amount_above=5000))])
>>> policy = DecisionPolicy(version=3, config=config)
>>> inputs = DecisionInputs.of_columns(card_token=["c1", "c2"], amount=[9000.0, 12.0])
>>> verdicts = policy.decide(inputs, np.array([0.01, 0.9]), [ModelThresholds(review=0.5)] * 2)
>>> [(v.outcome.value, v.decided_by) for v in verdicts]
[('review', 'rule:big'), ('review', 'model')]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from ingest.contract import OPTIONAL_DEFAULTS, Channel
from scoring_api.decisions.config import DecisionConfig, Rule, Segment
from scoring_api.records import Outcome, RiskBand

MODEL: Final = "model"
#: What the model's band decides when no rule fired.
_OUTCOMES: Final = {RiskBand.HIGH: Outcome.DECLINE, RiskBand.MEDIUM: Outcome.REVIEW, RiskBand.LOW: Outcome.APPROVE}
_TEXT_COLUMNS: Final = ("card_token", "customer_id", "terminal_id", "device_id", "country", "channel", "mcc")


@dataclass(frozen=True)
class ModelThresholds:
    """A model's own default thresholds (from its training run's alert budget): what empty thresholds mean."""

    review: float
    decline: float | None = None


@dataclass(frozen=True)
class DecisionInputs:
    """The columns the rules and segments read, one entry per transaction."""

    card_token: Sequence[str]
    customer_id: Sequence[str]
    terminal_id: Sequence[str]
    device_id: Sequence[str]
    country: Sequence[str]
    channel: Sequence[str]
    mcc: Sequence[str]
    amount: Sequence[float]

    @classmethod
    def of_columns(cls, **columns: Sequence[Any]) -> DecisionInputs:
        """Inputs from the columns given; missing text columns take the contract's defaults."""
        n = len(columns["card_token"])
        defaults = {**OPTIONAL_DEFAULTS, "customer_id": "", "terminal_id": "", "device_id": ""}
        values: dict[str, Sequence[Any]] = {
            name: columns.get(name, [defaults.get(name, "")] * n) for name in _TEXT_COLUMNS
        }
        return cls(**values, amount=[float(a) for a in columns["amount"]])

    def __len__(self) -> int:
        return len(self.card_token)


@dataclass(frozen=True)
class Verdict:
    """The decision on one transaction, before it becomes a :class:`~scoring_api.records.Decision`."""

    outcome: Outcome
    risk_band: RiskBand
    decided_by: str
    rules_fired: tuple[str, ...]
    review_threshold: float
    decline_threshold: float | None


Predicate = Callable[[DecisionInputs, int], bool]


def _member_of(column: str, allowed: frozenset[str]) -> Predicate:
    def matches(rows: DecisionInputs, i: int) -> bool:
        return getattr(rows, column)[i] in allowed

    return matches


def _rule_predicates(rule: Rule) -> list[Predicate]:
    match = rule.match
    predicates: list[Predicate] = []
    lists = (
        ("card_token", match.card_tokens),
        ("customer_id", match.customer_ids),
        ("terminal_id", match.terminal_ids),
        ("device_id", match.device_ids),
        ("country", match.countries),
        ("channel", [c.value for c in match.channels] if match.channels else None),
        ("mcc", match.mccs),
    )
    for column, values in lists:
        if values is not None:
            predicates.append(_member_of(column, frozenset(values)))
    if match.amount_above is not None:
        above = match.amount_above
        predicates.append(lambda rows, i: rows.amount[i] > above)
    return predicates


@dataclass(frozen=True)
class _CompiledSegment:
    channels: frozenset[str] | None
    mccs: frozenset[str] | None
    review: float | None
    decline: float | None

    @classmethod
    def of(cls, segment: Segment) -> _CompiledSegment:
        return cls(
            frozenset(Channel(c).value for c in segment.channels) if segment.channels else None,
            frozenset(segment.mccs) if segment.mccs else None,
            segment.thresholds.review,
            segment.thresholds.decline,
        )

    def selects(self, channel: str, mcc: str) -> bool:
        return (self.channels is None or channel in self.channels) and (self.mccs is None or mcc in self.mccs)


@dataclass(frozen=True)
class DecisionPolicy:
    """One version of the decision configuration, compiled for deciding batches."""

    version: int
    config: DecisionConfig = field(default_factory=DecisionConfig)

    def __post_init__(self) -> None:
        rules = [(rule.name, rule.action, _rule_predicates(rule)) for rule in self.config.rules]
        object.__setattr__(self, "_rules", rules)
        object.__setattr__(self, "_segments", [_CompiledSegment.of(s) for s in self.config.segments])

    def decide(
        self, inputs: DecisionInputs, scores: NDArray[Any], defaults: Sequence[ModelThresholds]
    ) -> list[Verdict]:
        """One verdict per transaction; ``defaults[i]`` are the thresholds of the model that scored row i."""
        rules: list[tuple[str, Outcome, list[Predicate]]] = self._rules  # type: ignore[attr-defined]
        segments: list[_CompiledSegment] = self._segments  # type: ignore[attr-defined]
        base = self.config.thresholds
        out: list[Verdict] = []
        # A verdict the model gave depends only on the band and the thresholds: equal ones are one (frozen) object.
        by_model: dict[tuple[RiskBand, float, float | None], Verdict] = {}
        for i, score in enumerate(np.asarray(scores, dtype=np.float64).tolist()):
            review, decline = base.review, base.decline
            for segment in segments:
                if segment.selects(inputs.channel[i], inputs.mcc[i]):
                    review, decline = segment.review, segment.decline
                    break
            model = defaults[i]
            review = model.review if review is None else review
            decline = model.decline if decline is None else decline
            if decline is not None and decline < review:
                decline = review  # a model default below a configured review threshold cannot undercut it
            band = (
                RiskBand.HIGH
                if decline is not None and score >= decline
                else RiskBand.MEDIUM
                if score >= review
                else RiskBand.LOW
            )
            if rules:
                fired = tuple(name for name, _, predicates in rules if all(p(inputs, i) for p in predicates))
                if fired:
                    action = next(action for name, action, _ in rules if name == fired[0])
                    out.append(Verdict(action, band, f"rule:{fired[0]}", fired, review, decline))
                    continue
            verdict = by_model.get((band, review, decline))
            if verdict is None:
                verdict = by_model[band, review, decline] = Verdict(_OUTCOMES[band], band, MODEL, (), review, decline)
            out.append(verdict)
        return out
