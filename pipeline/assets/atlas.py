"""The atlas du parc social: ``reports/atlas/atlas.qmd`` rendered to PDF for each year of the run.

Reads the finished marts read-only (no pool needed). Built in ``var/build/atlas/<annee>/`` and
published atomically to ``reports/output/<annee>/atlas_parc_social_<epci>_<annee>.pdf``; a previous
atlas of that year is archived first.
"""


from datetime import datetime
from pathlib import Path

import dagster as dg

from pipeline.demo import is_demo
from pipeline.partitions import annual_partitions, years_of_keys
from pipeline.reports.render import publish, render_document
from pipeline.resources import ObservatoireResource
from pipeline.settings import REPORTS_DIR, Settings, code_version

ATLAS_DIR = REPORTS_DIR / "atlas"
MARTS_READ = [dg.AssetKey(["parc_par_commune"]), dg.AssetKey(["geo_communes"])]


def atlas_path(settings: Settings, annee: int) -> Path:
    """Where the atlas of ``annee`` is published."""
    return settings.output_dir / str(annee) / f"atlas_parc_social_{settings.epci}_{annee}.pdf"


def atlas_metadata(annee: int, run_id: str, demo: bool, version: str, date: datetime) -> dict:
    """The stamp of the cover and the footer (document metadata)."""
    return {
        "millesime": annee,
        "sources": f"RPLS {annee}",
        "run-id": run_id,
        "run-court": run_id[:8],
        "code-version": version,
        "build-date": date.strftime("%d/%m/%Y %H:%M"),
        "demo": demo,
    }


def build_atlas(settings: Settings, annee: int, run_id: str) -> Path:
    """Render and publish the atlas of one year; return the published PDF."""
    build_dir = settings.var_dir / "build" / "atlas" / str(annee)
    params = {"annee": annee, "warehouse": str(settings.warehouse), "figures": "figures"}
    metadata = atlas_metadata(annee, run_id, is_demo(settings.data_dir), code_version(), datetime.now())
    built = render_document(ATLAS_DIR, "atlas.qmd", build_dir, params, metadata)
    return publish(built, atlas_path(settings, annee))


@dg.asset(
    key=["atlas_parc_social"],
    deps=MARTS_READ,
    partitions_def=annual_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="publication",
    kinds={"pdf", "python"},
)
def atlas_parc_social(context: dg.AssetExecutionContext, observatoire: ObservatoireResource) -> dg.MaterializeResult:
    """The annual atlas du parc social (PDF, French), one per year of the run."""
    settings = observatoire.settings()
    published = []
    for annee in years_of_keys(context.partition_keys):
        path = build_atlas(settings, annee, context.run_id)
        context.log.info(f"atlas publié : {path}")
        published.append(str(path))
    return dg.MaterializeResult(metadata={"pdf": ", ".join(published)})
