"""The HTTP API's request and response documents (their JSON schemas make the OpenAPI document).

A transaction is sent with its card either as a token (``card_token``) or as the card number itself (``pan``),
which is tokenised at the edge and never stored, logged or returned: it is a secret from the moment it is
parsed (validation errors never echo it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, Self

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ingest.contract import (
    OPTIONAL_DEFAULTS,
    TRANSACTION_COLUMNS,
    Amount,
    CardToken,
    Channel,
    CountryCode,
    CurrencyCode,
    DeviceId,
    EntryMode,
    Identifier,
    MerchantCategoryCode,
    Transaction,
    UtcTimestamp,
)
from ingest.pan import CardTokenizer, mask_pan, normalize_pan
from scoring_api.decisions.config import DecisionConfig
from scoring_api.pipeline.frames import transactions_frame_from_columns
from scoring_api.records import ModelRole, Outcome, RiskBand

_TRANSACTION_EXAMPLE: dict[str, Any] = {
    "transaction_id": "tx-2026-000123",
    "timestamp": "2026-03-14T09:26:53Z",
    "card_token": "tok_3f1c2a9b8e7d6c5b4a3f2e1d0c9b8a7f",
    "customer_id": "cust-0042",
    "terminal_id": "term-7781",
    "amount": 129.9,
    "currency": "EUR",
    "mcc": "5411",
    "channel": "pos",
    "entry_mode": "contactless",
    "country": "BE",
}


class ScoreRequest(BaseModel):
    """One transaction to score: the contract's fields, with the card as ``card_token`` or as ``pan``."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,
        json_schema_extra={
            "examples": [
                _TRANSACTION_EXAMPLE,
                {**{k: v for k, v in _TRANSACTION_EXAMPLE.items() if k != "card_token"}, "pan": "4111111111111111"},
            ]
        },
    )

    transaction_id: Identifier
    timestamp: UtcTimestamp
    card_token: CardToken | None = Field(default=None, description="keyed token of the card; or send `pan`")
    pan: SecretStr | None = Field(
        default=None, description="the card number, tokenised on arrival and never stored; or send `card_token`"
    )
    customer_id: Identifier
    terminal_id: Identifier
    amount: Amount
    currency: CurrencyCode = OPTIONAL_DEFAULTS["currency"]
    mcc: MerchantCategoryCode = OPTIONAL_DEFAULTS["mcc"]
    channel: Channel = Channel.POS
    entry_mode: EntryMode = EntryMode.CHIP
    country: CountryCode = OPTIONAL_DEFAULTS["country"]
    device_id: DeviceId = OPTIONAL_DEFAULTS["device_id"]

    @field_validator("pan", mode="before")
    @classmethod
    def _pan_is_a_card_number(cls, value: Any) -> Any:
        # The service's error responses never echo inputs (nor does str() of the error): the messages below
        # name what is wrong without the number.
        if value is None:
            return value
        if not isinstance(value, str):
            raise ValueError(f"a card number must be given as a string of digits, not {type(value).__name__}")
        normalize_pan(value)  # a CardNumberError (ValueError) that never holds the number
        return value

    @model_validator(mode="after")
    def _one_card(self) -> Self:
        if (self.card_token is None) == (self.pan is None):
            raise ValueError("send the card either as card_token or as pan (exactly one of them)")
        return self

    def to_transaction(self, tokenizer: CardTokenizer, displays: dict[str, str] | None = None) -> Transaction:
        """The contract transaction: the card number, if sent, replaced by its token (and its display form,
        BIN and last four, kept in ``displays`` by token)."""
        fields = self.model_dump(exclude={"pan", "card_token"})
        if self.pan is not None:
            token = _tokenize(self.pan, tokenizer, displays)
        else:
            assert self.card_token is not None  # exactly one of them (checked on validation)
            token = self.card_token
        # Every field was validated by the contract's own types above; the token is the tokenizer's.
        return Transaction.model_construct(card_token=token, **fields)


class BatchScoreRequest(BaseModel):
    """Transactions scored together; each is validated on its own, and a bad one does not fail the others."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"transactions": [_TRANSACTION_EXAMPLE]}]}
    )

    transactions: list[ScoreRequest] = Field(min_length=1)


#: The ``responses`` documents of a route (status -> model and description).
Responses = dict[int | str, dict[str, Any]]


class ItemError(BaseModel):
    """One thing wrong with a transaction: where, what, and the check's name."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationProblem(BaseModel):
    """A request that does not read as the documented body (nothing was scored)."""

    detail: list[ItemError]


class Problem(BaseModel):
    """A request that was refused, and what to do next."""

    detail: str


class InputProblem(BaseModel):
    """Bad input: the documented body or parameters broken (a list of errors), or a value out of range (a
    sentence)."""

    detail: str | list[ItemError]


