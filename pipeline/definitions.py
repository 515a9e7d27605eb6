"""The Dagster code location: assets, checks, the jobs and their schedules (annual, monthly dashboard),
resources."""

from __future__ import annotations


import dagster as dg
from dagster_duckdb import DuckDBResource

from pipeline.assets.dbt import DBT_PROJECT, ObservatoireDbtResource, build_dbt_assets, dbt_executable, prepare_dbt_project
from pipeline.assets.publication import build_publication_assets
from pipeline.assets.ingest import ingest_assets, raw_geo_communes, raw_geo_iris, raw_geo_qpv
from pipeline.assets.quality import build_gx_checks
from pipeline.assets.tableau_de_bord import build_tableau_de_bord_assets
from pipeline.partitions import annual_partitions, monthly_partitions
from pipeline.sensors import data_raw_sensor
from pipeline.resources import ObservatoireResource
from pipeline.settings import Settings, duckdb_config

ANNUAL_JOB = "annuel"
MONTHLY_JOB = "mensuel"
HISTORY_JOB = "historique"
TABLEAU_JOB = "mensuel_tableau_de_bord"


def annual_schedule(job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """Every 1 December, the year's partition: the RPLS millésime of year N reaches the EPCI in the
    autumn of N. Stopped by default: an EPCI turns it on once its extracts arrive by themselves."""

    @dg.schedule(cron_schedule="0 3 1 12 *", job=job, name="annuel_1er_decembre",
                 default_status=dg.DefaultScheduleStatus.STOPPED)
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        annee = context.scheduled_execution_time.year
        return dg.RunRequest(run_key=str(annee), partition_key=str(annee))

    return _schedule


def monthly_schedule(job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """Every 5th of the month, the previous month's partition: the fichier partagé's extracts of a month
    (demands at its end, its CALEOL examinations) are exported in the first days of the next. Stopped by
    default, like the annual schedule: an EPCI turns it on once its extracts arrive by themselves."""

    @dg.schedule(cron_schedule="0 3 5 * *", job=job, name="mensuel_le_5",
                 default_status=dg.DefaultScheduleStatus.STOPPED)
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        date = context.scheduled_execution_time
        annee, mois = (date.year, date.month - 1) if date.month > 1 else (date.year - 1, 12)
        return dg.RunRequest(run_key=f"{annee}-{mois:02d}", partition_key=f"{annee}-{mois:02d}")

    return _schedule


def build_definitions(settings: Settings) -> dg.Definitions:
    """Everything Dagster needs, for the folders of ``settings``. The dbt manifest is prepared first
    when it is missing or stale (:func:`prepare_dbt_project`); nothing is written in the home and the
    environment is left as it is: the resource ``observatoire`` activates the settings when a run
    uses it (:class:`ObservatoireResource`)."""
    dbt_defs = build_dbt_assets(prepare_dbt_project(settings.warehouse))
    publication_assets, publication_checks = build_publication_assets(dbt_defs)
    ingest = ingest_assets()
    monthly = [a for a in ingest if a.partitions_def == monthly_partitions]
    monthly_selection = dg.AssetSelection.assets(*monthly)
    tableau_assets, tableau_checks = build_tableau_de_bord_assets(deps=[k for a in monthly for k in a.keys])
    annual_job = dg.define_asset_job(
        ANNUAL_JOB,
        selection=dg.AssetSelection.all() - monthly_selection - dg.AssetSelection.assets(*tableau_assets),
        partitions_def=annual_partitions,
        description="Le pipeline complet d'une année : ingestion, dbt, contrôles qualité, atlas, exports.",
    )
    monthly_job = dg.define_asset_job(
        MONTHLY_JOB,
        selection=monthly_selection,
        partitions_def=monthly_partitions,
        description="L'ingestion des extraits mensuels (demandes, examens en CALEOL).",
    )
    tableau_job = dg.define_asset_job(
        TABLEAU_JOB,
        selection=monthly_selection | dg.AssetSelection.assets(*tableau_assets),
        partitions_def=monthly_partitions,
        description="Le mois : ingestion des extraits mensuels, tables de l'année jusqu'au mois (dbt), "
                    "tableau de bord mensuel (PDF et HTML) publié.",
    )
    annual_ingest = [a for a in [*ingest, raw_geo_communes, raw_geo_iris, raw_geo_qpv]
                     if a.partitions_def == annual_partitions]
    history_job = dg.define_asset_job(
        HISTORY_JOB,
        selection=dg.AssetSelection.assets(*annual_ingest),
        partitions_def=annual_partitions,
        description="L'ingestion des extraits annuels des années précédentes (les séries de l'atlas), "
                    "sans rien publier.",
    )
    return dg.Definitions(
        assets=[*ingest, raw_geo_communes, raw_geo_iris, raw_geo_qpv, *dbt_defs, *publication_assets,
                *tableau_assets],
        asset_checks=[*build_gx_checks({k for a in dbt_defs for k in a.keys}), *publication_checks, *tableau_checks],
        jobs=[annual_job, monthly_job, history_job, tableau_job],
        schedules=[annual_schedule(annual_job), monthly_schedule(tableau_job)],
        sensors=[data_raw_sensor(annual_job, monthly_job, settings.data_dir)],
        resources={
            "observatoire": ObservatoireResource.from_settings(settings),
            "duckdb": DuckDBResource(database=str(settings.warehouse), connection_config=duckdb_config()),
            # The venv's dbt, found beside the interpreter (the venv need not be on PATH).
            "dbt": ObservatoireDbtResource(project_dir=DBT_PROJECT, dbt_executable=str(dbt_executable())),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location ``dagster dev -m pipeline.definitions`` loads: built when the location loads
    (the dbt manifest prepared then if needed), not when the module is imported — the CLI imports this
    module and builds its own. The settings are activated by the resource, in the run."""
    return build_definitions(Settings.from_env())
