"""Converters from fitted scikit-learn estimators to graphs: one module per family, one catalogue."""

from __future__ import annotations

__all__: list[str] = []
