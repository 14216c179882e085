"""Slices of an evaluated set: the sub-populations a model must not fail on while looking fine overall.

A slice is a name (``channel=ecom``, ``amount=100-250``, ``country=BE``, ``card=new``) and a boolean mask
over the evaluated transactions. New cards are those first seen less than ``new_card_days`` before the
transaction; when the caller knows when each card was first seen in the full history (training data
included) it passes ``first_seen``, otherwise the evaluated set itself is the history. Telling new from old
needs that much history: a transaction less than ``new_card_days`` after the history's start belongs to neither
card slice, and :class:`Slices` notes how many were left out and why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifecycle.evaluation.errors import EvaluationError
from lifecycle.records import RECORD_CONFIG

#: Amount band edges in the currency's major unit; the last band is open.
DEFAULT_AMOUNT_BANDS: Final[tuple[float, ...]] = (0.0, 25.0, 100.0, 250.0, 1000.0, math.inf)


@dataclass(frozen=True)
class SliceSpec:
    """Which slices to cut: amount band edges, how many countries by volume, the age of a new card."""

    __pydantic_config__ = RECORD_CONFIG

    amount_bands: tuple[float, ...] = DEFAULT_AMOUNT_BANDS
    max_countries: int = 5
    new_card_days: float = 30.0

    def __post_init__(self) -> None:
        edges = self.amount_bands
        if len(edges) < 2 or any(b <= a for a, b in pairwise(edges)):
            raise EvaluationError(f"amount_bands must be at least two increasing edges, got {edges}")


def _band_name(low: float, high: float) -> str:
    def fmt(value: float) -> str:
        return "inf" if math.isinf(value) else f"{value:g}"

    return f"amount={fmt(low)}-{fmt(high)}"


@dataclass(frozen=True)
class Slices:
    """Named boolean masks over the evaluated rows (non-empty ones), and notes on slices not cut or cut short."""

    masks: dict[str, npt.NDArray[np.bool_]]
    notes: dict[str, str]


def slice_masks(
    frame: pd.DataFrame,
    spec: SliceSpec | None = None,
    first_seen: pd.Series | None = None,
) -> Slices:
    """Named boolean masks over ``frame``'s rows; only non-empty slices are returned.

    ``frame`` needs ``amount`` and ``timestamp``, and ``channel``, ``country`` and ``card_token`` when
    present are sliced on too. ``first_seen`` maps a card token to the time it was first seen.
    """
    spec = spec or SliceSpec()
    missing = [c for c in ("amount", "timestamp") if c not in frame.columns]
    if missing:
        raise EvaluationError(f"slicing needs columns {missing}; pass the evaluated transactions in contract columns")
    masks: dict[str, npt.NDArray[np.bool_]] = {}
    if "channel" in frame.columns:
        for value in sorted(frame["channel"].astype(str).unique()):
            masks[f"channel={value}"] = (frame["channel"].astype(str) == value).to_numpy()
    amount = frame["amount"].to_numpy(dtype=np.float64)
    edges = spec.amount_bands
    for low, high in pairwise(edges):
        masks[_band_name(low, high)] = (amount >= low) & (amount < high)
    if "country" in frame.columns:
        countries = frame["country"].astype(str)
        top = countries.value_counts().sort_index().sort_values(ascending=False, kind="mergesort")
        kept = list(top.index[: spec.max_countries])
        for value in kept:
            masks[f"country={value}"] = (countries == value).to_numpy()
        masks["country=other"] = (~countries.isin(kept)).to_numpy()
    notes: dict[str, str] = {}
    if "card_token" in frame.columns:
        card_masks, note = _card_age_masks(frame, spec.new_card_days, first_seen)
        masks.update(card_masks)
        if note:
            notes["card=new, card=established"] = note
    return Slices({name: mask for name, mask in masks.items() if mask.any()}, notes)


def _card_age_masks(
    frame: pd.DataFrame, new_card_days: float, first_seen: pd.Series | None
) -> tuple[dict[str, npt.NDArray[np.bool_]], str]:
    cards = frame["card_token"].astype(str)
    stamps = pd.to_datetime(frame["timestamp"], utc=True)
    history_start = stamps.min() if first_seen is None else pd.to_datetime(first_seen, utc=True).min()
    judgeable = (stamps >= history_start + pd.Timedelta(days=new_card_days)).to_numpy()
    note = ""
    if not judgeable.all():
        left_out = int((~judgeable).sum())
        note = (
            f"{left_out:,} of {len(judgeable):,} transactions are in neither card slice: they come less than "
            f"{new_card_days:g} days after the history starts ({history_start}), too soon to tell a new card "
            "from an old one"
        )
    if first_seen is None:
        seen = stamps.groupby(cards).transform("min")
    else:
        lookup = pd.to_datetime(first_seen, utc=True)
        lookup.index = lookup.index.astype(str)
        seen = cards.map(lookup)
        # A card absent from the history is seen for the first time now.
        seen = seen.fillna(stamps)
        seen = pd.to_datetime(seen, utc=True)
    age_days = (stamps - seen).dt.total_seconds().to_numpy() / 86_400.0
    new = age_days < new_card_days
    return {"card=new": judgeable & new, "card=established": judgeable & ~new}, note


def first_seen_times(frames: Sequence[pd.DataFrame]) -> pd.Series:
    """When each card was first seen across ``frames`` (card token -> UTC timestamp)."""
    parts = [f[["card_token", "timestamp"]] for f in frames if len(f)]
    if not parts:
        raise EvaluationError("no transactions to learn card first-seen times from")
    both = pd.concat(parts, ignore_index=True)
    return pd.to_datetime(both["timestamp"], utc=True).groupby(both["card_token"].astype(str)).min()
