"""Public names that load on first use (PEP 562), for the packages whose ``__init__`` must stay light.

``fraud --help`` imports every package that registers a command; the names whose modules pull in pandas,
scipy, scikit-learn or Kafka are therefore exported lazily: the package's ``__init__`` lists where each lives
(and imports them under ``TYPE_CHECKING`` for the type checker), and this module's :func:`lazy_exports` makes
the module ``__getattr__`` that imports a name's home the first time the name is asked for. It lives in the
lowest layer so that every package above may use it.

>>> __getattr__ = lazy_exports("ingest", {"read_transactions": ".sources"})
>>> __getattr__("read_transactions").__name__
'read_transactions'
>>> __getattr__("nothing")
Traceback (most recent call last):
AttributeError: module 'ingest' has no attribute 'nothing'
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: ``homes`` maps each lazily exported name to the module that
    defines it (absolute, or relative to ``package`` such as ``".sources"``). A name once loaded is set on the
    package, so later lookups do not come back here; any other name is an :class:`AttributeError`."""
    where = dict(homes)

    def load(name: str) -> Any:
        home = where.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(home, package), name)
        setattr(sys.modules[package], name, value)
        return value

    return load
