"""The graph model engine: fitted scikit-learn pipelines compiled into typed graphs, optimised and run."""

from __future__ import annotations

__all__: list[str] = []
