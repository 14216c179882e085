"""The features package's exceptions: one root, specific subclasses whose message says what to do next."""

from __future__ import annotations


class FeaturesError(Exception):
    """Root of every error raised by :mod:`features`; those caused by the caller's input are also ValueErrors."""


class FeatureSpecError(FeaturesError, ValueError):
    """A feature declaration is inconsistent (unknown aggregate, negative window, duplicate name...)."""


class FeatureInputError(FeaturesError, ValueError):
    """Transactions or labels handed to an engine lack a column or hold values the engines cannot use."""


class StateStoreError(FeaturesError):
    """The state store cannot serve a request (unreachable server, corrupt blob, wrong snapshot)."""


class StateConflictError(StateStoreError):
    """Another worker changed the same entity state between read and write; the batch must be retried."""


class SnapshotMismatchError(StateStoreError):
    """A snapshot was written for another feature set; restore it into an engine built from that set."""
