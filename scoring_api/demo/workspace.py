"""The demo's workspace: one new folder per run holding every store the system keeps, and the environment that
names them, so that the commands a user runs afterwards (``fraud models list``, ``fraud alerts list``, ``fraud
audit verify``...) look at what the demo made.

The folder holds the model registry and its artifacts, the audit trail, the monitoring history and alerts, the
service database (keys, decision configurations, deployments), the warm feature state the service starts from,
the simulated data, the validation report, the training runs and the exported bundles. ``env.sh`` in it sets the
variables; ``source`` it in a shell to point every ``fraud`` command there (``var/demo/latest`` links to the
newest run folder).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lifecycle.settings import LifecycleSettings
    from monitoring.audit import AuditSettings
    from monitoring.settings import MonitoringSettings

#: The link, beside the run folders, to the newest one: ``source var/demo/latest/env.sh``.
LATEST = "latest"
#: Who the demo's registry changes, alert actions and exports are recorded as.
DEMO_ACTOR = "fraud-demo"


@dataclass(frozen=True)
class DemoWorkspace:
    """The folders and database URLs of one run (every path absolute: the commands work from any folder)."""

    root: Path

    @classmethod
    def create(cls, parent: Path) -> DemoWorkspace:
        """A new run folder under ``parent`` (named by the UTC time; never an existing one)."""
        # ISO 8601 basic form, as training runs are named: "20261205-135515" would read as a card number (14
        # digits grouped by a dash) and be masked wherever the path is recorded, the audit trail among them.
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        parent = parent.resolve()
        parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(100):
            root = parent / (f"run-{stamp}" if attempt == 0 else f"run-{stamp}-{attempt}")
            try:
                root.mkdir()
            except FileExistsError:
                continue
            _point_latest_at(parent / LATEST, root)
            return cls(root)
        raise FileExistsError(f"could not create a new run folder under {parent}")

    @property
    def registry_url(self) -> str:
        return f"sqlite:///{self.root / 'registry' / 'registry.sqlite'}"

    @property
    def model_store(self) -> Path:
        return self.root / "registry" / "models"

    @property
    def audit_url(self) -> str:
        return f"sqlite:///{self.root / 'audit' / 'audit.sqlite'}"

    @property
    def audit_archive(self) -> Path:
        return self.root / "audit" / "archive"

    @property
    def monitoring_url(self) -> str:
        return f"sqlite:///{self.root / 'monitoring' / 'monitoring.sqlite'}"

    @property
    def monitor_state_dir(self) -> Path:
        """The monitors' performance state, kept across the service's restarts."""
        return self.root / "monitoring" / "state"

    @property
    def service_database_url(self) -> str:
        return f"sqlite:///{self.root / 'service' / 'service.sqlite'}"

    @property
    def state_snapshot(self) -> Path:
        """The online feature state warmed on the history, which the service starts from."""
        return self.root / "service" / "feature-state.snapshot"

    @property
    def env_file(self) -> Path:
        return self.root / "env.sh"

    def path(self, *parts: str) -> Path:
        """A path inside the run folder (its parent created)."""
        target = self.root.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def environment(self) -> dict[str, str]:
        """The variables that point the ``fraud`` commands and the service at this run's stores."""
        for folder in ("registry", "audit", "monitoring", "service"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        return {
            "FRAUD_REGISTRY_URL": self.registry_url,
            "FRAUD_MODEL_STORE": str(self.model_store),
            "FRAUD_AUDIT_URL": self.audit_url,
            "FRAUD_AUDIT_ARCHIVE_DIR": str(self.audit_archive),
            "FRAUD_MONITORING_URL": self.monitoring_url,
            "FRAUD_MONITOR_STATE_DIR": str(self.monitor_state_dir),
            "FRAUD_SCORING_DATABASE_URL": self.service_database_url,
            "FRAUD_STATE_SNAPSHOT_PATH": str(self.state_snapshot),
            "FRAUD_ACTOR": DEMO_ACTOR,
        }

    def write_env_file(self) -> Path:
        """``env.sh``: ``export`` lines for :meth:`environment`, to ``source`` in a shell."""
        lines = ["# Point the fraud commands at this demo run's stores: source this file in a shell."]
        lines += [f"export {name}={shlex.quote(value)}" for name, value in self.environment().items()]
        self.env_file.write_text("\n".join(lines) + "\n")
        return self.env_file

    def lifecycle_settings(self) -> LifecycleSettings:
        from lifecycle.settings import LifecycleSettings

        return LifecycleSettings(registry_url=self.registry_url, model_store=self.model_store, actor=DEMO_ACTOR)

    def audit_settings(self) -> AuditSettings:
        from monitoring.audit import AuditSettings

        return AuditSettings(audit_url=self.audit_url, audit_archive_dir=self.audit_archive)

    def monitoring_settings(self) -> MonitoringSettings:
        from monitoring.settings import MonitoringSettings

        return MonitoringSettings(monitoring_url=self.monitoring_url, monitor_state_dir=self.monitor_state_dir)


def _point_latest_at(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` (a relative symbolic link, replaced in one step)."""
    import os

    staging = link.with_name(f".{link.name}.{os.getpid()}")
    staging.unlink(missing_ok=True)
    staging.symlink_to(target.name)
    os.replace(staging, link)