class ReasonCodeOut(BaseModel):
    """An input that pushed the score: its value, its additive contribution to the margin, in words."""

    feature: str
    value: float
    contribution: float
    text: str


class ExplanationOut(BaseModel):
    """How the answering model's margin splits: ``base_value`` plus the reason codes' contributions is ``margin``,
    and ``quantity`` says what the margin is (the logit of the score for a single or Platt-calibrated model)."""

    method: str = Field(description="linear, tree_shap or integrated_gradients; an ensemble's joined by '+'")
    base_value: float
    margin: float
    quantity: str = Field(description="what the margin is: 'the logit of the score', or an ensemble's stated quantity")


class ThresholdsOut(BaseModel):
    review: float
    decline: float | None


class DecisionOut(BaseModel):
    """The decision on one transaction."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "decision_id": "4f1a9c2be3d07a6b0000000000000017",
                    "transaction_id": "tx-2026-000123",
                    "score": 0.0731,
                    "risk_band": "medium",
                    "decision": "review",
                    "decided_by": "model",
                    "reason_codes": [],
                    "rules_fired": [],
                    "thresholds": {"review": 0.061, "decline": None},
                    "model_version": "sha256:9d2c...",
                    "model_role": "champion",
                    "decision_config_version": 3,
                    "decided_at": "2026-03-14T09:26:53.120431Z",
                    "replayed": False,
                }
            ]
        }
    )

    decision_id: str
    transaction_id: str
    score: float
    risk_band: RiskBand
    decision: Outcome
    decided_by: str
    reason_codes: list[ReasonCodeOut]
    rules_fired: list[str]
    thresholds: ThresholdsOut
    model_version: str
    model_role: ModelRole
    decision_config_version: int
    decided_at: datetime
    replayed: bool
    #: Present when the decision was explained (every decision not approved, by default).
    explanation: ExplanationOut | None = None


class BatchItemOut(BaseModel):
    """One transaction of a batch, in its request position: its decision, or why it was not scored."""

    index: int
    transaction_id: str | None
    status: Literal["scored", "rejected"]
    decision: DecisionOut | None = None
    errors: list[ItemError] = Field(default_factory=list)


class BatchScoreResponse(BaseModel):
    items: list[BatchItemOut]
    scored: int
    rejected: int


class Health(BaseModel):
    status: Literal["ok"]


class ReadinessCheck(BaseModel):
    ok: bool
    detail: str


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, ReadinessCheck]


class ModelOut(BaseModel):
    """A registered model version."""

    content_id: str
    name: str
    registered_at: str
    blessed: bool
    aliases: list[str]
    review_threshold: float | None = None


class CanaryOut(BaseModel):
    model: ModelOut
    share: float
    guardrails: dict[str, float | int | None] | None


class DeploymentOut(BaseModel):
    """What serves now."""

    revision: int
    champion: ModelOut
    canary: CanaryOut | None
    shadow: ModelOut | None
    rollbacks: int


class CanaryRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"model": "sha256:9d2c0f1e", "share": 0.05}]}
    )

    model: str = Field(min_length=8, max_length=200, description="content id (or a unique prefix of 8+ characters)")
    share: float = Field(gt=0.0, le=1.0, description="share of cards the canary answers for (sticky by card)")


class ShadowRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"model": "sha256:9d2c0f1e"}]})

    model: str = Field(min_length=8, max_length=200, description="content id (or a unique prefix of 8+ characters)")


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="rolled back by an admin", max_length=500)


class DeploymentEventOut(BaseModel):
    at: datetime
    action: str
    content_id: str | None
    previous_content_id: str | None
    actor: str
    reason: str
    automatic: bool
    details: dict[str, Any]
    ticket: str | None = None


class ConfigVersionOut(BaseModel):
    """One version of the decision configuration."""

    version: int
    status: Literal["default", "draft", "active", "retired"]
    config: DecisionConfig
    created_at: datetime | None
    created_by: str | None
    activated_at: datetime | None
    activated_by: str | None


def requests_frame(
    requests: Sequence[ScoreRequest], tokenizer: CardTokenizer, displays: dict[str, str] | None = None
) -> pd.DataFrame:
    """The contract frame of validated requests (card numbers tokenised, their display forms kept in
    ``displays``): the scorer's batch input."""
    columns: dict[str, list[Any]] = {name: [] for name in TRANSACTION_COLUMNS}
    for request in requests:
        for name in TRANSACTION_COLUMNS:
            columns[name].append(getattr(request, name))
        if request.pan is not None:
            columns["card_token"][-1] = _tokenize(request.pan, tokenizer, displays)
    return transactions_frame_from_columns(columns)


def _tokenize(pan: SecretStr, tokenizer: CardTokenizer, displays: dict[str, str] | None) -> str:
    number = pan.get_secret_value()
    token = tokenizer.tokenize(number)
    if displays is not None:
        displays[token] = mask_pan(number)
    return token
