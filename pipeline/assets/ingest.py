"""Ingest assets: one per source, each a typed, checked, atomic load into the warehouse's ``raw``.

Every ingest writes the ingestion log (``raw._ingestion``) and, when rows were rejected, a
quarantine CSV per file (``var/quarantine/<source>/<file>.rejets.csv``). The raw file is only read.
"""


import time
from pathlib import Path

import dagster as dg
import pandas as pd
import shapely
from dagster_duckdb import DuckDBResource

from pipeline.partitions import annual_partitions, years_of_keys
from pipeline.resources import ObservatoireResource
from pipeline.settings import WRITER_POOL, Settings
from pipeline.sources.extract import ExtractError, ReadResult, SourceSpec, period_of, read_extract
from pipeline.sources.geo import find_communes_file, read_communes
from pipeline.warehouse import IngestionRecord, replace_partition, sha256

EXTENSIONS = (".csv", ".parquet", ".xlsx")


def find_extract(data_dir: Path, source_dir: str, stem: str, period: str) -> Path:
    """The extract ``<data_dir>/<source_dir>/<stem>_<period>.<ext>``, in any accepted format."""
    for ext in EXTENSIONS:
        path = data_dir / source_dir / f"{stem}_{period}{ext}"
        if path.exists():
            return path
    raise ExtractError(
        f"aucun extrait « {stem}_{period} » dans {data_dir / source_dir} "
        f"(formats acceptés : {', '.join(EXTENSIONS)}). Déposez le fichier ou choisissez une autre année."
    )


def quarantine(settings: Settings, source: str, result: ReadResult) -> Path | None:
    """Write the rejected rows of one file to its quarantine CSV (or remove a stale one)."""
    path = settings.var_dir / "quarantine" / source / f"{result.path.name}.rejets.csv"
    if result.rejets.empty:
        path.unlink(missing_ok=True)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    result.rejets.to_csv(path, index=False, encoding="utf-8")
    return path


def ingest_file(
    conn, settings: Settings, source: str, table: str, path: Path, run_id: str,
) -> tuple[ReadResult, IngestionRecord]:
    """Read one extract and replace its period in ``table`` (one transaction); log and quarantine."""
    started = time.perf_counter()
    annee, mois = period_of(path)
    result = read_extract(path, SourceSpec.load(source))
    periode = f"{annee}" if mois is None else f"{annee}-{mois:02d}"
    partition: dict[str, object] = {"ANNEE": annee} if mois is None else {"ANNEE": annee, "MOIS": mois}
    record = IngestionRecord(
        source=source, periode=periode, fichier=path.name, sha256=sha256(path), taille=path.stat().st_size,
        layout=result.layout, lignes_lues=result.rows_read, lignes_gardees=result.rows_kept,
        lignes_rejetees=result.rows_rejected, duree_s=round(time.perf_counter() - started, 3), run_id=run_id,
    )
    replace_partition(conn, table, result.data.assign(_FICHIER=path.name), partition, record)
    quarantine(settings, source, result)
    return result, record


def _metadata(records: list[IngestionRecord], results: list[ReadResult]) -> dict:
    return {
        "fichiers": ", ".join(r.fichier for r in records),
        "layouts": ", ".join(r.layout for r in records),
        "lignes_lues": sum(r.lignes_lues for r in records),
        "lignes_gardees": sum(r.lignes_gardees for r in records),
        "lignes_rejetees": sum(r.lignes_rejetees for r in records),
        "colonnes_ignorees": ", ".join(sorted({c for res in results for c in res.extra_columns})) or "aucune",
        "premiers_rejets": "\n".join(
            m for res in results for m in res.rejets["message"].head(5)
        ) or "aucun",
    }


@dg.asset(
    key=["raw", "rpls"],
    partitions_def=annual_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WRITER_POOL,
    group_name="ingestion",
    kinds={"duckdb", "python"},
)
def raw_rpls(context: dg.AssetExecutionContext, observatoire: ObservatoireResource,
             duckdb: DuckDBResource) -> dg.MaterializeResult:
    """RPLS dwellings of the millésime (``data_raw/rpls/rpls_AAAA.csv``), typed into ``raw.rpls``."""
    settings = observatoire.settings()
    records, results = [], []
    with duckdb.get_connection() as conn:
        for annee in years_of_keys(context.partition_keys):
            try:
                path = find_extract(settings.data_dir, "rpls", "rpls", str(annee))
                result, record = ingest_file(conn, settings, "rpls", "raw.rpls", path, context.run_id)
            except ExtractError as err:
                raise dg.Failure(description=str(err)) from err
            context.log.info(f"{path.name}: disposition {result.layout}, {record.lignes_gardees} lignes gardées, "
                             f"{record.lignes_rejetees} rejetées")
            records.append(record)
            results.append(result)
    return dg.MaterializeResult(metadata=_metadata(records, results))


@dg.asset(
    key=["raw", "geo_communes"],
    partitions_def=annual_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WRITER_POOL,
    group_name="ingestion",
    kinds={"duckdb", "python"},
)
def raw_geo_communes(context: dg.AssetExecutionContext, observatoire: ObservatoireResource,
                     duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Commune contours (``data_raw/geo/communes.*``) in Lambert-93 and current COG, per millésime."""
    settings = observatoire.settings()
    try:
        path = find_communes_file(settings.data_dir / "geo")
        communes = read_communes(path)
    except ExtractError as err:
        raise dg.Failure(description=str(err)) from err
    frame = pd.DataFrame({
        "CODE_INSEE": communes["CODE_INSEE"], "NOM": communes["NOM"], "FICTIF": communes["FICTIF"],
        "GEOMETRY_WKB": shapely.to_wkb(communes.geometry.to_numpy()),
    })
    started = time.perf_counter()
    with duckdb.get_connection() as conn:
        for annee in years_of_keys(context.partition_keys):
            record = IngestionRecord(
                source="geo", periode=str(annee), fichier=path.name, sha256=sha256(path),
                taille=path.stat().st_size, layout="communes", lignes_lues=len(communes),
                lignes_gardees=len(communes), lignes_rejetees=0,
                duree_s=round(time.perf_counter() - started, 3), run_id=context.run_id,
            )
            replace_partition(conn, "raw.geo_communes", frame, {"ANNEE": annee}, record)
    return dg.MaterializeResult(metadata={"fichier": path.name, "communes": len(communes),
                                          "fictif": bool(communes["FICTIF"].all())})
