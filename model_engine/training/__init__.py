"""Training: time split with a label-delay gap, candidate models, search, the end-to-end pipeline."""

from __future__ import annotations

from model_engine.training.errors import InvalidDataError, ParityError, SplitError, TrainingError
from model_engine.training.split import TimeSplit, drop_known_compromised_cards, labels_known_at, training_rows

__all__ = [
    "InvalidDataError",
    "ParityError",
    "SplitError",
    "TimeSplit",
    "TrainingError",
    "drop_known_compromised_cards",
    "labels_known_at",
    "training_rows",
]
