"""Model artifacts: a verified directory of plain data (graph, weights, signature, metadata, golden batch)."""

from __future__ import annotations

from model_engine.artifacts.manifest import FILES, MANIFEST, verify_manifest
from model_engine.artifacts.store import load_model, save_model

__all__ = ["FILES", "MANIFEST", "load_model", "save_model", "verify_manifest"]
