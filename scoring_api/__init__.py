"""The scoring service: scoring, decisions and reasons, gated deployments, roles, and the `fraud` CLI."""

from __future__ import annotations

__all__: list[str] = []
