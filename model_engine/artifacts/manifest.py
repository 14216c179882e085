"""The artifact manifest: the SHA-256 and size of every file, and one content id over them all.

Verification recomputes everything from the bytes on disk and refuses any difference: a changed, truncated,
missing or extra file, or a manifest that does not match itself.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from model_engine.errors import ArtifactError, TamperedArtifactError

MANIFEST = "manifest.json"
FORMAT = "model-engine-artifact"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # version 1: written before explanation graphs; it never holds OPTIONAL_FILES
FILES = ("graph.json", "weights.npz", "signature.json", "metadata.json", "golden.npz")
OPTIONAL_FILES = ("explanation.json", "explanation.npz")  # the explanation graph, when the model has one


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_id(files: dict[str, dict[str, Any]]) -> str:
    """One id for the whole artifact: SHA-256 of the canonical JSON of the per-file digests."""
    canonical = json.dumps(files, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def write_manifest(directory: Path) -> str:
    """Hash the artifact files, write ``manifest.json`` and return the content id."""
    names = [*FILES, *(name for name in OPTIONAL_FILES if (directory / name).is_file())]
    files = {name: {"sha256": sha256_file(directory / name), "bytes": (directory / name).stat().st_size}
             for name in names}  # fmt: skip
    cid = content_id(files)
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "files": files, "content_id": cid}
    (directory / MANIFEST).write_bytes(_canonical(doc))
    return cid


def _canonical(doc: Any) -> bytes:
    """The one byte form of a manifest; verification demands it, so no byte of the manifest can change unseen."""
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


def verify_manifest(directory: Path) -> str:
    """Check every file against the manifest; return the content id or raise :class:`TamperedArtifactError`."""
    if not directory.is_dir():
        raise ArtifactError(f"{directory} is not an artifact directory (it does not exist or is a file)")
    path = directory / MANIFEST
    if not path.is_file():
        raise TamperedArtifactError(f"{directory} has no {MANIFEST}; it is not a complete artifact")
    raw = path.read_bytes()
    try:
        doc = json.loads(raw)
        files: dict[str, dict[str, Any]] = doc["files"]
        recorded = str(doc["content_id"])
        if doc["format"] != FORMAT or doc["format_version"] not in READABLE_VERSIONS:
            raise TamperedArtifactError(f"{path}: unsupported format {doc['format']!r} v{doc['format_version']!r}")
        if not all(isinstance(entry, dict) for entry in files.values()):
            raise TypeError("every file entry must be an object with 'sha256' and 'bytes'")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TamperedArtifactError(f"{path} is unreadable or incomplete ({exc!r}); the artifact is damaged") from exc
    if raw != _canonical(doc):
        # whitespace, key order or escapes changed: JSON that parses the same is still not the bytes written
        raise TamperedArtifactError(f"{path} is not byte for byte the manifest that was written: it was modified")
    allowed = set(FILES) | (set(OPTIONAL_FILES) if doc["format_version"] >= 2 else set())
    if not set(FILES) <= set(files) <= allowed:
        optional = sorted(allowed - set(FILES))
        raise TamperedArtifactError(
            f"{path} lists {sorted(files)}; an artifact holds {sorted(FILES)} and may hold {optional}"
        )
    present = {p.name for p in directory.iterdir()} - {MANIFEST}
    if present != set(files):
        extra, missing = sorted(present - set(files)), sorted(set(files) - present)
        raise TamperedArtifactError(f"{directory}: unexpected files {extra}, missing files {missing}")
    for name in files:
        entry = files[name]
        actual = directory / name
        size = actual.stat().st_size
        if size != entry.get("bytes"):
            raise TamperedArtifactError(
                f"{actual} has {size} bytes, the manifest says {entry.get('bytes')} (truncated?)"
            )
        if sha256_file(actual) != entry.get("sha256"):
            raise TamperedArtifactError(f"{actual} does not match its SHA-256 in the manifest: it was modified")
    if content_id(files) != recorded:
        raise TamperedArtifactError(f"{path}: the content id does not match the file digests; the manifest was edited")
    return recorded
