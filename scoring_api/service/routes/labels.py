"""``POST /v1/labels``: late labels (chargebacks, confirmed frauds and genuine confirmations) from the bank's
systems: the same scorer keys that score send them (admins may too, to backfill).

Labels update the online features (the terminals' fraud shares count a fraud once it is reported) and reach the
served models' monitors, which compute realised performance per day as the labels of a day mature.
"""

from __future__ import annotations

import pandas as pd
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ingest.contract import Identifier, UtcTimestamp
from scoring_api.service.deps import LabelKey, ServicesDep
from scoring_api.service.schemas import Problem, ValidationProblem

router = APIRouter(prefix="/v1/labels", tags=["labels"])

#: Labels one request may carry (the body size limit applies too).
MAX_LABELS = 100_000


class LabelIn(BaseModel):
    """What became known about a scored transaction, and when it was reported."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    transaction_id: Identifier
    is_fraud: bool
    reported_at: UtcTimestamp


class LabelsRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "labels": [
                        {"transaction_id": "tx-2026-000123", "is_fraud": True, "reported_at": "2026-03-20T10:00:00Z"}
                    ]
                }
            ]
        },
    )

    labels: list[LabelIn] = Field(min_length=1, max_length=MAX_LABELS)


class LabelsOut(BaseModel):
    received: int
    #: Frauds that reached the online feature state (genuine labels and unknown transactions change nothing).
    applied_to_features: int
    monitored: bool


@router.post(
    "",
    response_model=LabelsOut,
    responses={401: {"model": Problem}, 403: {"model": Problem}, 422: {"model": ValidationProblem}},
    summary="Deliver late labels",
)
def post_labels(body: LabelsRequest, services: ServicesDep, key: LabelKey) -> LabelsOut:
    """Record labels in the online features and hand them to the served models' monitors."""
    frame = pd.DataFrame(
        {
            "transaction_id": [label.transaction_id for label in body.labels],
            "is_fraud": [label.is_fraud for label in body.labels],
            "reported_at": pd.DatetimeIndex([label.reported_at for label in body.labels]).tz_convert("UTC"),
        }
    )
    applied = services.scorer.apply_labels(frame)
    if services.monitors is not None:
        services.monitors.deliver_labels(frame)
    return LabelsOut(received=len(frame), applied_to_features=applied, monitored=services.monitors is not None)
