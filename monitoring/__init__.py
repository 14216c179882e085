"""Monitoring: drift, delayed-label performance, alerts and their workflow, and the audit trail."""

from __future__ import annotations

__all__: list[str] = []
