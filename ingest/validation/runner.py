"""great-expectations itself: run a suite on a frame, read its per-row verdicts, write the HTML data docs.

Card numbers never leave it in clear: the unexpected values great-expectations samples into each result
(``partial_unexpected_list`` and the like, shown by the HTML report) are masked as soon as it returns them.

One :class:`GreatExpectationsRunner` holds one ephemeral data context (a pandas data source with one
dataframe asset) and is meant to be reused: creating contexts is the slow part. Its results are the
reference the compiled checker is held to.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ingest.validation.errors import ValidationRunError
from ingest.validation.masking import mask_card_numbers, mask_value
from ingest.validation.suite import expectation_name


@dataclass(frozen=True)
class ExpectationResult:
    """What great-expectations said about one expectation on one batch."""

    name: str
    expectation_type: str
    severity: str
    success: bool
    unexpected_positions: tuple[int, ...] | None  # row positions, None for batch-level expectations
    observed: Any = None
    unexpected_count: int = 0
    sample: tuple[Any, ...] = ()  # a few unexpected values


@dataclass(frozen=True)
class SuiteResult:
    """A suite's result: the raw great-expectations result and, per expectation, its digest."""

    raw: Any
    results: tuple[ExpectationResult, ...]
    asset: str = "transactions"

    @property
    def success(self) -> bool:
        return all(result.success for result in self.results)

    def row_failures(self, row_count: int) -> list[tuple[str, ...]]:
        """Per row position, the names of the expectations that listed it as unexpected (suite order)."""
        out: list[list[str]] = [[] for _ in range(row_count)]
        for result in self.results:
            for position in result.unexpected_positions or ():
                out[position].append(result.name)
        return [tuple(names) for names in out]


class GreatExpectationsRunner:
    """Validates frames with great-expectations and renders data docs.

    ``docs_dir``: where :meth:`write_data_docs` builds the HTML site (``index.html`` plus one page per
    validation); without it, the runner validates only.
    """

    def __init__(self, docs_dir: Path | None = None) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self._gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.docs_dir = docs_dir
        if docs_dir is not None:
            self.context.add_data_docs_site(
                "report",
                {
                    "class_name": "SiteBuilder",
                    # great-expectations' site writer refuses a relative base directory: it gets the folder made
                    # absolute against the working directory, so that `--out out` works from any folder.
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(docs_dir.absolute()),
                    },
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
        source = self.context.data_sources.add_pandas("batches")
        self._assets: dict[str, Any] = {}
        self._source = source

    def validate(
        self, frame: pd.DataFrame, suite: Any, *, asset: str = "transactions", complete: bool = True
    ) -> SuiteResult:
        """Run ``suite`` on ``frame``. ``complete`` asks for every unexpected row (result format COMPLETE);
        otherwise a SUMMARY with a sample of unexpected values, enough for a report on a large batch."""
        frame = frame.reset_index(drop=True)  # row positions and index labels coincide from here on
        batch = self._batch_definition(asset).get_batch(batch_parameters={"dataframe": frame})
        result_format = {"result_format": "COMPLETE" if complete else "SUMMARY"}
        raw = batch.validate(suite, result_format=result_format)
        digests = []
        for item in raw.results:
            configuration = item.expectation_config
            info = item.exception_info or {}
            if info.get("raised_exception"):
                name = expectation_name(configuration)
                message = mask_card_numbers(str(info.get("exception_message")))
                raise ValidationRunError(
                    f"great-expectations could not evaluate {name}: {message}; "
                    "check that the batch has the contract's columns and dtypes"
                )
            # Unexpected values are sampled into the result, which the HTML report and the command's summary
            # show: card numbers among them are masked here, before anything can store or print them.
            item.result = mask_value(dict(item.result))
            indices = item.result.get("unexpected_index_list") if complete else None
            digests.append(
                ExpectationResult(
                    name=expectation_name(configuration),
                    expectation_type=configuration.type,
                    severity=str(getattr(configuration.severity, "value", configuration.severity)),
                    success=bool(item.success),
                    unexpected_positions=None if indices is None else tuple(int(i) for i in indices),
                    observed=item.result.get("observed_value"),
                    unexpected_count=int(item.result.get("unexpected_count") or 0),
                    sample=tuple(item.result.get("partial_unexpected_list") or ()),
                )
            )
            # Some expectations report numpy booleans, which the result store's JSON encoder refuses.
            item.success = bool(item.success)
        raw.success = bool(raw.success)
        return SuiteResult(raw, tuple(digests), asset)

    def write_data_docs(self, *results: SuiteResult, run_name: str = "validate") -> Path:
        """Store ``results`` and build the HTML data docs once; returns the site's ``index.html``."""
        if self.docs_dir is None:
            raise ValidationRunError("this runner was created without docs_dir; pass one to write data docs")
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        run_id = RunIdentifier(run_name=run_name, run_time=dt.datetime.now(dt.UTC))
        for result in results:
            raw = result.raw
            raw.meta["run_id"] = run_id
            raw.meta.setdefault("validation_time", run_id.run_time)
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=raw.suite_name),
                run_id=run_id,
                batch_identifier=result.asset,
            )
            self.context.validation_results_store.set(key, raw)
        self.context.build_data_docs(site_names=["report"])
        return self.docs_dir / "index.html"

    def _batch_definition(self, asset: str) -> Any:
        definition = self._assets.get(asset)
        if definition is None:
            definition = self._source.add_dataframe_asset(asset).add_batch_definition_whole_dataframe("whole")
            self._assets[asset] = definition
        return definition
