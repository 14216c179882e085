"""What the scoring service's tests share: a simulated history and the day after it, models trained on the
feature set's model input (a linear model and two forests), registered with complete lineage and blessed, and a
scorer built from them the way the service builds one."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from features import (
    FeatureSet,
    ModelInput,
    OfflineFeatureEngine,
    OnlineFeatureEngine,
    TimeFlag,
    default_feature_set,
    model_input,
    model_input_names,
)
from ingest.contract import TRANSACTION_COLUMNS, Transaction
from ingest.simulator import SimulatorConfig, simulate
from lifecycle.evaluation import EvaluationConfig, evaluate
from lifecycle.evaluation.metrics import alert_threshold
from lifecycle.reference import build_reference_profile
from lifecycle.registry import GateData, Lineage, ModelRegistry
from lifecycle.registry import judge as lifecycle_judge
from lifecycle.registry.gate import GateThresholds
from model_engine import compile_model, load_model, save_model
from scoring_api.deployments import DeploymentManager
from scoring_api.pipeline import FixedPolicy, LabelFeed, Scorer
from scoring_api.pipeline.checks import load_checker
from scoring_api.sinks import DecisionSink
from tests.lifecycle.registry import support as registry_support

HISTORY_DAYS = 10
#: The models the world trains: a linear model (reason codes are its terms) and two forests (TreeSHAP).
MODELS = ("linear", "forest", "forest_b")
#: Share of training transactions above the default review threshold (a high rate so tests see reviews).
ALERT_RATE = 0.05
EVALUATION = EvaluationConfig(k=20, alert_rate=ALERT_RATE)
#: The gate as the registry tests run it (latency budgets no busy machine breaks), without the per-slice checks:
#: the world's small slices say little, and these tests are about serving blessed models, not judging them.
THRESHOLDS = replace(
    registry_support.THRESHOLDS,
    slice_value={**registry_support.THRESHOLDS.slice_value, "min_frauds": 10**9},
    slice_change={**registry_support.THRESHOLDS.slice_change, "min_frauds": 10**9},
)

#: The linear model is promoted over the forest by the tests that need a linear champion (reason codes, replay);
#: it scores worse than the forest, so it is judged against it with the change checks opened.
ANY_CHANGE = replace(THRESHOLDS, change=dict.fromkeys(THRESHOLDS.change, 1.0))


@dataclass
class World:
    """A simulated history and the next day, the feature set, and the trained model artifacts."""

    feature_set: FeatureSet
    history: pd.DataFrame
    labels: pd.DataFrame
    day: pd.DataFrame
    artifacts: dict[str, Path]
    thresholds: dict[str, float] = field(default_factory=dict)
    #: The template registry (every model registered and blessed, the forest champion), and the content ids.
    registry_root: Path = Path()
    ids: dict[str, str] = field(default_factory=dict)
    X: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))

    def transactions(self, frame: pd.DataFrame) -> list[Transaction]:
        return [Transaction.model_validate(r) for r in frame[list(TRANSACTION_COLUMNS)].to_dict("records")]


def _estimators(seed: int) -> dict[str, Any]:
    return {
        "linear": make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=500)),
        "forest": RandomForestClassifier(n_estimators=20, max_depth=6, random_state=seed, n_jobs=1),
        "forest_b": RandomForestClassifier(n_estimators=15, max_depth=5, random_state=seed + 1, n_jobs=1),
    }


def build_world(root: Path, seed: int = 0) -> World:
    data = simulate(
        SimulatorConfig.preset("realistic", days=HISTORY_DAYS + 1, n_customers=300, n_terminals=600, seed=seed)
    )
    frame, labels = data.transactions, data.labels
    cut = frame["timestamp"].min().normalize() + pd.Timedelta(days=HISTORY_DAYS)
    history = frame.loc[frame["timestamp"] < cut].reset_index(drop=True)
    day = frame.loc[frame["timestamp"] >= cut].reset_index(drop=True)
    feature_set = default_feature_set()
    features = OfflineFeatureEngine(feature_set).compute(history, labels)
    inputs = ModelInput(model_input_names(feature_set), model_input(history, features, feature_set))
    y = history["is_fraud"].to_numpy(dtype=np.int64)
    world = World(feature_set, history, labels, day, {}, X=inputs.values)
    for name, estimator in _estimators(seed).items():
        estimator.fit(inputs.values, y)
        model = compile_model(estimator, list(inputs.names))
        path = root / name
        save_model(model, path, golden_input=inputs.values[:128])
        world.artifacts[name] = path
        world.thresholds[name] = alert_threshold(model.score(inputs.values), ALERT_RATE)
    world.registry_root = root / "template-registry"
    world.ids = _bless_all(world.registry_root, world)
    return world


def lineage(world: World, name: str) -> Lineage:
    """Complete lineage for a world model: the feature set it reads, its evaluation on the history at the alert
    rate (whose threshold becomes its default review threshold), and the history's reference profile (raw
    fields, model inputs, scores) that monitoring compares the served traffic with, built as training does."""
    scores = load_model(world.artifacts[name], backend="numpy").score(world.X)
    names = model_input_names(world.feature_set)
    inputs = pd.DataFrame(world.X, columns=list(names))
    frame = pd.concat([world.history, inputs[[c for c in names if c not in world.history.columns]]], axis=1)
    reference = build_reference_profile(
        frame,
        scores=scores,
        inputs=names,
        labels=world.history["is_fraud"].to_numpy(),
        time_dependent=[f.name for f in world.feature_set.features if isinstance(f, TimeFlag)],
    )
    return registry_support.lineage(
        feature_spec_version=world.feature_set.version,
        feature_names=names,
        family=name,
        metrics=evaluate(scores, world.history, EVALUATION),
        reference=reference.to_dict(),
    )


def judge(
    registry: ModelRegistry,
    content_id: str,
    world: World,
    inputs: np.ndarray | None = None,
    *,
    champion: bool = False,
    thresholds: GateThresholds = THRESHOLDS,
) -> None:
    """The real gate's verdict on a version (judged on the history, latency budgets relaxed), recorded; with
    ``champion``, against the current champion (as a promotion over it requires). ``inputs`` replace the world's
    model input (for models that read other columns)."""
    version = registry.get(content_id)
    X = world.X if inputs is None else inputs
    data = GateData(X, tuple(version.lineage.feature_names), world.history, EVALUATION)
    against = registry.find_alias("champion") if champion else None
    registry.record_verdict(version.content_id, lifecycle_judge(version, against, data, thresholds))


def _bless_all(root: Path, world: World) -> dict[str, str]:
    """Register and judge every model of the world once, with the forest as champion (the template registry): the
    forest first, promoted; forest_b and linear, which tests promote over it, judged against it (as a promotion
    requires)."""
    registry = registry_support.make_registry(root)
    ids: dict[str, str] = {}
    try:
        for name in sorted(world.artifacts, key=lambda name: name != "forest"):
            version = registry.register(world.artifacts[name], name=name, lineage=lineage(world, name))
            thresholds = ANY_CHANGE if name == "linear" else THRESHOLDS
            judge(registry, version.content_id, world, champion=name in ("forest_b", "linear"), thresholds=thresholds)
            ids[name] = version.content_id
            if name == "forest":
                registry.promote(ids["forest"])
    finally:
        registry.close()
    return ids


def serve_environment(root: Path, world: World, port: int) -> dict[str, str]:
    """The environment of a ``fraud serve`` process on 127.0.0.1:``port`` whose stores lie under ``root`` (the
    registry at ``root/registry``, see :func:`blessed_registry`), none inherited from the caller's."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("FRAUD_")},
        "FRAUD_ENVIRONMENT": "test",
        "FRAUD_REGISTRY_URL": f"sqlite:///{root}/registry/registry.sqlite",
        "FRAUD_MODEL_STORE": str(world.registry_root / "store"),
        "FRAUD_MODEL_SIGNING_KEY": registry_support.KEY.get_secret_value(),
        "FRAUD_SCORING_DATABASE_URL": f"sqlite:///{root}/service/service.sqlite",
        "FRAUD_SCORING_HOST": "127.0.0.1",
        "FRAUD_SCORING_PORT": str(port),
        "FRAUD_SCORING_MODEL_BACKEND": "numpy",
        "FRAUD_AUDIT_URL": f"sqlite:///{root}/audit/audit.sqlite",
        "FRAUD_AUDIT_ARCHIVE_DIR": str(root / "audit" / "archive"),
        "FRAUD_MONITORING_URL": f"sqlite:///{root}/monitoring/monitoring.sqlite",
        "FRAUD_MONITOR_STATE_DIR": f"{root}/monitoring/state",
    }


