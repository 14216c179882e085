"""The declarative feature spec: what a feature is, written once, read by both engines.

A feature is either a :class:`TimeFlag` (a property of the transaction's own timestamp) or a
:class:`WindowAggregate`: an aggregate over the recent events of one :class:`Entity` (a card, a terminal, a
card-terminal pair...), in a time window that ends ``lag`` before the transaction. A :class:`FeatureSet` is an
ordered tuple of features with a stable version hash, so that a trained model can name exactly the features it
was trained on.

>>> from datetime import timedelta
>>> fs = FeatureSet((TimeFlag("night"), WindowAggregate(CARD, Aggregate.COUNT, timedelta(days=1))))
>>> fs.names
('is_night', 'card_count_1d')
>>> len(fs.version)
16
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from functools import cached_property
from typing import Final

from features.errors import FeatureSpecError

#: Bumped when the meaning of a spec field changes, so that old versions never collide with new ones.
SPEC_FORMAT: Final = 1


@dataclass(frozen=True)
class Entity:
    """What a windowed feature is grouped by: one or more contract columns (their values joined form the key)."""

    name: str
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or not self.columns:
            raise FeatureSpecError(f"an entity needs an identifier name and at least one column, got {self!r}")


CARD: Final = Entity("card", ("card_token",))
TERMINAL: Final = Entity("terminal", ("terminal_id",))
CARD_TERMINAL: Final = Entity("card_terminal", ("card_token", "terminal_id"))
CARD_COUNTRY: Final = Entity("card_country", ("card_token", "country"))


class Aggregate(StrEnum):
    """How the events of a window become one number.

    Window semantics, for a transaction at time ``t`` with ``lag`` L and ``window`` W: the events of the
    entity with time in ``(t - L - W, t - L]``. With L = 0 the transaction itself and the entity's earlier
    transactions at the same instant are included (``include_current``), later ones at the same instant are
    not: each transaction sees what happened before it, in arrival order.
    """

    COUNT = "count"  # number of events
    SUM = "sum_amount"  # sum of amounts
    MEAN = "mean_amount"  # mean amount, 0 when the window is empty
    FRAUD_SHARE = "fraud_share"  # share of events whose fraud label was known by t; 0 when empty
    RATIO_TO_MEAN = "amount_ratio"  # amount / mean amount of the earlier events; 1 without history
    #: (amount - mean) / std of the earlier events; 0 with < 2 events or std 0 (below
    #: features.kernels.ZSCORE_MIN_RELATIVE_STD of the mean: equal amounts leave rounding error in the spread)
    ZSCORE = "amount_zscore"
    SECONDS_SINCE_PREVIOUS = "seconds_since_previous"  # capped at the window; the cap when no previous event
    IS_NEW = "is_new"  # 1 when the entity has no earlier event in the window (first use), else 0


#: Aggregates over the earlier events only: the current transaction is what they compare against.
HISTORY_AGGREGATES: Final = frozenset(
    {Aggregate.RATIO_TO_MEAN, Aggregate.ZSCORE, Aggregate.SECONDS_SINCE_PREVIOUS, Aggregate.IS_NEW}
)
#: Aggregates that need only the entity's latest event, so their state is one event per entity.
LATEST_ONLY_AGGREGATES: Final = frozenset({Aggregate.SECONDS_SINCE_PREVIOUS, Aggregate.IS_NEW})


def format_duration(value: timedelta) -> str:
    """A short, exact name for a duration: ``10m``, ``1h``, ``7d``, ``90s``."""
    seconds = value.total_seconds()
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(value / timedelta(microseconds=1))}us"


def spell_duration(value: timedelta) -> str:
    """A duration in words: ``10 minutes``, ``1 hour``, ``7 days``."""
    seconds = value.total_seconds()
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{int(value / timedelta(microseconds=1))} microseconds"


#: How an entity's events read in a sentence ("payments by the card", "payments at the terminal").
_ENTITY_WORDS: Final = {
    "card": "by the card",
    "terminal": "at the terminal",
    "card_terminal": "by the card at this terminal",
    "card_country": "by the card in this country",
}
_AGGREGATE_WORDS: Final = {
    Aggregate.COUNT: "payments {who} in {span}",
    Aggregate.SUM: "amount paid {who} in {span}",
    Aggregate.MEAN: "mean amount paid {who} in {span}",
    Aggregate.FRAUD_SHARE: "share of payments {who} found fraudulent in {span}",
    Aggregate.RATIO_TO_MEAN: "amount against the mean paid {who} in {span}",
    Aggregate.ZSCORE: "amount's z-score against the payments {who} in {span}",
    Aggregate.SECONDS_SINCE_PREVIOUS: "seconds since the previous payment {who} (at most {window})",
    Aggregate.IS_NEW: "first payment {who} in {window}",
}


@dataclass(frozen=True)
class WindowAggregate:
    """An aggregate over an entity's events in ``(t - lag - window, t - lag]``."""

    entity: Entity
    aggregate: Aggregate
    window: timedelta
    lag: timedelta = timedelta(0)
    include_current: bool = field(default=True)

    def __post_init__(self) -> None:
        if self.window <= timedelta(0):
            raise FeatureSpecError(f"window must be positive, got {self.window} for {self.entity.name}")
        if self.lag < timedelta(0):
            raise FeatureSpecError(f"lag must be zero or positive, got {self.lag} for {self.entity.name}")
        if self.aggregate in HISTORY_AGGREGATES and self.lag != timedelta(0):
            raise FeatureSpecError(f"{self.aggregate.value} compares with recent history; it takes no lag")
        if self.aggregate == Aggregate.FRAUD_SHARE and self.lag == timedelta(0):
            raise FeatureSpecError(
                "fraud_share without a lag would mostly count labels that cannot be known yet; "
                "give it the label delay as lag (7 days in the handbook)"
            )
        if self.microseconds(self.window) <= 0 or self.window % timedelta(microseconds=1) != timedelta(0):
            raise FeatureSpecError(f"window {self.window} must be a whole number of microseconds")

    @staticmethod
    def microseconds(value: timedelta) -> int:
        """A duration as whole microseconds: the unit of every time the kernels see."""
        return int(value // timedelta(microseconds=1))

    @property
    def name(self) -> str:
        """``{entity}_{aggregate}_{window}``, then ``_lag{lag}`` and ``_before`` when they apply."""
        name = f"{self.entity.name}_{self.aggregate.value}_{format_duration(self.window)}"
        if self.lag:
            name += f"_lag{format_duration(self.lag)}"
        if not self.include_current and self.aggregate not in HISTORY_AGGREGATES:
            name += "_before"
        return name

    @property
    def horizon(self) -> timedelta:
        """How far back an event can still matter to this feature."""
        return self.lag + self.window

    @property
    def description(self) -> str:
        """What the feature measures, in words (reason codes quote it): "payments by the card in the last 1 hour"."""
        who = _ENTITY_WORDS.get(self.entity.name, f"by the {self.entity.name.replace('_', ' ')}")
        window = spell_duration(self.window)
        span = f"the {window} up to {spell_duration(self.lag)} ago" if self.lag else f"the last {window}"
        text = _AGGREGATE_WORDS[self.aggregate].format(who=who, window=window, span=span)
        if not self.include_current and self.aggregate not in HISTORY_AGGREGATES:
            text += ", before this payment"
        return text

    def describe(self) -> dict[str, object]:
        """Every parameter, as plain data: what the feature set's version hashes."""
        return {
            "kind": "window",
            "entity": self.entity.name,
            "columns": list(self.entity.columns),
            "aggregate": self.aggregate.value,
            "window_us": self.microseconds(self.window),
            "lag_us": self.microseconds(self.lag),
            "include_current": self.include_current,
        }


class Flag(StrEnum):
    """The time flags a :class:`TimeFlag` can compute."""

    WEEKEND = "weekend"  # Saturday or Sunday (UTC)
    NIGHT = "night"  # hour of day (UTC) <= night_last_hour


@dataclass(frozen=True)
class TimeFlag:
    """A 0/1 property of the transaction's timestamp (UTC)."""

    flag: Flag | str
    night_last_hour: int = 6

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "flag", Flag(self.flag))
        except ValueError:
            raise FeatureSpecError(f"unknown time flag {self.flag!r}; known: {[f.value for f in Flag]}") from None
        if not 0 <= self.night_last_hour <= 23:
            raise FeatureSpecError(f"night_last_hour must be an hour 0..23, got {self.night_last_hour}")

    @property
    def name(self) -> str:
        """``is_weekend`` or ``is_night``."""
        return f"is_{Flag(self.flag).value}"

    @property
    def description(self) -> str:
        """What the flag says, in words (reason codes quote it)."""
        if Flag(self.flag) is Flag.WEEKEND:
            return "paid on a weekend (UTC)"
        return f"paid at night (before {self.night_last_hour + 1:02d}:00 UTC)"

    def describe(self) -> dict[str, object]:
        """Every parameter, as plain data: what the feature set's version hashes."""
        return {"kind": "time", "flag": Flag(self.flag).value, "night_last_hour": self.night_last_hour}


