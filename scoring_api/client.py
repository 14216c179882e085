"""A small typed client of the scoring API, for a bank's engineers (and the tests and the benchmark).

>>> # client = ScoringClient("http://127.0.0.1:8000", api_key="fsk_...")
>>> # decision = client.score(ScoreRequest(transaction_id="t1", timestamp=..., card_token="tok_...", ...))
>>> # decision.decision, decision.score, [r.feature for r in decision.reason_codes]

Responses are read into the same models the service documents (:mod:`scoring_api.service.schemas`); a refusal
raises :class:`ApiError` carrying the status and the service's explanation.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from scoring_api.decisions.config import DecisionConfig
from scoring_api.errors import ScoringError
from scoring_api.service.schemas import (
    BatchScoreResponse,
    ConfigVersionOut,
    DecisionOut,
    DeploymentEventOut,
    DeploymentOut,
    ModelOut,
    Readiness,
    ScoreRequest,
)

Model = TypeVar("Model", bound=BaseModel)
API_KEY_HEADER = "X-API-Key"


class ApiError(ScoringError):
    """The service refused a request: ``status`` and its ``detail`` (a sentence, or a list of item errors)."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


def _payload(request: ScoreRequest | dict[str, Any]) -> dict[str, Any]:
    if isinstance(request, ScoreRequest):
        body = request.model_dump(mode="json", exclude_none=True)
        if request.pan is not None:
            body["pan"] = request.pan.get_secret_value()  # sent once, to be tokenised by the service
        return body
    return request


class ScoringClient:
    """Calls the scoring API with one API key; use it as a context manager to close its connections."""

    def __init__(
        self, base_url: str, api_key: str, *, timeout_s: float = 10.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url, headers={API_KEY_HEADER: api_key}, timeout=timeout_s, transport=transport
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, answer: type[Model] | TypeAdapter[Any], **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise ApiError(response.status_code, detail)
        if isinstance(answer, TypeAdapter):
            return answer.validate_json(response.content)
        return answer.model_validate_json(response.content)

    # -- scoring (scorer role) ------------------------------------------------------------------------------

    def score(self, transaction: ScoreRequest | dict[str, Any]) -> DecisionOut:
        """The decision on one transaction."""
        result: DecisionOut = self._call("POST", "/v1/score", DecisionOut, json=_payload(transaction))
        return result

    def score_batch(self, transactions: Sequence[ScoreRequest | dict[str, Any]]) -> BatchScoreResponse:
        """The decisions on a batch, item by item (a bad item is reported in its slot)."""
        body = {"transactions": [_payload(t) for t in transactions]}
        result: BatchScoreResponse = self._call("POST", "/v1/score/batch", BatchScoreResponse, json=body)
        return result

    # -- reading (analyst, compliance, admin) ---------------------------------------------------------------

    def decision(self, transaction_id: str) -> DecisionOut:
        result: DecisionOut = self._call("GET", f"/v1/decisions/{transaction_id}", DecisionOut)
        return result

    def deployment(self) -> DeploymentOut:
        result: DeploymentOut = self._call("GET", "/v1/deployments", DeploymentOut)
        return result

    def deployment_history(self, limit: int = 100) -> list[DeploymentEventOut]:
        result: list[DeploymentEventOut] = self._call(
            "GET", "/v1/deployments/history", TypeAdapter(list[DeploymentEventOut]), params={"limit": limit}
        )
        return result

    def models(self) -> list[ModelOut]:
        result: list[ModelOut] = self._call("GET", "/v1/models", TypeAdapter(list[ModelOut]))
        return result

    def decision_configs(self) -> list[ConfigVersionOut]:
        result: list[ConfigVersionOut] = self._call("GET", "/v1/decision-configs", TypeAdapter(list[ConfigVersionOut]))
        return result

    def active_decision_config(self) -> ConfigVersionOut:
        result: ConfigVersionOut = self._call("GET", "/v1/decision-configs/active", ConfigVersionOut)
        return result

    # -- changes (admin) -------------------------------------------------------------------------------------

    def draft_decision_config(self, config: DecisionConfig) -> ConfigVersionOut:
        body = config.model_dump(mode="json")
        result: ConfigVersionOut = self._call("POST", "/v1/decision-configs", ConfigVersionOut, json=body)
        return result

    def activate_decision_config(self, version: int) -> ConfigVersionOut:
        result: ConfigVersionOut = self._call("POST", f"/v1/decision-configs/{version}/activate", ConfigVersionOut)
        return result

    def start_shadow(self, model: str) -> DeploymentOut:
        result: DeploymentOut = self._call("POST", "/v1/deployments/shadow", DeploymentOut, json={"model": model})
        return result

    def stop_shadow(self) -> DeploymentOut:
        result: DeploymentOut = self._call("DELETE", "/v1/deployments/shadow", DeploymentOut)
        return result

    def start_canary(self, model: str, share: float) -> DeploymentOut:
        body = {"model": model, "share": share}
        result: DeploymentOut = self._call("POST", "/v1/deployments/canary", DeploymentOut, json=body)
        return result

    def rollback_canary(self) -> DeploymentOut:
        result: DeploymentOut = self._call("DELETE", "/v1/deployments/canary", DeploymentOut)
        return result

    def promote_canary(self) -> DeploymentOut:
        result: DeploymentOut = self._call("POST", "/v1/deployments/canary/promote", DeploymentOut)
        return result

    def rollback(self, reason: str = "rolled back by an admin") -> DeploymentOut:
        result: DeploymentOut = self._call("POST", "/v1/deployments/rollback", DeploymentOut, json={"reason": reason})
        return result

    # -- operations (no key needed) --------------------------------------------------------------------------

    def ready(self) -> Readiness:
        response = self._http.get("/readyz")
        return Readiness.model_validate_json(response.content)
