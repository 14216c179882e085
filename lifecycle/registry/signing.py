"""Signatures over JSON documents (gate verdicts) and fingerprints of artifact folders.

A verdict is signed with HMAC-SHA256 over its canonical JSON (sorted keys, no spaces), so any change to any
value, including a check's number, breaks the signature. The key comes from settings.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from lifecycle.registry.errors import RegistryError


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """The one byte form of a JSON document that is signed: sorted keys, compact, NaN refused."""
    try:
        return json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except ValueError as error:
        raise RegistryError(f"a signed document must hold finite numbers only: {error}") from None


def sign(document: Mapping[str, Any], key: SecretStr) -> str:
    """Hex HMAC-SHA256 of the document's canonical JSON."""
    return hmac.new(key.get_secret_value().encode("utf-8"), canonical_json(document), hashlib.sha256).hexdigest()


def signature_matches(document: Mapping[str, Any], signature: str, key: SecretStr) -> bool:
    """Whether ``signature`` was made over exactly this document with this key (constant-time compare)."""
    return hmac.compare_digest(sign(document, key), signature)


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in chunks (never the whole file in memory)."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def folder_digest(path: Path) -> dict[str, str]:
    """SHA-256 of every file under ``path`` by relative POSIX path: the exact bytes that were blessed."""
    if not path.is_dir():
        raise RegistryError(f"artifact folder {path} does not exist")
    return {file.relative_to(path).as_posix(): file_sha256(file) for file in sorted(path.rglob("*")) if file.is_file()}