def blessed_registry(root: Path, world: World) -> tuple[ModelRegistry, dict[str, str]]:
    """A fresh registry holding every model of the world, blessed, the forest champion; name -> content id.

    The template is judged once per session; each registry is a copy of its database, over the template's
    model store (whose blessed files no test changes)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(world.registry_root / "registry.sqlite", root / "registry.sqlite")
    registry = ModelRegistry(
        f"sqlite:///{root}/registry.sqlite", world.registry_root / "store", signing_key=registry_support.KEY
    )
    return registry, dict(world.ids)


def warm_engine(world: World) -> tuple[OnlineFeatureEngine, LabelFeed]:
    """The online features after the history, with the labels reported before the next day; the later labels."""
    engine = OnlineFeatureEngine(world.feature_set)
    engine.update_and_read_batch(world.history)
    before = world.labels["reported_at"] < world.day["timestamp"].min().normalize()
    engine.apply_labels(world.labels.loc[before])
    return engine, LabelFeed(world.labels.loc[~before].reset_index(drop=True))


def make_scorer(
    world: World, deployments: DeploymentManager, sink: DecisionSink | None = None, **kwargs: Any
) -> Scorer:
    engine, feed = warm_engine(world)
    return Scorer(
        feature_engine=engine,
        checker=load_checker(),
        models=deployments,
        policies=kwargs.pop("policies", FixedPolicy()),
        labels=feed,
        sink=sink,
        **kwargs,
    )
