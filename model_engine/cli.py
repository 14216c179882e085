"""``fraud artifact compile|inspect``: the model engine on the command line.

Heavy imports (scikit-learn, pandas, numba) stay inside the commands so ``fraud --help`` answers at once.
``fraud artifact score`` (scoring a file of transactions' features) is the scoring service's and is added to
this group by :mod:`scoring_api.cli`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from model_engine.backends.triton import cli as triton_cli

artifact_app = typer.Typer(help="Compile scikit-learn pipelines into graph artifacts, inspect and run them.",
                        no_args_is_help=True)  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add this package's commands to the root ``fraud`` application."""
    app.add_typer(artifact_app, name="artifact")


def _read_table(path: Path) -> Any:
    """A table from Parquet or CSV (the golden sample); an unreadable one is a usage error."""
    import pandas as pd
    import pyarrow as pa

    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv"):
        raise typer.BadParameter(f"{path}: use a .parquet or .csv file", param_hint="--golden")
    try:
        return pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as error:
        raise typer.BadParameter(f"cannot read {path}: {error}", param_hint="--golden") from None


@artifact_app.command("compile")
def compile_pipeline(
    pipeline: Annotated[
        Path, typer.Argument(help="a joblib file holding a fitted scikit-learn pipeline", exists=True, dir_okay=False)
    ],
    output: Annotated[Path, typer.Argument(help="the artifact directory to create")],
    features: Annotated[
        str,
        typer.Option(
            help="comma-separated input feature names, in fitted order (default: the pipeline's feature_names_in_)"
        ),
    ] = "",
    dtype: Annotated[
        str, typer.Option(help="auto (exact for --input-dtype data; inspect says which and why) | float32 | float64")
    ] = "auto",
    input_dtype: Annotated[
        str, typer.Option(help="dtype of the numeric data the pipeline was fitted on and will score: float64 | float32")
    ] = "float64",
    tree_strategy: Annotated[str, typer.Option(help="auto | perfect | compact | gemm")] = "auto",
    golden: Annotated[Path | None, typer.Option(help="a .parquet/.csv sample to store as the golden batch")] = None,
) -> None:
    """Compile a fitted pipeline into a verified artifact.

    joblib files can execute code when loaded: compile only pipelines from a path you trust.
    """
    import joblib

    from model_engine import compile_model, save_model
    from model_engine.artifacts.store import check_new_artifact_path
    from model_engine.compile import DTYPES, PRECISIONS
    from model_engine.errors import PipelineFileError
    from model_engine.passes.trees import STRATEGIES

    # checked before the (slow, code-running) joblib load, and as usage errors rather than tracebacks
    if dtype not in PRECISIONS:
        raise typer.BadParameter(f"{dtype!r} is not one of {', '.join(PRECISIONS)}", param_hint="--dtype")
    if input_dtype not in DTYPES:
        raise typer.BadParameter(f"{input_dtype!r} is not one of {', '.join(DTYPES)}", param_hint="--input-dtype")
    if tree_strategy not in STRATEGIES:
        raise typer.BadParameter(
            f"{tree_strategy!r} is not one of {', '.join(STRATEGIES)}", param_hint="--tree-strategy"
        )
    check_new_artifact_path(output)
    try:
        estimator = joblib.load(pipeline)
    except Exception as error:  # unpickling foreign bytes can raise anything; each is the file's fault
        raise PipelineFileError(
            f"cannot load a fitted pipeline from {pipeline} ({type(error).__name__}: {error}); give a joblib file "
            "written by joblib.dump(pipeline, path) with this environment's scikit-learn"
        ) from error
    names = [f.strip() for f in features.split(",") if f.strip()] or [
        str(n) for n in getattr(estimator, "feature_names_in_", [])
    ]
    if not names:
        raise typer.BadParameter("the pipeline was fitted without column names: pass --features a,b,c")
    sample = _read_table(golden) if golden is not None else None
    model = compile_model(
        estimator, names, dtype=dtype, input_dtype=input_dtype, probe=sample, tree_strategy=tree_strategy
    )
    content_id = save_model(model, output, golden_input=sample, lineage={"source": str(pipeline.resolve())})
    typer.echo(f"compiled {type(estimator).__name__} -> {output}")
    typer.echo(f"precision {model.metadata['precision']['dtype']}: {model.metadata['precision']['reason']}")
    typer.echo(f"content id {content_id}")
    typer.echo(f"graph ops {model.graph.op_counts()}; uses {len(model.signature.graph_features)} of {len(names)} "
               "features")  # fmt: skip


@artifact_app.command("inspect")
def inspect_artifact(
    artifact: Annotated[Path, typer.Argument(help="an artifact directory")],
    graph: Annotated[bool, typer.Option("--graph/--no-graph", help="print the whole graph")] = True,
) -> None:
    """Check an artifact against accidental damage and print its signature, pass statistics and graph.

    The manifest is a list of hashes, not a signature: whoever can write the files can rebuild a consistent
    manifest and golden batch. That a model is the one the gate blessed is shown by its registry entry, whose
    signed verdict fingerprints its files (``fraud models show``).
    """
    from model_engine import load_model
    from model_engine.backends.plan import plan_memory

    model = load_model(artifact, backend="numpy")
    meta = model.metadata
    sig = model.signature
    typer.echo(f"artifact   {artifact}  ({meta.get('content_id')})")
    typer.echo(
        "integrity  consistent: every file matches the manifest and the golden batch reproduces. This detects "
        "accidental damage only: the manifest is unsigned, so it says nothing of who made the artifact; a "
        "registered model's origin is its signed gate verdict (fraud models show)"
    )
    typer.echo(f"estimator  {meta.get('estimator')}  lineage {meta.get('lineage')}")
    precision = meta.get("precision") or {"dtype": meta.get("dtype"), "reason": "not recorded (older artifact)"}
    typer.echo(f"precision  {precision['dtype']}: {precision['reason']}")
    typer.echo(f"inputs     {', '.join(f'{f}: {d}' for f, d in zip(sig.features, sig.dtypes, strict=True))}")
    typer.echo(f"features   {len(sig.features)} in signature, {len(sig.graph_features)} read by the graph")
    typer.echo(f"           used: {', '.join(sig.graph_features)}")
    if sig.vocabularies:
        typer.echo(f"categories {dict(sig.vocabularies)}")
    typer.echo(f"outputs    {list(sig.outputs)}  classes {list(sig.classes)}")
    typer.echo(f"source     {meta.get('source_nodes')} nodes {meta.get('source_ops')}")
    typer.echo(f"optimised  {len(model.graph.nodes)} nodes {model.graph.op_counts()}")
    typer.echo("passes (name, changed, nodes before -> after, notes):")
    for stat in meta.get("passes", []):
        if stat["modified"]:
            typer.echo(f"  {stat['name']:34} {stat['nodes_before']:>4} -> {stat['nodes_after']:<4} {stat['notes']}")
    typer.echo(f"memory     {plan_memory(model.graph, 16384).summary()}")
    if graph:
        typer.echo(str(model.graph))


triton_cli.register(artifact_app)  # fraud artifact calibrate-device (GPU placement threshold)
