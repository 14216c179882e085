"""The chain's signed head: the last record's sequence number and hash, signed with the audit key.

Every append moves it in the same transaction as its records, so any record past the head was added behind the
log's back, a head ahead of the last record means records were cut off the end, and a last hash that differs
from the head's means the chain was rewritten with fresh hashes.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from monitoring.audit.signing import Signer, verify_signature


def head_message(seq: int, hash_: str, recorded_at: str) -> bytes:
    """The bytes a head's signature covers."""
    return orjson.dumps(["fraud-audit-head", seq, hash_, recorded_at])


@dataclass(frozen=True)
class SignedHead:
    """The last record's sequence number and hash (0 and the genesis hash for an empty log), when it was
    recorded, the public key of the signer and the signature."""

    seq: int
    hash: str
    recorded_at: str
    public_key: str
    signature: str

    def signed_by(self, public_key_hex: str) -> bool:
        """Whether this head was signed, exactly as it reads, by the holder of ``public_key_hex``."""
        return verify_signature(public_key_hex, head_message(self.seq, self.hash, self.recorded_at), self.signature)


def sign_head(signer: Signer, seq: int, hash_: str, recorded_at: str) -> SignedHead:
    signature = signer.sign(head_message(seq, hash_, recorded_at))
    return SignedHead(seq, hash_, recorded_at, signer.public_key_hex, signature)
