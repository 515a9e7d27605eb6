"""Run a Great Expectations suite from ``expectations/`` on a pandas DataFrame.

GX validates pandas DataFrames here (its SQL path on DuckDB fails upstream); the suites are plain
JSON files, one per table, so they are reviewed like code. Severity ``critical`` fails the check
(blocking); ``warning`` and ``info`` are reported only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from pipeline.settings import EXPECTATIONS_DIR


@dataclass(frozen=True)
class ExpectationOutcome:
    """The outcome of one expectation."""

    expectation: str
    column: str | None
    success: bool
    severity: str
    unexpected_count: int | None
    why: str
    #: the year (partition) of the rows validated, when the suite ran year by year
    annee: int | None = None


@dataclass(frozen=True)
class SuiteOutcome:
    """The outcome of a suite: passed when no critical expectation failed."""

    suite: str
    outcomes: tuple[ExpectationOutcome, ...]

    @property
    def passed(self) -> bool:
        return all(o.success for o in self.outcomes if o.severity == "critical")

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]


def load_suite_definition(name: str, folder: Path = EXPECTATIONS_DIR) -> dict:
    """The JSON definition of suite ``name``."""
    return json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))


def suite_columns(name: str, folder: Path = EXPECTATIONS_DIR) -> list[str]:
    """The columns the expectations of suite ``name`` read, in order of first use."""
    columns = [e.get("kwargs", {}).get("column") for e in load_suite_definition(name, folder)["expectations"]]
    return list(dict.fromkeys(c for c in columns if c))


def validate(frame: pd.DataFrame, name: str, folder: Path = EXPECTATIONS_DIR) -> SuiteOutcome:
    """Validate ``frame`` against suite ``name`` in an ephemeral GX context."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx  # slow import: only when a check runs
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    definition = load_suite_definition(name, folder)
    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_pandas(f"pandas_{name}")
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("table")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    suite = gx.ExpectationSuite(name=name)
    for item in definition["expectations"]:
        config = ExpectationConfiguration(type=item["type"], kwargs=item["kwargs"], meta=item.get("meta", {}),
                                          severity=item.get("severity", "critical"))
        suite.add_expectation(config.to_domain_obj())
    result = batch.validate(suite, result_format="SUMMARY")
    outcomes = []
    for res in result.results:
        config = res.expectation_config
        outcomes.append(ExpectationOutcome(
            expectation=config.type,
            column=config.kwargs.get("column"),
            success=bool(res.success),
            severity=str(getattr(config.severity, "value", config.severity)).lower(),
            unexpected_count=res.result.get("unexpected_count"),
            why=(config.meta or {}).get("why", ""),
        ))
    return SuiteOutcome(name, tuple(outcomes))


def validate_by_year(frame: pd.DataFrame, name: str, folder: Path = EXPECTATIONS_DIR,
                     column: str = "annee") -> SuiteOutcome:
    """Validate each year of ``frame`` on its own: a suite describes one millésime (a dwelling is
    unique *within* a millésime and is in every millésime). A frame with no row is validated once,
    so that the row-count expectation says it is empty."""
    if frame.empty or column not in frame.columns:
        return validate(frame, name, folder)
    outcomes: list[ExpectationOutcome] = []
    for annee, rows in frame.groupby(column, sort=True):
        year = validate(rows.reset_index(drop=True), name, folder)
        outcomes += [replace(o, annee=int(annee)) for o in year.outcomes]
    return SuiteOutcome(name, tuple(outcomes))
