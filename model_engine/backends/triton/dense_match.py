"""Recognise chains of dense layers in a graph, so one fused MLP kernel replaces them.

A layer is ``matmul(h, W)`` with constant ``W``, then optionally a constant bias added (a plain ``add`` or the
``fused_elementwise`` program ``add`` [+ activation] the fusion pass makes) and a ``relu``/``tanh``/``sigmoid``.
A chain follows single-user links from one layer into the next; at its end it may absorb the classifier link:
``softmax``, or the binary ``concat(1 - sigmoid(z), sigmoid(z))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model_engine.backends.triton.mlp_layout import MAX_LAYERS, MAX_WIDTH, Activation, DenseLayer, OutputTransform
from model_engine.backends.triton.mlp_layout import padded as padded_width
from model_engine.ir.graph import Graph, Node

ACTIVATION_OPS = {"relu": Activation.RELU, "tanh": Activation.TANH, "sigmoid": Activation.LOGISTIC}


@dataclass
class DenseChain:
    """Matched layers: ``source`` is the chain's input value, ``result`` the value the kernel writes."""

    source: str
    layers: list[DenseLayer] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    result: str = ""
    output: OutputTransform = OutputTransform.IDENTITY


def _only_user(graph: Graph, name: str) -> Node | None:
    """The single node reading ``name``, or None when it has several readers or is a graph output."""
    users = graph.users(name)
    if len(users) != 1 or name in graph.outputs.values():
        return None
    return users[0]


def _bias(graph: Graph, name: str, width: int) -> np.ndarray[Any, Any] | None:
    if not graph.is_constant(name):
        return None
    array = graph.constants[name]
    return array.reshape(width) if array.size == width and array.ndim <= 2 else None


def _match_layer(graph: Graph, matmul: Node) -> tuple[DenseLayer, list[str], str] | None:
    """One layer starting at ``matmul``: (layer, node names, output value) or None."""
    if matmul.op != "matmul" or not graph.is_constant(matmul.inputs[1]):
        return None
    weight = graph.constants[matmul.inputs[1]]
    width = int(weight.shape[1])
    bias = np.zeros(width, dtype=weight.dtype)
    activation = Activation.IDENTITY
    nodes, out = [matmul.name], matmul.output.name
    user = _only_user(graph, out)
    if user is not None and user.op == "add":
        other = user.inputs[1] if user.inputs[0] == out else user.inputs[0]
        found = _bias(graph, other, width)
        if found is not None and out in user.inputs:
            bias, out = found, user.output.name
            nodes.append(user.name)
            act = _only_user(graph, out)
            if act is not None and act.op in ACTIVATION_OPS:
                activation, out = ACTIVATION_OPS[act.op], act.output.name
                nodes.append(act.name)
    elif user is not None and user.op == "fused_elementwise" and len(user.inputs) == 2 and out in user.inputs:
        program = user.attrs["program"]
        assert isinstance(program, tuple)
        other = user.inputs[1] if user.inputs[0] == out else user.inputs[0]
        found = _bias(graph, other, width)
        is_add = program[0][0] == "add" and {a[0] for a in program[0][1]} == {"r"}
        tail_ok = len(program) == 1 or (
            len(program) == 2 and program[1][0] in ACTIVATION_OPS and program[1][1] == (("r", 2),)
        )
        if found is not None and is_add and tail_ok:
            bias, out = found, user.output.name
            activation = ACTIVATION_OPS[program[1][0]] if len(program) == 2 else Activation.IDENTITY
            nodes.append(user.name)
    return DenseLayer(weight, bias, activation), nodes, out


def _fits(layer: DenseLayer, first: bool) -> bool:
    k, m = layer.weight.shape
    return (not first or padded_width(k) <= MAX_WIDTH) and (m == 1 or padded_width(m) <= MAX_WIDTH)


def match_chain(graph: Graph, start: Node) -> DenseChain | None:
    """The longest chain of at most MAX_LAYERS layers starting at ``start`` that the MLP kernel can hold."""
    first = _match_layer(graph, start)
    if first is None or not _fits(first[0], True) or graph.type_of(start.inputs[0]).rank != 2:
        return None
    chain = DenseChain(source=start.inputs[0])
    layer, nodes, out = first
    while True:
        chain.layers.append(layer)
        chain.nodes += nodes
        chain.result = out
        nxt = _only_user(graph, out)
        if nxt is None or len(chain.layers) == MAX_LAYERS or nxt.op != "matmul" or nxt.inputs[0] != out:
            break
        if layer.weight.shape[1] == 1:  # the kernel computes a one-unit layer only as the last one
            break
        matched = _match_layer(graph, nxt)
        if matched is None or not _fits(matched[0], False):
            break
        layer, nodes, out = matched
    _absorb_link(graph, chain)
    return chain


def _absorb_link(graph: Graph, chain: DenseChain) -> None:
    last = chain.layers[-1]
    out = chain.result
    user = _only_user(graph, out)
    if user is not None and user.op == "softmax" and last.activation is Activation.IDENTITY:
        chain.output, chain.result = OutputTransform.SOFTMAX, user.output.name
        chain.nodes.append(user.name)
        return
    if last.activation is not Activation.LOGISTIC or last.weight.shape[1] != 1:
        return
    users = graph.users(out)
    if len(users) != 2 or out in graph.outputs.values():
        return
    sub = next((u for u in users if u.op == "sub"), None)
    concat = next((u for u in users if u.op == "concat"), None)
    if sub is None or concat is None or sub.inputs[1] != out or not graph.is_constant(sub.inputs[0]):
        return
    one = graph.constants[sub.inputs[0]]
    if one.size != 1 or float(one.reshape(())) != 1.0 or concat.inputs != (sub.output.name, out):
        return
    if _only_user(graph, sub.output.name) is not concat:
        return
    chain.layers[-1] = DenseLayer(last.weight, last.bias, Activation.IDENTITY)
    chain.output, chain.result = OutputTransform.BINARY_SIGMOID, concat.output.name
    chain.nodes += [sub.name, concat.name]
