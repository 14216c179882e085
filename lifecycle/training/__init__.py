"""Training: time split with a label-delay gap, candidate models, search, the end-to-end pipeline.

The pipeline names (``run_training``, ``TrainingConfig``, ``TrainingResult``) load on first use: they pull in
scikit-learn, the feature kernels and matplotlib, which the ``fraud`` command line must not pay for at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.lazy_exports import lazy_exports
from lifecycle.training.errors import InvalidDataError, ParityError, SplitError, TrainingError, TrainingInputError
from lifecycle.training.split import TimeSplit, drop_known_compromised_cards, labels_known_at, training_rows

if TYPE_CHECKING:
    from lifecycle.training.pipeline import TrainingConfig, TrainingResult, run_training

__getattr__ = lazy_exports(__name__, dict.fromkeys(("TrainingConfig", "TrainingResult", "run_training"), ".pipeline"))


__all__ = [
    "InvalidDataError",
    "ParityError",
    "SplitError",
    "TimeSplit",
    "TrainingConfig",
    "TrainingError",
    "TrainingInputError",
    "TrainingResult",
    "drop_known_compromised_cards",
    "labels_known_at",
    "run_training",
    "training_rows",
]
