"""Audit test support: realistic events of every kind, the test signing key, and a log on a clock the test sets.

The events carry what the scoring service and the worker will send: a decision with the 28 model inputs of the
baseline feature set, reason codes and rules; API accesses; registry, configuration and alert actions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitoring.audit import (
    AccessEvent,
    AlertActionEvent,
    AuditEvent,
    AuditLog,
    DecisionConfigEvent,
    DecisionEvent,
    DeploymentEvent,
    GateVerdictEvent,
    Reason,
    RegistrationEvent,
    Signer,
)

SIGNING_KEY_HEX = "5e" * 32
SIGNER = Signer.from_hex(SIGNING_KEY_HEX)
MODEL = "sha256:" + "ab" * 32
FEATURE_NAMES = (
    "amount",
    "is_weekend",
    "is_night",
    "card_count_1d",
    "card_mean_amount_1d",
    "card_count_7d",
    "card_mean_amount_7d",
    "card_count_30d",
    "card_mean_amount_30d",
    "terminal_count_1d_lag7d",
    "terminal_fraud_share_1d_lag7d",
    "terminal_count_7d_lag7d",
    "terminal_fraud_share_7d_lag7d",
    "terminal_count_30d_lag7d",
    "terminal_fraud_share_30d_lag7d",
    "card_count_10m",
    "card_sum_amount_10m",
    "card_count_1h",
    "card_sum_amount_1h",
    "card_sum_amount_1d",
    "card_amount_ratio_30d",
    "card_amount_zscore_30d",
    "card_seconds_since_previous_30d",
    "card_terminal_is_new_30d",
    "card_country_is_new_30d",
    "terminal_count_1h",
    "terminal_count_1d",
    "terminal_mean_amount_1d",
)


class Clock:
    """A settable clock for the log (the one process edge these tests control)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def open_log(url: str, archive_dir: Path, clock: Clock | None = None) -> AuditLog:
    if clock is None:
        return AuditLog(url, SIGNER, archive_dir=archive_dir)
    return AuditLog(url, SIGNER, archive_dir=archive_dir, clock=clock)


def decision(i: int, *, card_token: str | None = None, **fields: object) -> DecisionEvent:
    features = {name: (i % 7) * 0.37 + k / 3 if k % 3 else float(i % 5 + k) for k, name in enumerate(FEATURE_NAMES)}
    values: dict[str, object] = {
        "decision_id": f"dec-{i:08d}",
        "transaction_id": f"tx-{i:08d}",
        "card_token": card_token or token(i % 97),
        "input": {
            "transaction_id": f"tx-{i:08d}",
            "timestamp": "2026-03-01T10:00:00.123456+00:00",
            "customer_id": f"C-{i % 1000}",
            "terminal_id": f"T-{i % 300}",
            "amount": 12.5 + i % 100,
            "currency": "EUR",
            "mcc": "5411",
            "channel": "ecom",
            "entry_mode": "keyed",
            "country": "FR",
            "device_id": "",
        },
        "features": features,
        "model_content_id": MODEL,
        "decision_config_version": "cfg-3",
        "score": 0.91234567891234 - (i % 10) / 100,
        "decision": "review" if i % 3 else "decline",
        "reasons": tuple(
            Reason(
                code=f"R{k}", feature=FEATURE_NAMES[k], contribution=0.123456789 / (k + 1), text="pushed the score up"
            )
            for k in range(3)
        ),
        "rules": ("amount_over_limit",) if i % 4 == 0 else (),
        "card_display": "497010******0014",
    }
    values.update(fields)
    return DecisionEvent(**values)  # type: ignore[arg-type]


def token(card: int) -> str:
    """A card token shaped like the tokenizer's (``tok_`` and 32 hex digits)."""
    return "tok_" + hashlib.sha256(f"card-{card}".encode()).hexdigest()[:32]


def access(i: int, *, success: bool = True) -> AccessEvent:
    return AccessEvent(
        key_id=f"key_{i % 5}",
        role="scorer",
        event_type="score",
        success=success,
        origin=f"10.0.{i % 4}.{i % 250}",
        resource="POST /v1/score",
        status=200 if success else 403,
        detail=None if success else "wrong role",
    )


def every_kind(i: int) -> list[AuditEvent]:
    """One event of each kind a service sends (retention events are the log's own)."""
    return [
        decision(i),
        access(i),
        RegistrationEvent(actor="ml-engineer", reason="weekly retrain", ticket="CHG-1", content_id=MODEL),
        GateVerdictEvent(actor="gate", content_id=MODEL, blessed=True),
        DeploymentEvent(
            actor="ml-engineer",
            reason="better AP",
            ticket="CHG-2",
            action="promote",
            alias="champion",
            content_id=MODEL,
        ),
        DecisionConfigEvent(
            actor="risk-officer",
            ticket="CHG-3",
            config_version="cfg-3",
            action="activated",
            configuration={"thresholds": {"review": 0.5, "decline": 0.9}, "rules": ["allow_list", "deny_list"]},
            previous_version="cfg-2",
        ),
        AlertActionEvent(
            actor="analyst-1",
            alert_id=f"alert-{i}",
            action="acknowledged",
            state="acknowledged",
            previous_state="open",
            note="looking",
        ),
    ]


def decisions(count: int, start: int = 0) -> Iterator[DecisionEvent]:
    return (decision(i) for i in range(start, start + count))


def march(day: int = 1) -> datetime:
    return datetime(2026, 3, day, 12, 0, tzinfo=UTC)
