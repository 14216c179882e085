"""``fraud artifact score``: score a file of feature rows with an artifact, in batch.

The scores are written beside the rows' ids, so the ids are the one thing copied from the input: a column of
them that holds card numbers is refused (the scores file would carry them in clear). The output is written
aside and renamed into place, never over the input, and over an existing file only with ``--force``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    import pandas as pd

TABLE_SUFFIXES = (".parquet", ".pq", ".csv")


def score_file(
    artifact: Annotated[Path, typer.Argument(help="an artifact directory")],
    input_path: Annotated[Path, typer.Argument(help=".parquet or .csv with the signature's columns")],
    output_path: Annotated[Path, typer.Argument(help=".parquet or .csv to write")],
    backend: Annotated[str, typer.Option("--backend", "-b", help="numpy | numba | triton")] = "numba",
    id_column: Annotated[str, typer.Option(help="copied to the output when present")] = "transaction_id",
    force: Annotated[bool, typer.Option("--force", help="replace the file at OUTPUT_PATH")] = False,
) -> None:
    """Score a file: one ``score`` (positive-class probability) per row, next to its id column."""
    import pandas as pd

    from ingest.contract import holds_card_number
    from ingest.outputs import atomic_output, check_output
    from ingest.validation.errors import InvalidBatchError
    from model_engine import load_model

    if output_path.suffix.lower() not in TABLE_SUFFIXES:
        raise typer.BadParameter(f"{output_path}: use a .parquet or .csv file", param_hint="OUTPUT_PATH")
    check_output(output_path, inputs=[input_path], force=force)
    model = load_model(artifact, backend=backend)
    frame = _read_table(input_path, list(model.signature.vocabularies))
    scores = model.score(frame)
    result = pd.DataFrame({"score": scores})
    if id_column in frame.columns:
        ids = frame[id_column]
        with_card_numbers = sum(holds_card_number(str(value)) for value in ids)
        if with_card_numbers:
            raise InvalidBatchError(
                f"column {id_column!r} holds card numbers in clear in {with_card_numbers} rows, which the scores "
                "would repeat; tokenise them first, or name another id column with --id-column"
            )
        result.insert(0, id_column, ids.to_numpy())
    with atomic_output(output_path) as partial:
        if output_path.suffix.lower() == ".csv":
            result.to_csv(partial, index=False)
        else:
            result.to_parquet(partial, index=False)
    typer.echo(f"scored {len(result)} rows with {backend} -> {output_path}")


def _read_table(path: Path, text_columns: list[str]) -> pd.DataFrame:
    """A table of feature rows from Parquet or CSV; ``text_columns`` (categorical features) are read from CSV as
    text, so codes such as "0042" or "5411" keep the spelling their vocabulary has."""
    import pandas as pd
    import pyarrow as pa

    from ingest.validation.errors import BatchReadError

    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise BatchReadError(f"cannot read {path}: use a .parquet or .csv file")
    if not path.is_file():
        raise BatchReadError(f"no file to score at {path}")
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype=dict.fromkeys(text_columns, str))
        return pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException, pd.errors.ParserError) as error:
        raise BatchReadError(f"cannot read {path} as {suffix[1:]} ({error}); give a table of feature rows") from None
