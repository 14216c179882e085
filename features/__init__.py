"""Features: declared once, computed offline (pandas, point in time) and online (incremental state)."""

from __future__ import annotations

__all__: list[str] = []
