"""compile_model: a fitted scikit-learn estimator -> an optimised graph wrapped in a :class:`CompiledModel`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from model_engine.errors import ConversionError, PassError
from model_engine.ir.graph import Graph
from model_engine.ir.types import DType
from model_engine.model import OUTPUT, CompiledModel
from model_engine.passes.infra import GraphPass, PassManager, PipelineResult, pass_name
from model_engine.passes.pipeline import PASS_CONSTRAINTS, default_passes
from model_engine.passes.precision import to_float32
from model_engine.passes.types import infer_types
from model_engine.precision import Precision, choose_precision
from model_engine.signature import Signature

DTYPES = ("float32", "float64")
PRECISIONS = ("auto", *DTYPES)


def compile_model(
    estimator: Any,
    signature: Signature | Sequence[str],
    *,
    dtype: str = "auto",
    input_dtype: str | None = None,
    probe: Any = None,
    passes: str | Sequence[GraphPass] = "default",
    tree_strategy: str = "auto",
    backend: str = "numba",
) -> CompiledModel:
    """Convert a fitted estimator (a ``Pipeline`` or a single supported step) and optimise its graph.

    ``signature`` names the input features in the order the estimator was fitted on (a list of names will do);
    categorical vocabularies are taken from the fitted encoders. ``input_dtype`` declares the dtype of the numeric
    data the pipeline was fitted on and will score (default: the signature's, float64 for a list of names).
    ``dtype`` is the compute precision: "auto" (default) chooses per model the precision whose scores match the
    estimator's for inputs of ``input_dtype`` (see :mod:`model_engine.precision`; ``probe``, a sample of real
    inputs, sharpens its arithmetic check), "float32" or "float64" force one. The choice and its reason are in
    ``model.metadata["precision"]``.
    ``passes`` is "default", "none" (only what ``dtype`` needs) or an explicit list of passes (which must give
    ``dtype``: a float32 list includes ``to_float32``; its order must respect ``PASS_CONSTRAINTS``).
    """
    from model_engine.converters.convert import convert_with_vocabularies
    from model_engine.explain.build import explanation_or_reason

    if dtype not in PRECISIONS:
        raise ValueError(f"dtype must be one of {PRECISIONS}, got {dtype!r}")
    sig = Signature.coerce(signature)
    if input_dtype is not None:
        sig = sig.with_numeric_dtype(input_dtype)
    # Conversion by name: an estimator fitted on a DataFrame reads its columns by name, so a signature in
    # another order (or with extra features) cannot silently feed it the wrong columns.
    graph, vocabularies = convert_with_vocabularies(estimator, list(sig.features), dict(sig.vocabularies))
    sig = sig.with_vocabularies(vocabularies)
    if OUTPUT not in graph.outputs:
        raise ConversionError(
            f"{type(estimator).__name__} is not a classifier: compile_model compiles predict_proba; "
            "end the pipeline with a supported classifier"
        )

    def optimise(precision: str) -> PipelineResult:
        return _optimise(graph, precision, passes, tree_strategy)

    if dtype == "auto" and not isinstance(passes, str):  # an explicit pass list states its precision itself
        listed = "float32" if "to_float32" in [pass_name(p) for p in passes] else "float64"
        precision, result = Precision(listed, "set by the explicit pass list", None), optimise(listed)
    elif dtype == "auto":
        precision, result = choose_precision(graph, sig, optimise, probe=None if probe is None else sig.encode(probe))
    else:
        precision, result = Precision(dtype, "asked for", None), optimise(dtype)
    for stat in result.stats:
        kept = stat.notes.get("kept_columns")
        if kept is not None:
            sig = sig.with_used_columns(kept)
    classes = getattr(estimator, "classes_", None)
    if classes is not None:
        sig = Signature(sig.features, sig.vocabularies, sig.dtypes, sig.outputs, tuple(classes), sig.used_features)
    # built over the same signature (vocabularies included) and for the precision just chosen
    explanation, unavailable = explanation_or_reason(estimator, sig, dtype=precision.dtype)
    metadata = {
        "estimator": type(estimator).__name__,
        "dtype": precision.dtype,
        "precision": precision.to_json(),
        "tree_strategy": tree_strategy,
        "source_nodes": len(graph.nodes),
        "source_ops": graph.op_counts(),
        "explanation": {"unavailable": unavailable} if explanation is None else
                       {"method": explanation.method, "quantity": explanation.quantity, **explanation.notes},
    }  # fmt: skip
    return CompiledModel(result.graph, sig, metadata=metadata, pass_stats=result.stats, backend=backend,
                         explanation=explanation, explanation_note=unavailable)  # fmt: skip


def _optimise(graph: Graph, dtype: str, passes: str | Sequence[GraphPass], tree_strategy: str) -> PipelineResult:
    if passes == "default":
        chosen: list[GraphPass] = default_passes(dtype=dtype, tree_strategy=tree_strategy)
    elif passes == "none":
        chosen = [infer_types, to_float32] if dtype == "float32" else [infer_types]
    elif isinstance(passes, str):
        raise ValueError(f"passes must be 'default', 'none' or a list of passes, got {passes!r}")
    else:
        chosen = list(passes)
    result = PassManager(chosen, fixed_point=True, constraints=PASS_CONSTRAINTS).run(graph)
    computed = result.graph.inputs[0].type.dtype
    if computed is not DType(dtype):  # only an explicit pass list can get here: it must honour the asked precision
        raise PassError(
            f"the passes left a {computed.value} graph but dtype={dtype!r} was asked; "
            + ("add to_float32 to the pass list" if dtype == "float32" else "drop to_float32 from the pass list")
        )
    return result
