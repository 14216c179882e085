"""Signed bundles: a folder of files and a manifest of their hashes, signed with the audit key (Ed25519).

An audit export and a model's evidence are both bundles. ``manifest.json`` lists every file (relative path,
SHA-256, size) and what the bundle holds; ``manifest.sig`` is the Ed25519 signature of the manifest's exact
bytes. :func:`verify_bundle` checks a bundle on its own, without the database: the signature against a public
key the examiner trusts, every file against the manifest, no file added, and for an audit export every record
against its own hash, their order and links, and the counts, range and chain hashes the manifest states.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast

import orjson

from monitoring.audit.chain import ChainCheck
from monitoring.audit.errors import AuditError, BundleError, ExportError
from monitoring.audit.formats import FORMATS, Format, file_name, read_records
from monitoring.audit.signing import Signer, key_id, verify_signature

MANIFEST: Final = "manifest.json"
SIGNATURE: Final = "manifest.sig"
EXPORT_FORMAT: Final = "fraud-audit-export/1"
EVIDENCE_FORMAT: Final = "fraud-model-evidence/1"


@contextmanager
def new_bundle_folder(out: Path) -> Iterator[Path]:
    """A temporary folder beside ``out`` that becomes ``out`` when the block succeeds (never half a bundle; an
    existing, non-empty ``out`` is refused rather than overwritten)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} already exists and is not an empty folder; choose a new output folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{uuid.uuid4().hex}.partial")
    partial.mkdir()
    try:
        yield partial
        if out.exists():
            out.rmdir()
        partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def describe_files(folder: Path) -> dict[str, dict[str, Any]]:
    """Every file under ``folder`` (but the manifest and signature): relative path -> SHA-256 and size."""
    from lifecycle.registry.signing import file_sha256  # lazily: the registry package's imports are heavy

    listed: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name not in (MANIFEST, SIGNATURE):
            listed[name] = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
    return listed


def sign_bundle(folder: Path, manifest: Mapping[str, Any], signer: Signer) -> dict[str, Any]:
    """Add the file list and the signer's public key to ``manifest``, write it and its signature; the manifest."""
    document = {
        **manifest,
        "files": describe_files(folder),
        "public_key": signer.public_key_hex,
        "key_id": signer.key_id,
    }
    data = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    (folder / MANIFEST).write_bytes(data)
    (folder / SIGNATURE).write_text(signer.sign(data) + "\n")
    for path in (folder / MANIFEST, folder / SIGNATURE):
        with path.open("rb") as stream:
            os.fsync(stream.fileno())
    return document


@dataclass(frozen=True)
class BundleReport:
    """What checking a bundle found (nothing: it is exactly what was signed)."""

    folder: Path
    kind: str
    files: int
    records: int
    findings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        what = f"{self.kind}, {self.files} files" + (f", {self.records} records" if self.records else "")
        return f"verified: {what}" if self.ok else f"NOT VERIFIED: {len(self.findings)} findings ({what})"


def verify_bundle(folder: Path, public_key_hex: str) -> BundleReport:
    """Check a bundle with nothing but its files and the public key trusted for its signer."""
    manifest_path, signature_path = folder / MANIFEST, folder / SIGNATURE
    if not manifest_path.is_file() or not signature_path.is_file():
        raise BundleError(f"{folder} is not a bundle: it needs {MANIFEST} and {SIGNATURE}")
    data = manifest_path.read_bytes()
    findings: list[str] = []
    if not verify_signature(public_key_hex, data, signature_path.read_text().strip()):
        findings.append(
            f"the manifest's signature does not verify with the trusted key {key_id(public_key_hex)}: the manifest "
            "was altered, or signed by another key"
        )
    try:
        manifest = orjson.loads(data)
        listed = cast(dict[str, dict[str, Any]], manifest["files"])
    except (orjson.JSONDecodeError, KeyError, TypeError) as error:
        raise BundleError(f"{manifest_path} is not a bundle manifest: {error}") from None
    findings += _check_files(folder, listed)
    records = 0
    if manifest.get("format") == EXPORT_FORMAT:
        for fmt in FORMATS:
            if file_name(fmt) in listed and (folder / file_name(fmt)).is_file():
                count, problems = _check_records(folder / file_name(fmt), fmt, manifest)
                records = max(records, count)
                findings += problems
    return BundleReport(folder, str(manifest.get("format", "unknown")), len(listed), records, tuple(findings))


def _check_files(folder: Path, listed: dict[str, dict[str, Any]]) -> list[str]:
    from lifecycle.registry.signing import file_sha256  # lazily: the registry package's imports are heavy

    findings = []
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {MANIFEST, SIGNATURE}
    for name in sorted(present - set(listed)):
        findings.append(f"{name} is not listed in the manifest: it was added after signing")
    for name, expected in sorted(listed.items()):
        path = folder / name
        if name not in present:
            findings.append(f"{name} is listed in the manifest but missing")
        elif file_sha256(path) != expected.get("sha256") or path.stat().st_size != expected.get("bytes"):
            findings.append(f"{name} differs from the file signed (SHA-256 or size): it was modified")
    return findings


def _check_records(path: Path, fmt: Format, manifest: Mapping[str, Any]) -> tuple[int, list[str]]:
    """Each record against its hash, their order and links where consecutive, and the manifest's figures."""
    check = ChainCheck()
    kinds: Counter[str] = Counter()
    first = last = None
    digest = RecordsDigest()
    contiguous = _unfiltered(manifest)
    try:
        for record in read_records(path, fmt):
            if first is None:
                first = record
                check.restart(record.prev_hash, record.seq)
            elif record.seq > check.next_seq and not contiguous:
                # A filtered export skips records: the chain goes on from the next record present.
                check.restart(record.prev_hash, record.seq)
            check.feed(record, path.name)
            kinds[record.kind] += 1
            digest.add(record.hash)
            last = record
    except AuditError as error:
        check.report(None, path.name, f"{path.name} cannot be read to its end: {error}")
    problems = [str(f) for f in check.findings]
    chain = manifest.get("chain", {})
    stated = {
        "records": manifest.get("records"),
        "kinds": manifest.get("kinds"),
        "first record hash": chain.get("first_record_hash"),
        "last record hash": chain.get("last_record_hash"),
        "records digest": chain.get("records_digest"),
    }
    found = {
        "records": check.records,
        "kinds": dict(kinds),
        "first record hash": None if first is None else first.hash,
        "last record hash": None if last is None else last.hash,
        "records digest": digest.hexdigest(),
    }
    for name, value in stated.items():
        if found[name] != value:
            problems.append(
                f"{path.name}: the {name} ({_short(found[name])}) differs from the manifest's ({_short(value)})"
            )
    return check.records, problems


def _unfiltered(manifest: Mapping[str, Any]) -> bool:
    """Whether the export holds every record of its range (then a gap in it is a deletion)."""
    chosen = manifest.get("filter", {})
    return not any(chosen.get(name) for name in ("kinds", "actor", "subject", "card_token"))


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


class RecordsDigest:
    """SHA-256 over the records' hashes in order: names exactly which records an export holds, in any format."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()

    def add(self, record_hash: str) -> None:
        self._digest.update(record_hash.encode("ascii"))

    def hexdigest(self) -> str:
        return self._digest.hexdigest()
