"""Ed25519 signatures (``cryptography``) over the chain's head and over bundle manifests.

The private key comes from settings (``FRAUD_AUDIT_SIGNING_KEY``, the 32-byte seed in hex); whoever checks a
signature needs only the public key (``fraud audit public-key`` prints it), which an examiner receives apart
from the bundle, so that a bundle re-signed with another key does not verify.

>>> signer = Signer.from_hex("11" * 32)
>>> signature = signer.sign(b"manifest")
>>> verify_signature(signer.public_key_hex, b"manifest", signature), verify_signature(
...     signer.public_key_hex, b"manifest!", signature)
(True, False)
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import SecretStr

from monitoring.audit.errors import AuditKeyError

SEED_BYTES = 32


def _from_hex(text: str, what: str) -> bytes:
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError:
        raise AuditKeyError(f"the {what} must be {2 * SEED_BYTES} hexadecimal digits") from None
    if len(raw) != SEED_BYTES:
        raise AuditKeyError(f"the {what} must be {SEED_BYTES} bytes ({2 * SEED_BYTES} hex digits), not {len(raw)}")
    return raw


def key_id(public_key_hex: str) -> str:
    """A short name for a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(bytes.fromhex(public_key_hex)).hexdigest()[:16]


class Signer:
    """Signs with one Ed25519 private key; never shows it (``repr`` gives the public key's id)."""

    __slots__ = ("_key", "public_key_hex")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public_key_hex = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    @classmethod
    def from_hex(cls, seed_hex: str) -> Signer:
        return cls(Ed25519PrivateKey.from_private_bytes(_from_hex(seed_hex, "audit signing key")))

    @classmethod
    def from_secret(cls, seed: SecretStr) -> Signer:
        return cls.from_hex(seed.get_secret_value())

    @property
    def key_id(self) -> str:
        return key_id(self.public_key_hex)

    def sign(self, data: bytes) -> str:
        """The hex Ed25519 signature of ``data``."""
        return self._key.sign(data).hex()

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id!r})"


def verify_signature(public_key_hex: str, data: bytes, signature_hex: str) -> bool:
    """Whether ``signature_hex`` was made over exactly ``data`` by the holder of this public key."""
    public = Ed25519PublicKey.from_public_bytes(_from_hex(public_key_hex, "public key"))
    try:
        public.verify(bytes.fromhex(signature_hex), data)
    except (InvalidSignature, ValueError):
        return False
    return True
