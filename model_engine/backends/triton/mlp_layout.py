"""Host-side layout of a small dense network for the fused MLP kernel (NumPy only, no GPU imports).

The kernel holds the whole network on chip, so every width is padded to a power of two (at least 16, the
smallest ``tl.dot`` operand) with zeros: padded inputs meet zero weight rows and padded units are masked out
of the output, so padding never changes a result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np

from model_engine.errors import GraphError

MAX_LAYERS = 4
"""Layers the kernel unrolls (the fraud networks have 1 to 3); a deeper network is lowered elsewhere."""
MAX_WIDTH = 128
"""Widest padded layer the kernel keeps in registers."""
MIN_DOT = 16


class Activation(IntEnum):
    """Per-layer epilogues, as the integer codes the kernel specialises on."""

    IDENTITY = 0
    RELU = 1
    TANH = 2
    LOGISTIC = 3


class OutputTransform(IntEnum):
    """What the kernel writes from the last layer's values.

    ``BINARY_SIGMOID`` turns one logit into the two columns ``[1 - p, p]`` (sklearn's binary ``predict_proba``);
    ``SOFTMAX`` normalises over the real output units; ``IDENTITY`` and ``SIGMOID`` are elementwise.
    """

    IDENTITY = 0
    SIGMOID = 1
    BINARY_SIGMOID = 2
    SOFTMAX = 3


@dataclass(frozen=True)
class DenseLayer:
    """One layer ``act(h @ weight + bias)`` with ``weight`` of shape ``[inputs, units]``."""

    weight: np.ndarray[Any, Any]
    bias: np.ndarray[Any, Any]
    activation: Activation = Activation.IDENTITY


@dataclass(frozen=True)
class MLPLayout:
    """A network padded for the kernel: weights ``[K_pad, M_pad]`` row-major float32, biases ``[M_pad]``.

    ``widths`` are the padded widths ``(F_pad, M1_pad, ...)``; ``n_features`` and ``n_units`` the real sizes.
    A last layer with one unit is stored as a vector and computed as a row reduction instead of a padded dot.
    """

    weights: tuple[np.ndarray[Any, Any], ...]
    biases: tuple[np.ndarray[Any, Any], ...]
    activations: tuple[Activation, ...]
    widths: tuple[int, ...]
    n_features: int
    n_units: int
    output: OutputTransform

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    @property
    def out_width(self) -> int:
        """Columns the kernel writes: two for a binary sigmoid, else the real units of the last layer."""
        return 2 if self.output is OutputTransform.BINARY_SIGMOID else self.n_units

    @property
    def scalar_head(self) -> bool:
        """True when the last layer has one unit and is computed as a reduction."""
        return self.n_units == 1


def padded(width: int) -> int:
    """The padded width of a layer: the next power of two, at least 16."""
    return max(MIN_DOT, 1 << max(0, int(width) - 1).bit_length())


def pack_mlp(layers: Sequence[DenseLayer], output: OutputTransform) -> MLPLayout:
    """Check and pad a stack of dense layers; raise :class:`GraphError` when the kernel cannot hold it."""
    if not 1 <= len(layers) <= MAX_LAYERS:
        raise GraphError(f"the fused MLP kernel takes 1 to {MAX_LAYERS} layers, got {len(layers)}")
    n_features = int(layers[0].weight.shape[0])
    widths = [padded(n_features)]
    weights: list[np.ndarray[Any, Any]] = []
    biases: list[np.ndarray[Any, Any]] = []
    previous = n_features
    for index, layer in enumerate(layers):
        weight = np.asarray(layer.weight, dtype=np.float32)
        bias = np.asarray(layer.bias, dtype=np.float32).reshape(-1)
        if weight.ndim != 2 or weight.shape[0] != previous or bias.shape != (weight.shape[1],):
            raise GraphError(
                f"layer {index}: weight {weight.shape} and bias {bias.shape} do not follow a layer of width {previous}"
            )
        units = int(weight.shape[1])
        last = index == len(layers) - 1
        width = 1 if (last and units == 1) else padded(units)
        if max(widths[-1], width) > MAX_WIDTH:
            raise GraphError(f"layer {index} is {units} wide; the fused MLP kernel holds at most {MAX_WIDTH} units")
        block = np.zeros((widths[-1], width), dtype=np.float32)
        block[:previous, :units] = weight
        padded_bias = np.zeros(width, dtype=np.float32)
        padded_bias[:units] = bias
        weights.append(np.ascontiguousarray(block.reshape(-1) if width == 1 else block))
        biases.append(padded_bias)
        widths.append(width)
        previous = units
    n_units = previous
    if output is OutputTransform.BINARY_SIGMOID and n_units != 1:
        raise GraphError(f"a binary sigmoid output needs one logit, the network has {n_units} outputs")
    return MLPLayout(
        weights=tuple(weights),
        biases=tuple(biases),
        activations=tuple(Activation(layer.activation) for layer in layers),
        widths=tuple(widths),
        n_features=n_features,
        n_units=n_units,
        output=output,
    )
