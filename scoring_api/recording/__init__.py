"""Recording and watching what the scorer does, for the scoring service and the stream worker alike: every
decision, access and change in the audit trail (fail closed, group-committed), the served models' monitors,
and the replay of a recorded decision.

Names load on first use, so that ``fraud audit`` (which registers ``fraud audit replay`` from here) does not
pay for the scorer's imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from scoring_api.recording.audit import AuditRecorder
    from scoring_api.recording.monitors import MonitorFeed
    from scoring_api.recording.replay import Replay, Replayer, recorded_config
    from scoring_api.recording.scope import RecordingScope, current_scope, recording_scope
    from scoring_api.recording.services import AuditRecording, open_audit, open_monitoring

_EXPORTS: dict[str, str] = {
    "AuditRecorder": "scoring_api.recording.audit",
    "AuditRecording": "scoring_api.recording.services",
    "MonitorFeed": "scoring_api.recording.monitors",
    "RecordingScope": "scoring_api.recording.scope",
    "Replay": "scoring_api.recording.replay",
    "Replayer": "scoring_api.recording.replay",
    "current_scope": "scoring_api.recording.scope",
    "open_audit": "scoring_api.recording.services",
    "open_monitoring": "scoring_api.recording.services",
    "recorded_config": "scoring_api.recording.replay",
    "recording_scope": "scoring_api.recording.scope",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "AuditRecorder",
    "AuditRecording",
    "MonitorFeed",
    "RecordingScope",
    "Replay",
    "Replayer",
    "current_scope",
    "open_audit",
    "open_monitoring",
    "recorded_config",
    "recording_scope",
]
