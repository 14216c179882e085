"""build_explanation: a fitted two-class classifier (or pipeline ending in one) -> its explanation graph.

The graph is converted from the same fitted estimator and signature as the scoring graph, through the same start
(:func:`~model_engine.converters.convert.start_conversion`: the columns read by name, categorical inputs as their
vocabulary codes, unknown ones -1): the pipeline's transformers through their converters, then the final
classifier's explainer (:mod:`.heads`; a calibrated model's or soft vote's explains its members through
:func:`explain_estimator` again and composes them, :mod:`.ensembles`), whose attributions are summed back from the
columns the classifier reads to the signature's features with ``segment_sum`` (:mod:`.provenance` finds which
feature each column came from). TreeSHAP is told the same grouping (``tree_shap``'s ``groups``), so the columns
derived from one feature (a categorical split's membership columns, a one-hot block) are one player and its values
are exact Shapley values of the signature's features. The explainer computes in float64. For a model that computes
in float32, the input is rounded to float32 and the transformers compute in float32, as the scoring graph's do (the
converters give float32 constants the same exact rounding as the precision pass), so the trees read the values the
scoring graph's read and take the same decisions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from model_engine.converters.categories import ConversionBuilder
from model_engine.converters.convert import start_conversion
from model_engine.converters.registry import convert
from model_engine.errors import ConversionError, ExplanationUnavailableError
from model_engine.explain.catalogue import explainable_families, get_ensemble_explainer, get_explainer
from model_engine.explain.ensembles import onto_probability
from model_engine.explain.explanation import CONTRIBUTIONS, MARGIN, ExplanationGraph
from model_engine.explain.heads import Head
from model_engine.explain.provenance import column_sources, feature_groups
from model_engine.ir import Graph, Value
from model_engine.ops import GraphBuilder
from model_engine.passes import (
    PassManager,
    eliminate_common_subexpressions,
    eliminate_dead_nodes,
    fold_algebraic,
    fold_constants,
    fuse_elementwise,
    infer_types,
)
from model_engine.passes.rewrite import NameSource, make_node, type_table
from model_engine.signature import Signature

ATTRIBUTIONS, EXPLAINED = "attributions", "explained"
EXPLANATION_PASSES = (infer_types, fold_constants, fold_algebraic, eliminate_common_subexpressions,
                      eliminate_dead_nodes, fuse_elementwise, eliminate_dead_nodes)  # fmt: skip
"""The default simplifications, without unused-feature elimination (an explanation covers every feature),
precision lowering (it computes in float64) or tree lowering (TreeSHAP reads the node tables as they are)."""


def explanation_or_reason(estimator: Any, signature: Signature, *, dtype: str) -> tuple[ExplanationGraph | None, str]:
    """The explanation graph and "", or None and the reason the estimator cannot be explained."""
    try:
        return build_explanation(estimator, signature, dtype=dtype), ""
    except ExplanationUnavailableError as exc:
        return None, str(exc)


def build_explanation(estimator: Any, signature: Signature, *, dtype: str) -> ExplanationGraph:
    """The explanation graph of ``estimator`` over ``signature``'s features, for a model computing in ``dtype``.

    Raises :class:`ExplanationUnavailableError` saying why when the estimator cannot be explained.
    """
    builder, z = start_conversion(estimator, signature.features, signature.vocabularies)
    if dtype == "float32":  # the transformers compute as the scoring graph's do, from the same rounded input
        z = _cast(builder, z, "float32")
    head = explain_estimator(estimator, builder, z)
    classifier = _steps(estimator)[-1]
    if builder.vocabularies() != dict(signature.vocabularies):
        raise ConversionError(
            f"the explanation of {type(classifier).__name__} met categories its signature's vocabularies lack; "
            "compile the model with compile_model, which builds both graphs from one signature"
        )
    builder.output(ATTRIBUTIONS, head.attributions)
    builder.output(MARGIN, head.margin)
    builder.output(EXPLAINED, head.explained)
    graph = _summed_by_feature(_tree_shap_by_feature(builder.build()), type(classifier).__name__)
    result = PassManager(EXPLANATION_PASSES, fixed_point=True).run(graph)
    return ExplanationGraph(result.graph, head.method, dict(head.notes), quantity=head.quantity)


def explain_estimator(estimator: Any, builder: GraphBuilder, z: Value, probability: bool = False) -> Head:
    """The head of ``estimator`` (a pipeline or a classifier) on the columns ``z`` in the model's precision: its
    transformers convert as for scoring, then its classifier's explainer runs, in float64 (an ensemble's members
    through this function again). ``probability``: explain the positive-class probability (:mod:`.ensembles`)."""
    if not isinstance(builder, ConversionBuilder):
        raise TypeError("explanations are built on the ConversionBuilder of start_conversion")
    *steps, classifier = _steps(estimator)
    classes = getattr(classifier, "classes_", ())
    if len(classes) != 2:
        raise ExplanationUnavailableError(
            f"{type(classifier).__name__} has {len(classes)} classes; {explainable_families()}: the margin "
            "explained is the positive class's logit"
        )
    explain_ensemble = get_ensemble_explainer(classifier)
    explainer = None if explain_ensemble else get_explainer(classifier)
    for step in steps:
        z = convert(step, builder, z)
    if explain_ensemble is not None:
        return explain_ensemble(classifier, builder, z, probability, explain_estimator)
    assert explainer is not None
    head = explainer(classifier, builder, _cast(builder, z, "float64"))
    return onto_probability(builder, head) if probability else head


def _cast(builder: ConversionBuilder, z: Value, dtype: str) -> Value:
    """``z`` in ``dtype`` (itself when it is already); category codes stay exact, so the cast carries them."""
    if builder.type_of(z).dtype.value == dtype:
        return z
    cast = builder.op("cast", z, to=dtype)
    builder.carries(cast, z)
    return cast


def _steps(estimator: Any) -> list[Any]:
    """The estimator's steps in order, nested pipelines flattened, frozen ones unwrapped and skipped steps left out."""
    if isinstance(estimator, FrozenEstimator):
        return _steps(estimator.estimator)
    if not isinstance(estimator, Pipeline):
        return [estimator]
    steps: list[Any] = []
    for _, step in estimator.steps:
        if step is not None and not (isinstance(step, str) and step == "passthrough"):
            steps.extend(_steps(step))
    return steps


