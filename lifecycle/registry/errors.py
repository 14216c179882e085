"""Errors of the registry and the gate."""

from __future__ import annotations

from lifecycle.errors import LifecycleError


class RegistryError(LifecycleError):
    """The model registry cannot do what was asked (the message says why and what to do)."""


class RegistryConfigError(RegistryError, ValueError):
    """The registry URL cannot be used: unknown scheme, missing driver, or a file that is not a registry database."""


class UnknownModelError(RegistryError, LookupError):
    """No registered model version or alias by that name; ``fraud models list`` shows what exists."""


class DeploymentRefusedError(RegistryError):
    """A model may not be deployed: it is unblessed, its verdict's signature is wrong, or its files changed."""


class GateConfigError(RegistryError, ValueError):
    """The gate's threshold file is missing, malformed or names an unknown metric."""
