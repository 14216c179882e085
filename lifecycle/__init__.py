"""The fraud model's life: training (time split with a label-delay gap, candidates, compilation), evaluation
(ranking, card precision, alert-budget recall, calibration, slices), the registry with lineage, and the gate
that blesses a model before it may deploy.

It sits on the model engine (which compiles and runs graphs and knows nothing of fraud) and on the features.
"""

from __future__ import annotations

from lifecycle.errors import LifecycleError
from lifecycle.settings import LifecycleSettings

__all__ = ["LifecycleError", "LifecycleSettings"]
