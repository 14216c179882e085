"""Replaying a recorded decision: the recorded model input, re-scored by the recorded model version on the
recorded backend, decided by the recorded decision configuration, compared with what was recorded.

The model comes from the registry by its content id (the artifact's files are checked against their manifest
as they load); the configuration's document from the audit trail's :class:`~monitoring.audit.DecisionConfigEvent`
of that version (version 0 is the built-in default), checked against the service database's copy when one is
given; the model's own default thresholds from its lineage, as when it served. The engine scores a row the same,
bit for bit, alone or in any batch (:mod:`model_engine.ops.linalg`), so the replayed score must equal the
recorded one exactly, and the outcome, the rules that fired and the reason codes with it.

>>> # replayer = Replayer(registry, config_of=lambda v: recorded_config(log, v))
>>> # replay = replayer.replay(log.decision(decision_id)); replay.identical, replay.differences
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from features import FeatureSet, default_feature_set
from lifecycle.registry.registry import ModelRegistry
from model_engine import CompiledModel, load_model
from monitoring.audit.errors import UnknownRecordError
from monitoring.audit.events import DecisionConfigEvent, DecisionEvent, Reason
from monitoring.audit.log import AuditLog
from scoring_api.decisions.config import DecisionConfig
from scoring_api.decisions.policy import DecisionInputs, DecisionPolicy
from scoring_api.decisions.reasons import ReasonWriter, audit_reasons
from scoring_api.decisions.store import DEFAULT_VERSION
from scoring_api.deployments.served import model_thresholds
from scoring_api.errors import ReplayError

#: Loaded models kept for further replays (content id and backend).
_CACHED_MODELS: Final = 4


def recorded_config(log: AuditLog, version: int) -> DecisionConfig | None:
    """The configuration document the audit trail recorded for ``version`` (None when it recorded none); the
    built-in default for version 0."""
    if version == DEFAULT_VERSION:
        return DecisionConfig()
    records = log.find(str(version), "decision_config")
    if not records:
        return None
    event = records[-1].event()
    assert isinstance(event, DecisionConfigEvent)
    return DecisionConfig.model_validate(dict(event.configuration))


@dataclass(frozen=True)
class Replay:
    """A recorded decision beside its replay, and every way they differ (none: identical)."""

    recorded: DecisionEvent
    score: float
    decision: str
    rules: tuple[str, ...]
    reasons: tuple[Reason, ...]
    differences: tuple[str, ...]

    @property
    def identical(self) -> bool:
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        recorded = self.recorded
        return {
            "decision_id": recorded.decision_id,
            "transaction_id": recorded.transaction_id,
            "model_content_id": recorded.model_content_id,
            "decision_config_version": recorded.decision_config_version,
            "backend": recorded.backend,
            "identical": self.identical,
            "differences": list(self.differences),
            "recorded": _outcome(recorded.score, recorded.decision, recorded.rules, recorded.reasons),
            "replayed": _outcome(self.score, self.decision, self.rules, self.reasons),
        }


def _outcome(score: float, decision: str, rules: tuple[str, ...], reasons: tuple[Reason, ...]) -> dict[str, Any]:
    return {
        "score": score,
        "score_hex": float(score).hex(),
        "decision": decision,
        "rules": list(rules),
        "reasons": [{"feature": r.feature, "contribution": r.contribution, "text": r.text} for r in reasons],
    }


def _same_number(a: float, b: float) -> bool:
    return np.float64(a).tobytes() == np.float64(b).tobytes()


class Replayer:
    """Replays recorded decisions against a registry and a source of configuration documents (see the module).

    ``config_of(version)`` gives the recorded document of a version (None when unknown); ``stored_config_of``,
    when given, the service database's copy, which must be the same."""

    def __init__(
        self,
        registry: ModelRegistry,
        config_of: Callable[[int], DecisionConfig | None],
        *,
        stored_config_of: Callable[[int], DecisionConfig | None] | None = None,
        feature_set: FeatureSet | None = None,
    ) -> None:
        self.registry = registry
        self.reasons = ReasonWriter(feature_set or default_feature_set())
        self.config_of = config_of
        self.stored_config_of = stored_config_of
        self._models: OrderedDict[tuple[str, str], CompiledModel] = OrderedDict()
        self._lock = threading.Lock()

    def replay_recorded(self, log: AuditLog, decision_id: str) -> Replay:
        """Replay the decision ``decision_id`` as the audit trail holds it; a record whose content no longer gives
        its hash (altered after it was written) is reported among the differences, whatever the replay gives."""
        records = log.find(decision_id, "decision")
        if not records:
            raise UnknownRecordError(f"no decision {decision_id!r} in the audit trail")
        record = records[-1]
        event = record.event()
        assert isinstance(event, DecisionEvent)
        replay = self.replay(event)
        if record.intact():
            return replay
        altered = (
            f"audit record {record.seq} was altered after it was written: its content no longer gives its hash "
            "(fraud audit verify locates every change)"
        )
        return dataclasses.replace(replay, differences=(altered, *replay.differences))

    def replay(self, recorded: DecisionEvent) -> Replay:
        differences: list[str] = []
        version = self.registry.get(recorded.model_content_id)
        model = self._model(recorded.model_content_id, recorded.backend, version.artifact_path)
        names = tuple(recorded.features)
        row = np.asarray([[recorded.features[name] for name in names]], dtype=np.float32)
        score = float(np.asarray(model.score(row, names=names), dtype=np.float32)[0])
        config = self._config(int(recorded.decision_config_version), differences)
        policy = DecisionPolicy(int(recorded.decision_config_version), config)
        fields = recorded.input
        inputs = DecisionInputs.of_columns(
            **{
                column: [str(fields[column])]
                for column in ("card_token", "customer_id", "terminal_id", "device_id", "country", "channel", "mcc")
                if column in fields and fields[column] is not None
            },
            amount=[float(fields["amount"] or 0.0)],
        )
        (verdict,) = policy.decide(inputs, np.asarray([score], dtype=np.float32), [model_thresholds(version)])
        reasons: tuple[Reason, ...] = ()
        if (recorded.reasons or verdict.outcome.value != "approve") and model.explanation is not None:
            contributions = model.explain(row, names=names)
            reasons = audit_reasons(self.reasons.reasons(contributions, 0, row[0]))
        if not _same_number(score, recorded.score):
            differences.append(f"score {score!r} ({score.hex()}) differs from the recorded {recorded.score!r}")
        if verdict.outcome.value != recorded.decision:
            differences.append(f"decision {verdict.outcome.value} differs from the recorded {recorded.decision}")
        if verdict.rules_fired != tuple(recorded.rules):
            differences.append(f"rules {list(verdict.rules_fired)} differ from the recorded {list(recorded.rules)}")
        if not _same_reasons(reasons, recorded.reasons):
            differences.append("the reason codes differ from the recorded ones")
        return Replay(recorded, score, verdict.outcome.value, verdict.rules_fired, reasons, tuple(differences))

    def _config(self, version: int, differences: list[str]) -> DecisionConfig:
        config = self.config_of(version)
        stored = None if self.stored_config_of is None else self.stored_config_of(version)
        if config is None and stored is None:
            raise ReplayError(
                f"no decision configuration version {version} is recorded in the audit trail or the service "
                "database: the decision cannot be replayed"
            )
        if config is None:
            differences.append(f"configuration version {version} is not in the audit trail (the service's copy used)")
            assert stored is not None
            return stored
        if stored is not None and stored != config:
            differences.append(f"the service database's configuration version {version} differs from the recorded one")
        return config

    def _model(self, content_id: str, backend: str, path: Any) -> CompiledModel:
        key = (content_id, backend)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
        model = load_model(path, backend=backend)
        if model.metadata.get("content_id") != content_id:
            raise ReplayError(f"the registry's files for {content_id} load as another model: they were altered")
        with self._lock:
            self._models[key] = model
            while len(self._models) > _CACHED_MODELS:
                self._models.popitem(last=False)
        return model


def _same_reasons(a: tuple[Reason, ...], b: tuple[Reason, ...]) -> bool:
    """The same inputs, in the same order, with the same contributions bit for bit (the sentences are words built
    from the catalogue's descriptions: a rewording is not a different decision)."""
    return len(a) == len(b) and all(
        x.feature == y.feature and _same_number(x.contribution, y.contribution) for x, y in zip(a, b, strict=True)
    )