def _tree_shap_by_feature(graph: Graph) -> Graph:
    """Each ``tree_shap`` with the columns derived from one signature feature as one player (``groups``)."""
    nodes = []
    for node in graph.nodes:
        if node.op == "tree_shap":
            groups = feature_groups(column_sources(graph, node.inputs[0]))
            if groups != tuple(range(len(groups))):
                node = node.replace(attrs={**node.attrs, "groups": groups})
        nodes.append(node)
    return graph.with_nodes(nodes)


def _summed_by_feature(graph: Graph, classifier: str) -> Graph:
    """Replace the head's attributions of its own columns by ``contributions`` per signature feature (base last)."""
    sources = column_sources(graph, graph.outputs[EXPLAINED])  # [K, F]
    n_features = sources.shape[1]
    mixed = np.flatnonzero(sources.sum(axis=1) > 1)
    if mixed.size:
        raise ExplanationUnavailableError(
            f"the columns {mixed.tolist()} that {classifier} reads each combine several input features, so their "
            "contributions cannot be given per feature; use transformers that work column by column"
        )
    # a column depending on no feature is a constant: its term belongs to the base value
    segments = [*np.where(sources.any(axis=1), sources.argmax(axis=1), n_features).tolist(), n_features]
    attributions = graph.outputs[ATTRIBUTIONS]
    outputs = {CONTRIBUTIONS: attributions, MARGIN: graph.outputs[MARGIN]}
    if segments == list(range(n_features + 1)):
        return graph.with_nodes(graph.nodes, outputs=outputs)
    node = make_node(NameSource(graph), "segment_sum", (attributions,), type_table(graph),
                     {"segments": tuple(segments), "n_segments": n_features + 1}, base="by_feature")  # fmt: skip
    return graph.with_nodes([*graph.nodes, node], outputs={**outputs, CONTRIBUTIONS: node.output.name})