Feature = WindowAggregate | TimeFlag


@dataclass(frozen=True)
class FeatureSet:
    """An ordered, named, versioned collection of features: the unit that engines compute and models consume."""

    features: tuple[Feature, ...]

    def __post_init__(self) -> None:
        if not self.features:
            raise FeatureSpecError("a feature set needs at least one feature")
        names = [f.name for f in self.features]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise FeatureSpecError(f"duplicate feature names {duplicates}; each feature must be declared once")
        self.entities  # noqa: B018 - validates that each entity name has one column set

    @cached_property
    def names(self) -> tuple[str, ...]:
        """The feature names, in declaration order (the column order of both engines)."""
        return tuple(f.name for f in self.features)

    @property
    def version(self) -> str:
        """A stable hash of the declarations (not of the code): equal specs give equal versions."""
        payload = json.dumps(
            {"format": SPEC_FORMAT, "features": [f.describe() for f in self.features]}, sort_keys=True
        ).encode()
        return hashlib.sha256(payload).hexdigest()[:16]

    @property
    def entities(self) -> tuple[Entity, ...]:
        """The entities that windowed features group by, in first-use order."""
        seen: dict[str, Entity] = {}
        for f in self.features:
            if isinstance(f, WindowAggregate):
                previous = seen.setdefault(f.entity.name, f.entity)
                if previous != f.entity:
                    raise FeatureSpecError(f"entity name {f.entity.name!r} is used with two column sets")
        return tuple(seen.values())

    def __len__(self) -> int:
        return len(self.features)
