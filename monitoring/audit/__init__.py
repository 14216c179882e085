"""The audit trail: every decision, access, model and configuration change, alert action and retention step,
in an append-only, hash-chained log with a signed head; verification that says where it was altered; signed
exports (JSON lines, CSV, Parquet) that verify without the database; model evidence bundles; retention with
compressed, verifiable archive segments.

The scoring service and the stream worker turn their records into :class:`DecisionEvent` and
:class:`AccessEvent` and hand batches to :meth:`AuditLog.append` (or to an :class:`AuditWriter`, which gathers
events from many threads into one append and says when they are committed). :class:`AuditSink` records the
registry's events and the alert workflow's actions. ``docs/audit.md`` describes it all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from monitoring.audit.bundle import BundleReport, verify_bundle
    from monitoring.audit.chain import Finding
    from monitoring.audit.decision_batch import (
        DecisionBatch,
        batch_from_ipc,
        batch_to_ipc,
        decision_batch_events,
        decision_schema,
        encode_decision_batch,
    )
    from monitoring.audit.errors import (
        AuditError,
        AuditKeyError,
        AuditStoreError,
        BundleError,
        ExportError,
        RetentionError,
        UnknownRecordError,
    )
    from monitoring.audit.events import (
        EVENT_TYPES,
        KINDS,
        AccessEvent,
        ActorEvent,
        AlertActionEvent,
        AuditEvent,
        DecisionConfigEvent,
        DecisionEvent,
        DeploymentEvent,
        EvidenceEvent,
        GateVerdictEvent,
        Reason,
        RegistrationEvent,
        RetentionEvent,
    )
    from monitoring.audit.evidence import export_evidence
    from monitoring.audit.export import ExportResult, export_bundle, export_stream
    from monitoring.audit.filters import AuditFilter
    from monitoring.audit.formats import FORMATS, Format
    from monitoring.audit.head import SignedHead
    from monitoring.audit.log import AppendResult, AuditLog
    from monitoring.audit.records import AuditRecord
    from monitoring.audit.retention import RetentionResult, apply_retention
    from monitoring.audit.settings import AuditSettings
    from monitoring.audit.signing import Signer
    from monitoring.audit.sinks import AuditSink
    from monitoring.audit.verify import VerificationReport
    from monitoring.audit.writer import AuditWriter

#: Where each public name lives: imported on first use, so that ``fraud --help`` (which registers the
#: ``fraud audit`` commands) does not pay for the audit trail's imports.
_EXPORTS: dict[str, str] = {
    "BundleReport": "monitoring.audit.bundle",
    "verify_bundle": "monitoring.audit.bundle",
    "Finding": "monitoring.audit.chain",
    "DecisionBatch": "monitoring.audit.decision_batch",
    "batch_from_ipc": "monitoring.audit.decision_batch",
    "batch_to_ipc": "monitoring.audit.decision_batch",
    "decision_batch_events": "monitoring.audit.decision_batch",
    "decision_schema": "monitoring.audit.decision_batch",
    "encode_decision_batch": "monitoring.audit.decision_batch",
    "AuditError": "monitoring.audit.errors",
    "AuditKeyError": "monitoring.audit.errors",
    "AuditStoreError": "monitoring.audit.errors",
    "BundleError": "monitoring.audit.errors",
    "ExportError": "monitoring.audit.errors",
    "RetentionError": "monitoring.audit.errors",
    "UnknownRecordError": "monitoring.audit.errors",
    "EVENT_TYPES": "monitoring.audit.events",
    "KINDS": "monitoring.audit.events",
    "AccessEvent": "monitoring.audit.events",
    "ActorEvent": "monitoring.audit.events",
    "AlertActionEvent": "monitoring.audit.events",
    "AuditEvent": "monitoring.audit.events",
    "DecisionConfigEvent": "monitoring.audit.events",
    "DecisionEvent": "monitoring.audit.events",
    "DeploymentEvent": "monitoring.audit.events",
    "EvidenceEvent": "monitoring.audit.events",
    "GateVerdictEvent": "monitoring.audit.events",
    "Reason": "monitoring.audit.events",
    "RegistrationEvent": "monitoring.audit.events",
    "RetentionEvent": "monitoring.audit.events",
    "export_evidence": "monitoring.audit.evidence",
    "ExportResult": "monitoring.audit.export",
    "export_bundle": "monitoring.audit.export",
    "export_stream": "monitoring.audit.export",
    "AuditFilter": "monitoring.audit.filters",
    "FORMATS": "monitoring.audit.formats",
    "Format": "monitoring.audit.formats",
    "SignedHead": "monitoring.audit.head",
    "AppendResult": "monitoring.audit.log",
    "AuditLog": "monitoring.audit.log",
    "AuditRecord": "monitoring.audit.records",
    "RetentionResult": "monitoring.audit.retention",
    "apply_retention": "monitoring.audit.retention",
    "AuditSettings": "monitoring.audit.settings",
    "Signer": "monitoring.audit.signing",
    "AuditSink": "monitoring.audit.sinks",
    "VerificationReport": "monitoring.audit.verify",
    "AuditWriter": "monitoring.audit.writer",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "EVENT_TYPES",
    "FORMATS",
    "KINDS",
    "AccessEvent",
    "ActorEvent",
    "AlertActionEvent",
    "AppendResult",
    "AuditError",
    "AuditEvent",
    "AuditFilter",
    "AuditKeyError",
    "AuditLog",
    "AuditRecord",
    "AuditSettings",
    "AuditSink",
    "AuditStoreError",
    "AuditWriter",
    "BundleError",
    "BundleReport",
    "DecisionBatch",
    "DecisionConfigEvent",
    "DecisionEvent",
    "DeploymentEvent",
    "EvidenceEvent",
    "ExportError",
    "ExportResult",
    "Finding",
    "Format",
    "GateVerdictEvent",
    "Reason",
    "RegistrationEvent",
    "RetentionError",
    "RetentionEvent",
    "RetentionResult",
    "SignedHead",
    "Signer",
    "UnknownRecordError",
    "VerificationReport",
    "apply_retention",
    "batch_from_ipc",
    "batch_to_ipc",
    "decision_batch_events",
    "decision_schema",
    "encode_decision_batch",
    "export_bundle",
    "export_evidence",
    "export_stream",
    "verify_bundle",
]
