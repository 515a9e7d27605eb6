"""Quality gates: Great Expectations suites as blocking Dagster asset checks.

Each suite in ``expectations/`` is named after the table it guards. The check reads the table for
the run's years through a read-only connection (after dbt is done), validates each year as a pandas
DataFrame (a suite describes one millésime), and fails with severity ERROR when a ``critical`` expectation fails: the downstream
assets (marts, atlas, exports) are then not built, so nothing is published from bad data.
"""


import dagster as dg

from pipeline.partitions import years_from_tags
from pipeline.quality.gx import SuiteOutcome, suite_columns, validate_by_year
from pipeline.resources import ObservatoireResource
from pipeline.warehouse import connect_read_only

#: table guarded (schema.table) → suite name in expectations/
SUITES = {"staging.stg_rpls__logements": "stg_rpls__logements"}


def check_result(outcome: SuiteOutcome) -> dg.AssetCheckResult:
    """Turn a suite outcome into a Dagster check result (ERROR when a critical expectation failed)."""
    lines = [
        f"{'OK ' if o.success else 'ÉCHEC'} [{o.severity}] {f'{o.annee} ' if o.annee else ''}{o.expectation}"
        f"{f'({o.column})' if o.column else ''}"
        f"{f' — {o.unexpected_count} valeur(s) inattendue(s)' if o.unexpected_count else ''}"
        f"{f' — {o.why}' if not o.success and o.why else ''}"
        for o in outcome.outcomes
    ]
    return dg.AssetCheckResult(
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "suite": outcome.suite,
            "attentes": len(outcome.outcomes),
            "echecs": len(outcome.failures),
            "detail": dg.MetadataValue.md("\n".join(f"- {line}" for line in lines)),
        },
    )


def build_gx_check(table: str, suite: str) -> dg.AssetChecksDefinition:
    """A blocking asset check that runs ``suite`` on ``table`` for the run's years."""
    asset_name = table.split(".")[-1]

    @dg.asset_check(asset=dg.AssetKey([asset_name]), name=f"gx_{suite}", blocking=True,
                    description=f"Great Expectations suite expectations/{suite}.json (blocking).")
    def _check(context: dg.AssetCheckExecutionContext, observatoire: ObservatoireResource) -> dg.AssetCheckResult:
        years = years_from_tags(context.run.tags)
        # Only the columns the suite reads: a national RPLS is 5 million rows, held by pandas for GX.
        columns = ", ".join(f'"{c}"' for c in ["annee", *suite_columns(suite)])
        with connect_read_only(observatoire.settings().warehouse) as conn:
            if years:
                frame = conn.execute(f"select {columns} from {table} where annee between ? and ?",
                                     [min(years), max(years)]).df()
            else:
                frame = conn.execute(f"select {columns} from {table}").df()
        if frame.empty:
            # no extract of the source for the run's years (extracts arrive at different dates): nothing
            # to validate, and its indicators are « non renseigné » — an empty extract is caught at
            # ingestion, and a present year is validated below with its row count
            context.log.info(f"GX {suite}: aucune ligne pour {years or 'le run'} — source absente, rien à valider")
            return dg.AssetCheckResult(passed=True, severity=dg.AssetCheckSeverity.ERROR, metadata={
                "suite": suite, "attentes": 0, "echecs": 0,
                "detail": dg.MetadataValue.md(f"- aucune ligne dans {table} pour {years or 'le run'} : source "
                                              f"absente, indicateurs « non renseigné »")})
        outcome = validate_by_year(frame, suite)
        context.log.info(f"GX {suite}: {len(frame)} lignes, {len(outcome.failures)} attente(s) en échec")
        return check_result(outcome)

    return _check


gx_checks = [build_gx_check(table, suite) for table, suite in SUITES.items()]
