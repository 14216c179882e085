"""Integrated gradients of the MLP against independent references built from scikit-learn's fitted weights:
the closed form of a one-hidden-layer ReLU network (each unit is active on a known fraction of the path), and a
fine Riemann sum with its own backpropagation for deeper and smooth networks; completeness on the training's
pipelines, outliers included, within the stated tolerances."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from model_engine import compile_model

NAMES = [f"f{i}" for i in range(5)]


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)) * np.array([1.0, 3.0, 0.5, 2.0, 1.0]) + np.array([2.0, 0.0, -1.0, 5.0, 0.0])
    x[rng.random(n) < 0.05, 0] *= 10.0  # outliers
    y = (x[:, 0] - 0.3 * x[:, 1] + np.sin(x[:, 2]) + 0.3 * rng.normal(size=n) > 2.0).astype(int)
    return x, y


def _fitted(hidden: tuple[int, ...], activation: str) -> Any:
    x, y = _data(800, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = MLPClassifier(hidden, activation, max_iter=300, random_state=0)
        return make_pipeline(StandardScaler(), mlp).fit(x, y)


def _riemann_ig(mlp: Any, z: np.ndarray, steps: int) -> np.ndarray:
    """Midpoint Riemann sum from the zero baseline with an independent backpropagation over ``coefs_``."""
    slopes = {"relu": lambda a, h: (a > 0) * 1.0, "tanh": lambda a, h: 1 - h * h, "logistic": lambda a, h: h * (1 - h)}
    acts = {"relu": lambda a: np.maximum(a, 0), "tanh": np.tanh, "logistic": lambda a: 1 / (1 + np.exp(-a))}
    alphas = (np.arange(steps) + 0.5) / steps
    points = alphas[None, :, None] * z[:, None, :]
    hs, pres = [points], []
    for i, (w, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_, strict=True)):
        a = hs[-1] @ w + b
        pres.append(a)
        hs.append(acts[mlp.activation](a) if i < len(mlp.coefs_) - 1 else a)
    g = np.ones((*points.shape[:2], 1))
    for i in range(len(mlp.coefs_) - 1, -1, -1):
        if i < len(mlp.coefs_) - 1:
            g = g * slopes[mlp.activation](pres[i], hs[i + 1])
        g = g @ mlp.coefs_[i].T
    return z * g.mean(axis=1)


def test_one_hidden_layer_relu_matches_the_closed_form() -> None:
    pipeline = _fitted((12,), "relu")
    scaler, mlp = pipeline[0], pipeline[-1]
    X = _data(60, 3)[0]
    z = scaler.transform(X)
    (w1, w2), (b1, _) = mlp.coefs_, mlp.intercepts_
    start, change = b1, z @ w1  # unit j's pre-activation along the path: start_j + a * change_j
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.where(change != 0, -start / change, np.nan)
    rising = np.clip(1.0 - root, 0.0, 1.0)  # active for a > root
    falling = np.clip(root, 0.0, 1.0)  # active for a < root
    active = np.where(change > 0, rising, np.where(change < 0, falling, (start > 0) * 1.0))
    expected = z * ((active * w2[:, 0]) @ w1.T)
    explained = compile_model(pipeline, NAMES, dtype="float64").explain(X)
    np.testing.assert_allclose(explained.values, expected, rtol=1e-9, atol=1e-12)
    assert explained.method == "integrated_gradients"


@pytest.mark.parametrize(("hidden", "activation", "steps", "tolerance"), [
    ((16, 8), "relu", 20000, 2e-3),
    ((16, 8), "tanh", 4000, 1e-5),
    ((8,), "logistic", 4000, 1e-6),
])  # fmt: skip
def test_deeper_and_smooth_networks_match_a_fine_riemann_sum(hidden: tuple[int, ...], activation: str, steps: int,
                                                              tolerance: float) -> None:  # fmt: skip
    pipeline = _fitted(hidden, activation)
    X = _data(25, 4)[0]
    expected = _riemann_ig(pipeline[-1], pipeline[0].transform(X), steps)
    explained = compile_model(pipeline, NAMES, dtype="float64").explain(X)
    scale = np.maximum(1.0, np.abs(explained.margin))[:, None]
    assert np.all(np.abs(explained.values - expected) <= tolerance * scale)


@pytest.mark.parametrize(("hidden", "activation", "completeness"), [
    ((64, 32), "relu", 1e-9),
    ((16,), "identity", 1e-9),
    ((32, 16), "tanh", 1e-6),
    ((16,), "logistic", 1e-6),
])  # fmt: skip
def test_completeness_on_the_training_shaped_pipelines(hidden: tuple[int, ...], activation: str,
                                                       completeness: float) -> None:  # fmt: skip
    pipeline = _fitted(hidden, activation)
    X = _data(300, 5)[0]
    explained = compile_model(pipeline, NAMES).explain(X)
    gap = np.abs(explained.base_value + explained.values.sum(axis=1) - explained.margin)
    assert np.all(gap <= completeness * np.maximum(1.0, np.abs(explained.margin))), gap.max()
    mean_row = compile_model(pipeline, NAMES, dtype="float64").explain(pipeline[0].mean_[None, :])
    np.testing.assert_allclose(mean_row.values, 0.0, atol=1e-12)  # the baseline is the training mean
    np.testing.assert_allclose(mean_row.margin, mean_row.base_value, atol=1e-12)
