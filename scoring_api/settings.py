"""Settings of the scoring service: which registry alias it serves and on which engine backend.

Only settings modules read the environment (variables prefixed ``FRAUD_SCORING_``); everything else receives a
settings object as an argument.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The engine backends a service may score on: the numba-compiled CPU path (default), the NumPy reference,
#: or Triton kernels on an NVIDIA GPU (small batches stay on the CPU below the calibrated threshold).
Backend = Literal["numba", "numpy", "triton"]


class ScoringSettings(BaseSettings):
    """``FRAUD_SCORING_MODEL_BACKEND=triton`` moves scoring onto the GPU; ``FRAUD_SCORING_MODEL_ALIAS`` picks the
    registry alias the service answers with."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_SCORING_", env_file=None, extra="ignore")

    model_backend: Backend = "numba"
    model_alias: Literal["champion", "challenger"] = "champion"
    warmup_rows: int = Field(default=64, ge=1, le=65_536)
