"""The validation step: the great-expectations suite of the transaction contract, run on the training data.

A failed expectation stops the run (bad data makes bad models quietly) unless the caller allows invalid
data, in which case the failures are recorded in the lineage. The HTML data docs are written beside the run.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ingest.contract import TRANSACTION_COLUMNS
from ingest.validation.runner import GreatExpectationsRunner
from ingest.validation.suite import build_suite
from lifecycle.registry.lineage import ValidationLineage
from lifecycle.training.errors import InvalidDataError


def validate_transactions(frame: pd.DataFrame, docs_dir: Path, *, allow_invalid: bool) -> ValidationLineage:
    """Run the suite on the contract columns of ``frame``; a summary for the lineage."""
    missing = [c for c in TRANSACTION_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidDataError(f"the training data lacks contract columns {missing}; map the source onto the contract")
    runner = GreatExpectationsRunner(docs_dir=docs_dir)
    result = runner.validate(frame[list(TRANSACTION_COLUMNS)], build_suite(), complete=False)
    failed = [r.name for r in result.results if not r.success]
    docs = runner.write_data_docs(result, run_name="training")
    summary = ValidationLineage(
        suite="transactions",
        success=bool(result.success),
        expectations=len(result.results),
        failed=tuple(failed),
        # Relative to the run folder: the model's evidence in the registry keeps the data docs under this name.
        data_docs=docs.relative_to(docs_dir.parent).as_posix(),
        allowed_invalid=bool(failed) and allow_invalid,
    )
    if failed and not allow_invalid:
        raise InvalidDataError(
            f"the training data failed {len(failed)} expectations: {failed}; see {docs}. "
            "Fix the data, or pass --allow-invalid to train anyway (recorded in the lineage)"
        )
    return summary
