"""The fitted-state check shared by every converter."""

from __future__ import annotations

from typing import Any

from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from model_engine.errors import NotFittedError


def require_fitted(estimator: Any) -> None:
    """Raise :class:`NotFittedError` naming the estimator when it has not been fitted."""
    try:
        check_is_fitted(estimator)
    except SklearnNotFittedError:
        name = type(estimator).__name__
        raise NotFittedError(
            f"{name} is not fitted: call {name}.fit(X, y) (or fit the enclosing pipeline) before compiling it"
        ) from None
