"""Access to the service: API keys per role, stored as hashes."""

from __future__ import annotations

from scoring_api.access.keys import ApiKey, KeyStore, Role

__all__ = ["ApiKey", "KeyStore", "Role"]
