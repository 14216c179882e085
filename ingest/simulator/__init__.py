"""A transaction simulator in the manner of the ULB/Worldline handbook, with more realistic fraud on request.

>>> from ingest.simulator import SimulatorConfig, simulate
>>> data = simulate(SimulatorConfig.preset("handbook", days=3, seed=0))
>>> data.transactions["fraud_scenario"].isin([0, 1, 2, 3]).all()
np.True_
"""

from __future__ import annotations

from ingest.simulator.config import PRESETS, SimulatorConfig
from ingest.simulator.data import SimulatedData, labels_path
from ingest.simulator.errors import SimulatorError, UnknownPresetError
from ingest.simulator.frame import SIMULATED_SCHEMA
from ingest.simulator.simulation import simulate

__all__ = [
    "PRESETS",
    "SIMULATED_SCHEMA",
    "SimulatedData",
    "SimulatorConfig",
    "SimulatorError",
    "UnknownPresetError",
    "labels_path",
    "simulate",
]
