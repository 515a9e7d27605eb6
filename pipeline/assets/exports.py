"""The published exports of the indicators: ``reports/output/<annee>/indicateurs/`` for each year of the run.

Depends on every catalogue mart the dbt project defines, so it runs after ``dbt_marts`` and only
when the marts were built: a failed blocking quality check upstream (staging suites, and any suite
on a mart) skips it, and the previous exports of the year stay published. Reads the warehouse
read-only (no writer pool). What is written and how: :mod:`pipeline.publication.exports`.
"""


from collections.abc import Iterable
from datetime import datetime

import dagster as dg

from pipeline.assets.atlas import atlas_metadata
from pipeline.demo import is_demo
from pipeline.partitions import annual_partitions, years_of_keys
from pipeline.publication.catalogue import Catalogue, charger
from pipeline.publication.exports import Publication, exporter_annee
from pipeline.resources import ObservatoireResource
from pipeline.settings import Settings, code_version

EXPORTS_KEY = dg.AssetKey(["exports_indicateurs"])


def publier_indicateurs(settings: Settings, annee: int, run_id: str, catalogue: Catalogue) -> Publication:
    """Build and publish the exports of one year, stamped like the atlas of the same run."""
    estampille = atlas_metadata(annee, run_id, is_demo(settings.data_dir), code_version(), datetime.now())
    return exporter_annee(settings.warehouse, annee, settings.output_dir, estampille, settings.epci, catalogue)


def marts_du_catalogue(cles_dbt: Iterable[dg.AssetKey], catalogue: Catalogue) -> list[dg.AssetKey]:
    """The asset keys of the catalogue's marts that the dbt project defines (built or to be built)."""
    cles = set(cles_dbt)
    return [cle for cle in (dg.AssetKey([i.modele]) for i in catalogue.indicateurs) if cle in cles]


def build_exports_asset(dbt_assets: Iterable[dg.AssetsDefinition],
                        catalogue: Catalogue | None = None) -> dg.AssetsDefinition:
    """The export asset, depending on the catalogue's marts among the keys of ``dbt_assets``."""
    catalogue = catalogue or charger()
    deps = marts_du_catalogue((k for a in dbt_assets for k in a.keys), catalogue)

    @dg.asset(
        key=EXPORTS_KEY,
        deps=deps,
        partitions_def=annual_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="publication",
        kinds={"csv", "xlsx", "python"},
    )
    def exports_indicateurs(context: dg.AssetExecutionContext,
                            observatoire: ObservatoireResource) -> dg.MaterializeResult:
        """The indicator tables of each year of the run, as open-data CSV and one XLSX workbook, after the
        disclosure rule; the indicators without their sources listed « non renseigné »."""
        settings = observatoire.settings()
        publications = []
        for annee in years_of_keys(context.partition_keys):
            publication = publier_indicateurs(settings, annee, context.run_id, catalogue)
            context.log.info(f"indicateurs {annee} publiés : {publication.dossier} — "
                             f"{len(publication.publies)} table(s), {len(publication.non_renseignes)} non renseigné(s), "
                             f"{publication.cellules_masquees} cellule(s) masquée(s)")
            publications.append(publication)
        return dg.MaterializeResult(metadata={
            "dossiers": ", ".join(str(p.dossier) for p in publications),
            "publies": ", ".join(sorted({c for p in publications for c in p.publies})) or "aucun",
            "non_renseignes": dg.MetadataValue.md("\n".join(
                f"- {p.dossier.parent.name} {a.code} : {a.raison}" for p in publications for a in p.non_renseignes)
                or "aucun"),
            "cellules_masquees": sum(p.cellules_masquees for p in publications),
        })

    return exports_indicateurs
