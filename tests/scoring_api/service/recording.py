"""A sink that keeps every event, for tests that check what the service reported."""

from __future__ import annotations

from scoring_api.sinks import AccessEvent, BatchScored, DecisionConfigChanged, DeploymentChanged


class RecordingSink:
    def __init__(self) -> None:
        self.batches: list[BatchScored] = []
        self.deployments: list[DeploymentChanged] = []
        self.configs: list[DecisionConfigChanged] = []
        self.accesses: list[AccessEvent] = []

    def batch_scored(self, event: BatchScored) -> None:
        self.batches.append(event)

    def deployment_changed(self, event: DeploymentChanged) -> None:
        self.deployments.append(event)

    def decision_config_changed(self, event: DecisionConfigChanged) -> None:
        self.configs.append(event)

    def access(self, event: AccessEvent) -> None:
        self.accesses.append(event)
