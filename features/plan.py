"""A feature set compiled for the kernels: per entity, a table of integer parameters.

Both engines run the same compiled plan through the same kernels (:mod:`features.kernels`); they differ only
in how an entity's event history is assembled (the whole sorted frame offline, per-entity bounded state
online).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from features.spec import (
    LATEST_ONLY_AGGREGATES,
    Aggregate,
    Entity,
    FeatureSet,
    Flag,
    TimeFlag,
    WindowAggregate,
)

#: Operation codes shared with the kernels (column 0 of a plan's parameter table).
OP_CODES: Final[dict[Aggregate, int]] = {
    Aggregate.COUNT: 0,
    Aggregate.SUM: 1,
    Aggregate.MEAN: 2,
    Aggregate.FRAUD_SHARE: 3,
    Aggregate.RATIO_TO_MEAN: 4,
    Aggregate.ZSCORE: 5,
    Aggregate.SECONDS_SINCE_PREVIOUS: 6,
    Aggregate.IS_NEW: 7,
}
FLAG_CODES: Final[dict[Flag, int]] = {Flag.WEEKEND: 0, Flag.NIGHT: 1}
#: Separator of composite entity keys (a control character never found in identifiers).
KEY_SEPARATOR: Final = "\x1f"


@dataclass(frozen=True)
class EntityPlan:
    """The windowed features of one entity.

    ``params`` has one row per feature: (op code, window in us, lag in us, output column, include current).
    ``horizon_us`` is how long an event stays useful; ``latest_only`` means every feature needs just the
    previous event, so the state keeps one event per entity.
    """

    entity: Entity
    params: NDArray[np.int64]
    horizon_us: int
    latest_only: bool
    needs_labels: bool


@dataclass(frozen=True)
class FeaturePlan:
    """A whole feature set in kernel form."""

    n_features: int
    time_params: NDArray[np.int64]  # rows: (flag code, night last hour, output column)
    entities: tuple[EntityPlan, ...]

    @property
    def label_entities(self) -> tuple[EntityPlan, ...]:
        """The entities with a fraud-share feature: those that labels must reach."""
        return tuple(p for p in self.entities if p.needs_labels)


def compile_plan(feature_set: FeatureSet) -> FeaturePlan:
    """Turn a declarative feature set into kernel parameter tables."""
    time_rows: list[tuple[int, int, int]] = []
    by_entity: dict[str, list[tuple[int, WindowAggregate]]] = {}
    for column, feature in enumerate(feature_set.features):
        if isinstance(feature, TimeFlag):
            time_rows.append((FLAG_CODES[Flag(feature.flag)], feature.night_last_hour, column))
        else:
            by_entity.setdefault(feature.entity.name, []).append((column, feature))
    plans = []
    for entity in feature_set.entities:
        # Same lag and end, then growing windows: lets the kernel extend nested sums (see window_features).
        members = sorted(by_entity[entity.name], key=lambda m: (m[1].lag, not m[1].include_current, m[1].window, m[0]))
        params = np.array(
            [
                (
                    OP_CODES[f.aggregate],
                    f.microseconds(f.window),
                    f.microseconds(f.lag),
                    column,
                    int(f.include_current),
                )
                for column, f in members
            ],
            dtype=np.int64,
        )
        plans.append(
            EntityPlan(
                entity=entity,
                params=params,
                horizon_us=max(f.microseconds(f.horizon) for _, f in members),
                latest_only=all(f.aggregate in LATEST_ONLY_AGGREGATES for _, f in members),
                needs_labels=any(f.aggregate == Aggregate.FRAUD_SHARE for _, f in members),
            )
        )
    time_params = np.array(time_rows, dtype=np.int64).reshape(-1, 3)
    return FeaturePlan(n_features=len(feature_set), time_params=time_params, entities=tuple(plans))
