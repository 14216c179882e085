"""Errors of the audit trail. Verification findings are not errors: :func:`verify` reports them."""

from __future__ import annotations

from monitoring.errors import MonitoringError


class AuditError(MonitoringError):
    """The audit trail cannot do what was asked (the message says why and what to do)."""


class AuditStoreError(AuditError):
    """The audit database is unreachable, of an unknown kind, or not an audit database."""


class AuditKeyError(AuditError):
    """The audit signing key or a public key is malformed; ``fraud audit public-key`` shows the configured one."""


class UnknownRecordError(AuditError):
    """No audit record by that sequence number or identifier."""


class ExportError(AuditError):
    """An export cannot be written: an unknown format, an existing output folder, a bad filter."""


class BundleError(AuditError):
    """A bundle cannot be read at all (no manifest, no signature); a readable bundle that fails its checks is
    reported by ``verify_bundle`` instead."""


class RetentionError(AuditError):
    """Retention cannot run: an archive segment cannot be written or read back identical."""
