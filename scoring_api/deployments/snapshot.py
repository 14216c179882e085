"""What serves right now: the champion, an optional canary with its share of cards, an optional shadow.

A :class:`Deployment` is immutable: a batch reads the current one once and is scored wholly by it, however
the deployment changes meanwhile (a change builds a new snapshot and swaps one reference).

Canary routing is sticky by card: a card's bucket is a keyed hash of its token, salted with the canary's
content id, so a card stays on the canary for the canary's whole life while each new canary draws another
set of cards.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
from numpy.typing import NDArray

from scoring_api.deployments.served import ServedModel

_BUCKETS: Final = 10_000


def card_bucket(card_token: str, salt: str) -> int:
    """The card's bucket in [0, 10000) for a salt: stable across processes and restarts."""
    digest = hashlib.blake2b(card_token.encode(), digest_size=8, key=salt.encode()[:64]).digest()
    return int.from_bytes(digest, "big") % _BUCKETS


@dataclass(frozen=True, eq=False)
class Deployment:
    """The models serving at one moment (``revision`` grows with every change)."""

    champion: ServedModel
    canary: ServedModel | None = None
    #: Share of cards the canary answers for, in (0, 1].
    canary_share: float = 0.0
    shadow: ServedModel | None = None
    revision: int = 0

    def canary_mask(self, card_tokens: Sequence[str]) -> NDArray[np.bool_]:
        """Which transactions the canary answers for (all False without a canary)."""
        if self.canary is None or self.canary_share <= 0.0:
            return np.zeros(len(card_tokens), dtype=np.bool_)
        cut = round(self.canary_share * _BUCKETS)
        salt = self.canary.content_id
        return np.fromiter((card_bucket(c, salt) < cut for c in card_tokens), dtype=np.bool_, count=len(card_tokens))


@dataclass(frozen=True, eq=False)
class CanaryObservation:
    """How the canary did on one batch: the rows it scored, how long it took, whether it failed, and its
    scores beside the champion's for the same transactions (the guardrails compare them)."""

    content_id: str
    rows: int
    seconds: float
    error: str | None
    canary_scores: NDArray[np.float32]
    champion_scores: NDArray[np.float32]


class ModelSource(Protocol):
    """Where the scorer gets its models (the deployment manager) and reports how the canary did."""

    @property
    def current(self) -> Deployment: ...

    def observe(self, observation: CanaryObservation) -> None: ...
