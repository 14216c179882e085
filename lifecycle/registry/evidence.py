"""Model evidence: the files that show why a model was trusted (its evaluation report and plots, the data
validation report), kept with it in the registry's store so that the next training run cannot overwrite them.

Files are stored once by content (``evidence/sha256/<digest>`` under the store, so the data docs' identical
style sheets are kept once for every model) and named per model by a relative POSIX path (``report.html``,
``plots/roc.png``, ``validation/index.html``): links between the files keep working when they are exported,
and nothing refers to a path on the machine that wrote them.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lifecycle.registry.errors import RegistryError
from lifecycle.registry.signing import file_sha256


@dataclass(frozen=True)
class EvidenceFile:
    """One evidence file of a model: its name (relative path), content digest and size."""

    name: str
    sha256: str
    size: int


def evidence_files(folder: Path, prefix: str = "") -> dict[str, Path]:
    """Every file under ``folder`` by its relative POSIX name (``prefix/`` before it when given)."""
    if not folder.is_dir():
        raise RegistryError(f"evidence folder {folder} does not exist")
    lead = f"{prefix.strip('/')}/" if prefix else ""
    return {lead + p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def check_name(name: str) -> str:
    """``name`` if it is a relative POSIX path inside the evidence (no ``..``, no leading ``/``), else an error."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name or str(path) != name:
        raise RegistryError(f"evidence names are relative paths such as plots/roc.png, not {name!r}")
    return name


class EvidenceStore:
    """Content-addressed files under ``root`` (the registry's store): put a file, get its digest back."""

    def __init__(self, root: Path) -> None:
        self._root = root / "evidence" / "sha256"

    def put(self, source: Path) -> EvidenceFile:
        """Store ``source`` by its SHA-256 (copied under a temporary name, then renamed: never half-written)."""
        digest = file_sha256(source)
        target = self._root / digest
        if not target.exists():
            self._root.mkdir(parents=True, exist_ok=True)
            partial = self._root / f".{digest}.{uuid.uuid4().hex}.partial"
            shutil.copyfile(source, partial)
            partial.replace(target)
        return EvidenceFile(name=source.name, sha256=digest, size=target.stat().st_size)

    def path(self, sha256: str) -> Path:
        """Where the file with this digest is kept (verified: a file whose bytes changed is refused)."""
        target = self._root / sha256
        if not target.is_file():
            raise RegistryError(f"evidence file {sha256} is missing from the store {self._root}")
        if file_sha256(target) != sha256:
            raise RegistryError(f"evidence file {sha256} in {self._root} was altered: its content no longer matches")
        return target

    def put_all(self, files: Mapping[str, Path]) -> list[EvidenceFile]:
        """Store every file under its name, after checking every name and that every file exists."""
        for name, source in files.items():
            check_name(name)
            if not source.is_file():
                raise RegistryError(f"evidence file {source} (for {name}) does not exist")
        return [EvidenceFile(name, *self._stored(source)) for name, source in files.items()]

    def _stored(self, source: Path) -> tuple[str, int]:
        stored = self.put(source)
        return stored.sha256, stored.size
