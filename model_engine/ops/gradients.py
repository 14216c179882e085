"""``integrated_gradients``: attributions of a dense network's logit along the straight path from a baseline.

``integrated_gradients(z[N, K], baseline[K], w0, b0, ..., wL, bL; activation, nodes) -> [N, K + 1]``: layers
``h = act(h @ w_i + b_i)``, the last one without ``act``, ending in one unit (the logit ``f``). Column k is
``(z_k - baseline_k) * integral over a in [0, 1] of df/dz_k(baseline + a (z - baseline))``; the last column is
``f(baseline)``. By completeness each row sums to ``f(z)``, up to the integration error.

How the integral is taken (a measured need: the midpoint Riemann sum converges only as 1/steps on a ReLU network,
about 15 % of the margin with 64 steps on the training's MLPs):

- ``relu`` and ``identity`` networks are piecewise linear along the path, with a constant gradient between the
  points where a hidden unit's pre-activation changes sign. Those points are found layer by layer (on each piece
  found so far the next layer's pre-activations are linear, so their zero crossings are exact), and the gradient at
  each piece's midpoint times its length integrates exactly: completeness holds to rounding.
- ``tanh`` and ``logistic`` networks are smooth along the path: Gauss-Legendre quadrature with ``nodes`` points
  (64 by default), whose error falls faster than any power of ``nodes``; on the tested networks it is below 1e-9
  of the margin.

The kernel works on blocks of rows (memory grows with rows x pieces x width) and uses NumPy's matrix products, so
the numba backend runs this same reference kernel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model_engine.errors import OpTypeError
from model_engine.ir.types import TensorType
from model_engine.ops.attribution import attribution_type, expect_constant
from model_engine.ops.registry import Array, Attrs, OpDef, OpKind, register

PIECEWISE_LINEAR = ("relu", "identity")
SMOOTH = ("tanh", "logistic")
DEFAULT_NODES = 64
BLOCK_ROWS = 256


def _infer(attrs: Attrs, types: Sequence[TensorType]) -> tuple[TensorType, ...]:
    op = "integrated_gradients"
    if len(types) < 4 or len(types) % 2:
        raise OpTypeError(f"{op} takes z, baseline and (weight, bias) pairs, got {len(types)} inputs")
    z, baseline = types[0], types[1]
    out = attribution_type(op, z)
    expect_constant(op, "baseline", baseline, z, (z.shape[1],))
    width = z.shape[1]
    for i in range(2, len(types), 2):
        weight, bias = types[i], types[i + 1]
        if weight.rank != 2 or weight.batched or weight.dtype is not z.dtype or weight.shape[0] != width:
            raise OpTypeError(f"{op}: layer {i // 2 - 1} weight must be a constant [{width}, H], got {weight}")
        width = weight.shape[1]
        expect_constant(op, f"layer {i // 2 - 1} bias", bias, z, (width,))
    if width != 1:
        raise OpTypeError(f"{op}: the last layer must have one unit (the logit), it has {width}")
    if attrs.get("activation") not in PIECEWISE_LINEAR + SMOOTH:
        raise OpTypeError(
            f"{op}: activation must be one of {PIECEWISE_LINEAR + SMOOTH}, got {attrs.get('activation')!r}"
        )
    nodes = attrs.get("nodes", DEFAULT_NODES)
    if not isinstance(nodes, int) or isinstance(nodes, bool) or nodes < 1:
        raise OpTypeError(f"{op}: nodes must be a positive int, got {nodes!r}")
    return (out,)


def _act(name: str, a: Array) -> Array:
    if name == "relu":
        return np.maximum(a, 0.0)
    if name == "tanh":
        return np.tanh(a)
    if name == "logistic":
        out: Array = 1.0 / (1.0 + np.exp(-a))
        return out
    return a


def _slope(name: str, a: Array, h: Array) -> Array:
    """d act / d a from the pre-activation ``a`` and the activation ``h``."""
    if name == "relu":
        return (a > 0.0).astype(a.dtype)
    if name == "tanh":
        return 1.0 - h * h
    if name == "logistic":
        return h * (1.0 - h)
    return np.ones_like(a)


Layers = list[tuple[Array, Array]]


def _pre_activations(layers: Layers, activation: str, points: Array, upto: int) -> Array:
    """The pre-activations of layer ``upto`` at ``points`` [..., K]."""
    h = points
    for i, (weight, bias) in enumerate(layers[: upto + 1]):
        a = h @ weight + bias
        if i == upto:
            return a
        h = _act(activation, a)
    raise AssertionError("unreachable")


def _gradients(layers: Layers, activation: str, points: Array) -> Array:
    """d logit / d point at each point [..., K], by backpropagation."""
    pre, post = [], []
    h = points
    for i, (weight, bias) in enumerate(layers):
        a = h @ weight + bias
        h = _act(activation, a) if i < len(layers) - 1 else a
        pre.append(a)
        post.append(h)
    g = np.broadcast_to(layers[-1][0][:, 0], (*points.shape[:-1], layers[-1][0].shape[0]))
    for i in range(len(layers) - 2, -1, -1):
        g = (g * _slope(activation, pre[i], post[i])) @ layers[i][0].T
    return g


def _pieces(layers: Layers, activation: str, z: Array, baseline: Array) -> tuple[Array, Array]:
    """Midpoints and lengths [n, P] of the path's pieces on which the network is linear."""
    n = z.shape[0]
    edges = np.tile(np.array([0.0, 1.0]), (n, 1))
    delta = z - baseline
    for layer in range(len(layers) - 1):
        a = _pre_activations(layers, activation, baseline + edges[:, :, None] * delta[:, None, :], layer)
        lo, hi = a[:, :-1], a[:, 1:]  # [n, P, H]
        crosses = ((lo < 0.0) & (hi > 0.0)) | ((lo > 0.0) & (hi < 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            at = edges[:, :-1, None] + lo / (lo - hi) * (edges[:, 1:, None] - edges[:, :-1, None])
        found = np.where(crosses, at, np.inf).reshape(n, -1)
        edges = np.sort(np.concatenate([edges, found], axis=1), axis=1)
        edges = edges[:, : int(np.isfinite(edges).sum(axis=1).max())]
        edges = np.where(np.isfinite(edges), edges, 1.0)  # rows with fewer pieces pad with empty ones at 1
    return (edges[:, :-1] + edges[:, 1:]) / 2.0, edges[:, 1:] - edges[:, :-1]


def _block(layers: Layers, activation: str, nodes: int, z: Array, baseline: Array) -> Array:
    if activation in PIECEWISE_LINEAR:
        where, weight = _pieces(layers, activation, z, baseline)
    else:
        x, w = np.polynomial.legendre.leggauss(nodes)
        where = np.broadcast_to((x + 1.0) / 2.0, (z.shape[0], nodes))
        weight = np.broadcast_to(w / 2.0, (z.shape[0], nodes))
    delta = z - baseline
    grads = _gradients(layers, activation, baseline + where[:, :, None] * delta[:, None, :])  # [n, P, K]
    out: Array = delta * np.einsum("np,npk->nk", weight, grads)
    return out


def _reference(attrs: Attrs, z: Array, baseline: Array, *params: Array) -> tuple[Array, ...]:
    activation = str(attrs["activation"])
    nodes = int(attrs.get("nodes", DEFAULT_NODES))  # type: ignore[arg-type]
    layers = [(params[i], params[i + 1]) for i in range(0, len(params), 2)]
    out = np.empty((z.shape[0], z.shape[1] + 1), dtype=z.dtype)
    with np.errstate(over="ignore"):  # exp of large negative pre-activations in the logistic: 0 is right
        for start in range(0, z.shape[0], BLOCK_ROWS):
            stop = min(start + BLOCK_ROWS, z.shape[0])
            out[start:stop, :-1] = _block(layers, activation, nodes, z[start:stop], baseline)
        out[:, -1] = _pre_activations(layers, activation, baseline[None, :], len(layers) - 1)[0, 0]
    return (out,)


register(
    OpDef(
        "integrated_gradients",
        OpKind.OPAQUE,
        _infer,
        _reference,
        None,
        attrs=frozenset({"activation", "nodes"}),
        required=frozenset({"activation"}),
        doc=(
            "integrated_gradients(z[N, K], baseline[K], w0, b0, ..., wL, bL; activation, nodes) -> [N, K + 1]: "
            "integrated gradients of a dense network's logit from the baseline, f(baseline) last"
        ),
    )
)
