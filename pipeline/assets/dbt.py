"""dbt assets: the dbt project's seeds and models as Dagster assets, built for the run's years.

Two dbt ops on purpose: ``dbt_staging`` (seeds + staging views) then ``dbt_marts`` (intermediate and
marts), so that the blocking Great Expectations checks on staging tables stop the marts — and
everything published from them — when an extract is wrong.
"""


import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from pipeline.partitions import annual_partitions
from pipeline.settings import DBT_PROJECT_DIR, WRITER_POOL

# dbt selectors by fqn (folder names); `path:` would resolve against the current directory.
STAGING_SELECT = "resource_type:seed staging"


def dbt_vars(years: list[int]) -> dict[str, int]:
    """The ``--vars`` of a run: the range of years its incremental marts rebuild — the run's years and
    the years before them that their publication carries as series (ANNEES_SERIE − 1): a run for 2024
    rebuilds 2020–2024 from the extracts in the warehouse, so the series agree with the rules of the
    run's code."""
    from pipeline.publication.tables import ANNEES_SERIE

    if not years:
        raise ValueError("a dbt run needs at least one year")
    return {"annee_min": min(years) - (ANNEES_SERIE - 1), "annee_max": max(years)}


def dbt_build_args(years: list[int]) -> list[str]:
    """``dbt build`` arguments for a run over ``years``."""
    return ["build", "--vars", json.dumps(dbt_vars(years), sort_keys=True)]


def manifest_path(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """The dbt manifest, parsed again when any project file is newer than it."""
    manifest = project_dir / "target" / "manifest.json"
    sources = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for folder in ("models", "macros", "seeds", "tests"):
        sources += [p for p in (project_dir / folder).rglob("*") if p.is_file()]
    newest = max(p.stat().st_mtime for p in sources if p.exists())
    if not manifest.exists() or manifest.stat().st_mtime < newest:
        dbt = Path(sys.executable).parent / "dbt"
        result = subprocess.run(
            [str(dbt), "parse", "--project-dir", str(project_dir), "--profiles-dir", str(project_dir), "--quiet"],
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"dbt parse failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return manifest


class ObservatoireDbtTranslator(DagsterDbtTranslator):
    """dbt sources → the ingest assets (``raw/<table>``); groups named after the dbt layers."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "referentiels"
        parts = dbt_resource_props.get("fqn", [])
        return parts[1] if len(parts) > 2 else "dbt"


def _years(context: dg.AssetExecutionContext) -> list[int]:
    window = context.partition_time_window
    return list(range(window.start.year, window.end.year))


def build_dbt_assets(manifest: Path) -> list[dg.AssetsDefinition]:
    """The two dbt ops (staging, marts) for a parsed manifest."""
    translator = ObservatoireDbtTranslator()

    @dbt_assets(manifest=manifest, select=STAGING_SELECT, name="dbt_staging", partitions_def=annual_partitions,
                backfill_policy=dg.BackfillPolicy.single_run(), dagster_dbt_translator=translator, pool=WRITER_POOL)
    def dbt_staging(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        """Seeds (referentials) and staging views."""
        yield from dbt.cli(dbt_build_args(_years(context)), context=context).stream()

    @dbt_assets(manifest=manifest, select="fqn:*", exclude=STAGING_SELECT, name="dbt_marts", partitions_def=annual_partitions,
                backfill_policy=dg.BackfillPolicy.single_run(), dagster_dbt_translator=translator, pool=WRITER_POOL)
    def dbt_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        """Intermediate rules and the indicator marts, rebuilt for the run's years."""
        yield from dbt.cli(dbt_build_args(_years(context)), context=context).stream()

    return [dbt_staging, dbt_marts]
