"""``fraud artifact compile|inspect|score``: the model engine on the command line.

Heavy imports (scikit-learn, pandas, numba) stay inside the commands so ``fraud --help`` answers at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from model_engine.backends.triton import cli as triton_cli

artifact_app = typer.Typer(help="Compile scikit-learn pipelines into graph artifacts, inspect and run them.",
                        no_args_is_help=True)  # fmt: skip

BackendOption = Annotated[str, typer.Option("--backend", "-b", help="numpy | numba | triton")]


def register(app: typer.Typer) -> None:
    """Add this package's commands to the root ``fraud`` application."""
    app.add_typer(artifact_app, name="artifact")


def _read_table(path: Path, text_columns: Sequence[str] = ()) -> Any:
    """A table from Parquet or CSV; ``text_columns`` (categorical features) are read from CSV as text, so codes
    such as "0042" or "5411" keep the spelling their vocabulary has."""
    import pandas as pd

    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path, dtype=dict.fromkeys(text_columns, str))
    raise typer.BadParameter(f"{path}: use a .parquet or .csv file")


def _write_table(frame: Any, path: Path) -> None:
    if path.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    elif path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        raise typer.BadParameter(f"{path}: use a .parquet or .csv file")


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
    from model_engine.compile import DTYPES, PRECISIONS
    from model_engine.errors import ModelEngineError
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
    estimator = joblib.load(pipeline)
    names = [f.strip() for f in features.split(",") if f.strip()] or [
        str(n) for n in getattr(estimator, "feature_names_in_", [])
    ]
    if not names:
        raise typer.BadParameter("the pipeline was fitted without column names: pass --features a,b,c")
    try:
        sample = _read_table(golden) if golden is not None else None
        model = compile_model(
            estimator, names, dtype=dtype, input_dtype=input_dtype, probe=sample, tree_strategy=tree_strategy
        )
        content_id = save_model(model, output, golden_input=sample, lineage={"source": str(pipeline.resolve())})
    except ModelEngineError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
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
    """Verify an artifact and print its signature, pass statistics and graph."""
    from model_engine import load_model
    from model_engine.backends.plan import plan_memory
    from model_engine.errors import ModelEngineError

    try:
        model = load_model(artifact, backend="numpy")
    except ModelEngineError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    meta = model.metadata
    sig = model.signature
    typer.echo(f"artifact   {artifact}  ({meta.get('content_id')}, verified, golden batch reproduced)")
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


@artifact_app.command("score")
def score_file(
    artifact: Annotated[Path, typer.Argument(help="an artifact directory")],
    input_path: Annotated[Path, typer.Argument(help=".parquet or .csv with the signature's columns", exists=True)],
    output_path: Annotated[Path, typer.Argument(help=".parquet or .csv to write")],
    backend: BackendOption = "numba",
    id_column: Annotated[str, typer.Option(help="copied to the output when present")] = "transaction_id",
) -> None:
    """Score a file: one ``score`` (positive-class probability) per row, next to its id column."""
    import pandas as pd

    from model_engine import load_model
    from model_engine.errors import ModelEngineError

    try:
        model = load_model(artifact, backend=backend)
        frame = _read_table(input_path, list(model.signature.vocabularies))
        scores = model.score(frame)
    except ModelEngineError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    result = pd.DataFrame({"score": scores})
    if id_column in frame.columns:
        result.insert(0, id_column, frame[id_column].to_numpy())
    _write_table(result, output_path)
    typer.echo(f"scored {len(result)} rows with {backend} -> {output_path}")


triton_cli.register(artifact_app)  # fraud artifact calibrate-device (GPU placement threshold)
