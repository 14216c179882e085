"""JSON form of a graph: structure and types only; constant arrays travel separately (see ``artifacts``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from model_engine.errors import GraphError
from model_engine.ir.graph import AttrValue, Graph, Node, Value
from model_engine.ir.types import TensorType

FORMAT_VERSION = 1


def _attr_to_json(value: AttrValue) -> Any:
    if isinstance(value, tuple):
        return [_attr_to_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": repr(value)}  # 'nan', 'inf', '-inf': JSON has no literal for them
    return value


def _attr_from_json(value: Any) -> AttrValue:
    if isinstance(value, list):
        return tuple(_attr_from_json(v) for v in value)
    if isinstance(value, dict):
        if set(value) != {"$float"} or value["$float"] not in ("nan", "inf", "-inf"):
            raise GraphError(f"unexpected attribute object {value!r} in graph JSON")
        return float(value["$float"])
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise GraphError(f"unexpected attribute value {value!r} in graph JSON")


def graph_to_json(graph: Graph) -> dict[str, Any]:
    """The structure as JSON-ready data; constant arrays are described here and stored separately."""
    return {
        "format_version": FORMAT_VERSION,
        "inputs": [{"name": v.name, **v.type.to_json()} for v in graph.inputs],
        "constants": [{"name": n, **TensorType.of_array(a).to_json()} for n, a in graph.constants.items()],
        "nodes": [
            {
                "name": node.name,
                "op": node.op,
                "inputs": list(node.inputs),
                "outputs": [{"name": v.name, **v.type.to_json()} for v in node.outputs],
                "attrs": {k: _attr_to_json(v) for k, v in node.attrs.items()},
            }
            for node in graph.nodes
        ],
        "outputs": dict(graph.outputs),
    }


def _value(doc: Mapping[str, Any]) -> Value:
    return Value(str(doc["name"]), TensorType.from_json(dict(doc)))


def graph_from_json(doc: Mapping[str, Any], constants: Mapping[str, np.ndarray[Any, Any]]) -> Graph:
    """Rebuild a graph from :func:`graph_to_json` data and its constant arrays; checks they agree."""
    try:
        if doc.get("format_version") != FORMAT_VERSION:
            raise GraphError(
                f"graph JSON format_version {doc.get('format_version')!r} is not {FORMAT_VERSION}; "
                "recompile the model with this version of the engine"
            )
        declared = {str(c["name"]): TensorType.from_json(c) for c in doc["constants"]}
        if set(declared) != set(constants):
            missing = sorted(set(declared) - set(constants))
            extra = sorted(set(constants) - set(declared))
            raise GraphError(f"graph constants and weights disagree: missing {missing}, unexpected {extra}")
        for name, type_ in declared.items():
            if TensorType.of_array(constants[name]) != type_:
                raise GraphError(
                    f"constant {name!r} is {TensorType.of_array(constants[name])}, the graph declares {type_}"
                )
        nodes = [
            Node(
                name=str(n["name"]),
                op=str(n["op"]),
                inputs=tuple(str(i) for i in n["inputs"]),
                outputs=tuple(_value(v) for v in n["outputs"]),
                attrs={str(k): _attr_from_json(v) for k, v in n["attrs"].items()},
            )
            for n in doc["nodes"]
        ]
        inputs = [_value(v) for v in doc["inputs"]]
        outputs = {str(k): str(v) for k, v in doc["outputs"].items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # AttributeError: a list where an object belongs
        raise GraphError(f"malformed graph JSON: {exc!r}") from exc
    return Graph(inputs, nodes, outputs, {name: constants[name] for name in declared})
