"""A model's evidence as a signed bundle: what an examiner needs to see why a model was trusted.

The bundle holds the model's record (content id, name, who registered it and when, whether it is blessed, its
aliases), its lineage, the gate's verdict, its promotion history, the artifact's manifest of file hashes (so
the evidence names the exact files that serve) and every evidence file the registry keeps with it (evaluation
report and figures, plots, data validation report), each checked against its content hash as it is copied.
The manifest is signed with the audit key like an audit export, and ``fraud audit verify-bundle`` checks it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson

from lifecycle.records import to_document
from lifecycle.registry.registry import ModelRegistry
from monitoring.audit.bundle import EVIDENCE_FORMAT, new_bundle_folder, sign_bundle
from monitoring.audit.card_numbers import mask_text
from monitoring.audit.events import utc_now
from monitoring.audit.records import format_time
from monitoring.audit.signing import Signer

#: The artifact's own description files copied into the bundle (its weights stay in the registry).
_ARTIFACT_FILES = ("manifest.json", "metadata.json", "signature.json")


def export_evidence(registry: ModelRegistry, ref: str, out: Path, *, signer: Signer, actor: str) -> dict[str, Any]:
    """Write the evidence bundle of model ``ref`` (content id, prefix or alias) to the new folder ``out``;
    returns the signed manifest."""
    version = registry.get(ref)
    history = [h for h in registry.alias_history() if version.content_id in (h["content_id"], h["previous_content_id"])]
    items = registry.evidence(version.content_id)
    with new_bundle_folder(out) as folder:
        model = {
            **version.summary(),
            "registered_by": version.registered_by,
            "verdict_signature_hmac": version.verdict_signature,
        }
        _write_json(folder / "model.json", model)
        _write_json(folder / "lineage.json", to_document(version.lineage))
        _write_json(folder / "verdict.json", None if version.verdict is None else to_document(version.verdict))
        _write_json(folder / "history.json", history)
        for name in _ARTIFACT_FILES:
            source = version.artifact_path / name
            if source.is_file():
                (folder / "artifact").mkdir(exist_ok=True)
                shutil.copyfile(source, folder / "artifact" / name)
        for item in items:
            target = folder / "evidence" / item.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(registry.evidence_path(item), target)
        manifest = {
            "format": EVIDENCE_FORMAT,
            "created_at": format_time(utc_now()),
            "created_by": mask_text(actor),  # typed by a person: a pasted card number is masked
            "content_id": version.content_id,
            "name": version.name,
            "blessed": version.blessed,
            "evidence": {item.name: item.sha256 for item in items},
        }
        return sign_bundle(folder, manifest, signer)


def _write_json(path: Path, document: Any) -> None:
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
