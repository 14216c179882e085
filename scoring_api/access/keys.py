"""API keys, one role each, stored only as hashes.

A key reads ``fsk_<key id>_<secret>``: the id (12 hex digits) finds the stored record, the secret (32 random
bytes, URL-safe base64) proves possession. Only the SHA-256 of the secret is stored: a plain hash suffices for a
256-bit random secret (nothing to guess by brute force, unlike a password, so no slow hash is needed), and it is
compared in constant time. The key itself is shown once, when created (``fraud keys create --role ROLE``).

Each service process keeps the keys in memory and follows the database (:meth:`KeyStore.refresh`), so a key
revoked with ``fraud keys revoke`` stops working everywhere within the watch interval.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from ingest.validation.masking import mask_card_numbers
from lifecycle.registry.database import Database
from scoring_api.errors import AccessError
from scoring_api.sinks import utc_now

KEY_PREFIX: Final = "fsk"
_ID_HEX: Final = 12

_SCHEMA: Final = """CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT
)"""


class Role(StrEnum):
    """Who calls the service: bank systems score; analysts and compliance officers read; admins deploy."""

    SCORER = "scorer"
    ANALYST = "analyst"
    COMPLIANCE = "compliance"
    ADMIN = "admin"


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without its secret."""

    key_id: str
    role: Role
    name: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_key_id() -> str:
    """A key id of 12 hexadecimal digits with at least one letter: twelve decimal digits would read as a card
    number to the audit trail, which masks them (and would no longer name the key)."""
    while True:
        key_id = secrets.token_hex(_ID_HEX // 2)
        if not key_id.isdigit():
            return key_id


def split_key(key: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    prefix, _, rest = key.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or len(key_id) != _ID_HEX or not secret:
        return None
    return key_id, secret


class KeyStore:
    """API keys in the service database; verification reads an in-memory copy refreshed from it."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._db.execute(_SCHEMA)
        self._known: dict[str, tuple[ApiKey, str]] = {}
        self._lock = threading.Lock()
        self.refresh()

    def refresh(self) -> None:
        """Reload the keys (new and revoked ones) from the database."""
        rows = self._db.query(
            "SELECT key_id, role, name, created_at, created_by, revoked_at, secret_sha256 FROM api_keys"
        )
        known = {}
        for key_id, role, name, created_at, created_by, revoked_at, digest in rows:
            key = ApiKey(
                key_id=str(key_id),
                role=Role(str(role)),
                name=str(name),
                created_at=datetime.fromisoformat(str(created_at)),
                created_by=str(created_by),
                revoked_at=None if revoked_at is None else datetime.fromisoformat(str(revoked_at)),
            )
            known[key.key_id] = (key, str(digest))
        with self._lock:
            self._known = known

    def create(self, role: Role, name: str, actor: str) -> tuple[ApiKey, str]:
        """A new key for ``role``: the stored record and the key itself (shown once, never stored)."""
        key_id, secret = _new_key_id(), secrets.token_urlsafe(32)
        now = utc_now()
        self._db.execute(
            "INSERT INTO api_keys (key_id, role, name, secret_sha256, created_at, created_by) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [key_id, Role(role).value, mask_card_numbers(name), _digest(secret), now.isoformat(), actor],
        )
        self.refresh()
        return self.get(key_id), f"{KEY_PREFIX}_{key_id}_{secret}"

    def revoke(self, key_id: str, actor: str) -> ApiKey:
        """Revoke a key by its id (the middle part of the key); it stops working at the next refresh."""
        key = self.get(key_id)
        if not key.active:
            raise AccessError(f"key {key_id} was already revoked at {key.revoked_at}")
        self._db.execute(
            "UPDATE api_keys SET revoked_at = ?, revoked_by = ? WHERE key_id = ?",
            [utc_now().isoformat(), actor, key_id],
        )
        self.refresh()
        return self.get(key_id)

    def get(self, key_id: str) -> ApiKey:
        found = self._known.get(key_id)
        if found is None:
            self.refresh()
            found = self._known.get(key_id)
        if found is None:
            raise AccessError(f"no API key {key_id!r}; `fraud keys list` shows the key ids")
        return found[0]

    def listed(self) -> list[ApiKey]:
        """Every key, active and revoked, oldest first."""
        return sorted((key for key, _ in self._known.values()), key=lambda k: k.created_at)

    def verify(self, presented: str) -> ApiKey | None:
        """The active key matching ``presented``, or None (unknown id, wrong secret, revoked, malformed)."""
        parts = split_key(presented)
        if parts is None:
            return None
        found = self._known.get(parts[0])
        if found is None:
            return None
        key, digest = found
        if not hmac.compare_digest(digest, _digest(parts[1])) or not key.active:
            return None
        return key
