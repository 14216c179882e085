"""Pipeline: each step converted in turn, the output of one the input of the next."""

from __future__ import annotations

from typing import Any

from sklearn.pipeline import Pipeline

from model_engine.converters.registry import convert, register_converter
from model_engine.ir import Value
from model_engine.ops import GraphBuilder


@register_converter(Pipeline)
def convert_pipeline(pipeline: Any, builder: GraphBuilder, x: Value) -> Value:
    y = x
    for _, step in pipeline.steps:
        if step is None or (isinstance(step, str) and step == "passthrough"):
            continue
        y = convert(step, builder, y)
    return y
