"""Ingest assets: one per source, each a typed, checked, pseudonymised, atomic load into ``raw``.

The sources are the layout folders of ``pipeline/sources/layouts/`` (their ``[source]`` table says
the data_raw folder, the file prefix and whether the source is annual or monthly): adding a source
is adding a folder. Annual sources are partitioned by year, monthly ones by month.

For each file, in one transaction: the period's rows of ``raw.<source>`` are replaced, its
quarantined rows replace those of ``raw._quarantaine``, and a line goes to ``raw._ingestion``
(file, SHA-256, size, layout, rows read / kept / rejected, duration, run id). The same file again
(same SHA-256, same layout files) changes nothing. Rejected rows are also written, per file, to
``var/quarantine/<source>/<file>.rejets.csv``. The raw file is only ever read.
"""


import contextlib
import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import duckdb
import geopandas as gpd
import pandas as pd
import shapely
from dagster_duckdb import DuckDBResource

from pipeline.partitions import annual_partitions, monthly_partitions
from pipeline.resources import ObservatoireResource
from pipeline.settings import WRITER_POOL, Settings
from pipeline.sources.extract import LAYOUTS_DIR, ExtractError, ReadResult, SourceSpec, all_sources, read_extract
from pipeline.sources.geo import COMMUNE_FILES, find_communes_file, read_communes
from pipeline.sources.pseudonymise import PseudoKeyMissing, hmac_sql, pseudo_key
from pipeline.sources.sql import literal, quote
from pipeline.warehouse import IngestionRecord, last_ingestion, period_rows, quiet, replace_partition, sha256

EXTENSIONS = (".csv", ".parquet", ".xlsx")
#: Sources without which the annual job cannot run. None: extracts arrive at different dates, and a
#: year with only some of them computes what they allow (the attribution extracts alone give the four
#: objectives) and says « non renseigné » for the rest (indicators.md, section E). A year without any
#: extract at all is refused before the run (``pipeline.cli``).
REQUIRED_SOURCES: frozenset[str] = frozenset()
#: Files of one source read side by side (a monthly source over a backfill is dozens of files). Most
#: of a small file's time is DuckDB planning the contract's query, on one core, with Python's lock
#: released: two files at a time use the machine's two cores. Each file still replaces its period in
#: its own transaction, one file at a time (:func:`ingest_file`'s ``ecriture``).
FICHIERS_EN_PARALLELE = 2
#: DuckDB's ``checkpoint_threshold`` while a step loads several files: each file commits to the
#: write-ahead log, which DuckDB folds into the database file at every 16 MB by default — every few
#: monthly files of a year of demands; once, at the end of the step, so (a demo year's demand files
#: 5.1 → 4.3 s + 0.5 s for the one checkpoint, `benchmarks/`). The log stays on disk: a run stopped
#: before the checkpoint loses nothing (DuckDB replays it at the next opening).
SEUIL_CHECKPOINT = "1GB"
#: Metadata of an ingest asset: the extracts not read again (same file and layout SHA-256 as their
#: last load), which the CLI names after the run.
INCHANGES = "inchanges"


def find_extract(data_dir: Path, spec: SourceSpec, period: str) -> Path | None:
    """The extract ``<data_dir>/<folder>/<prefix>_<period>.<ext>`` of ``spec``, in any accepted format."""
    for ext in EXTENSIONS:
        path = data_dir / spec.folder / f"{spec.prefix}_{period}{ext}"
        if path.exists():
            return path
    return None


def missing_message(data_dir: Path, spec: SourceSpec, period: str) -> str:
    return (f"aucun extrait « {spec.prefix}_{period} » dans {data_dir / spec.folder} "
            f"(formats acceptés : {', '.join(EXTENSIONS)}). Déposez le fichier ou choisissez une autre période.")


def spec_sha256(spec: SourceSpec, layouts_dir: Path = LAYOUTS_DIR) -> str:
    """SHA-256 of the source's layout files (schema and layouts): what reading a file depends on."""
    digest = hashlib.sha256()
    for path in sorted((layouts_dir / spec.source).glob("*.toml")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def quarantine(settings: Settings, source: str, result: ReadResult) -> Path | None:
    """Write the rejected rows of one file to its quarantine CSV (or remove a stale one)."""
    path = settings.var_dir / "quarantine" / source / f"{result.path.name}.rejets.csv"
    if not result.rows_rejected:
        path.unlink(missing_ok=True)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    result.connection.execute(f"COPY ({result.rejets_sql()}) TO {literal(str(path))} (HEADER, DELIMITER ',')")
    return path


def pseudonymised(result: ReadResult, spec: SourceSpec, key: bytes | None) -> str:
    """The ``SELECT`` of the kept rows, every ``[source] pseudonymise`` column replaced by its keyed
    hash, computed by DuckDB as the rows are loaded (:func:`pipeline.sources.pseudonymise.hmac_sql`):
    the clear value never reaches a table of the warehouse."""
    if not spec.pseudonymise:
        return result.kept_sql()
    if key is None:
        raise PseudoKeyMissing(f"{result.path.name}: pas de clé de pseudonymisation.")
    return result.kept_sql({column: hmac_sql(quote(column), key) for column in spec.pseudonymise})


def partition_of(period: str) -> dict[str, object]:
    """``2021`` → {ANNEE: 2021}; ``2021-03`` → {ANNEE: 2021, MOIS: 3}."""
    if "-" in period:
        annee, mois = period.split("-")
        return {"ANNEE": int(annee), "MOIS": int(mois)}
    return {"ANNEE": int(period)}


def ingest_file(conn, settings: Settings, spec: SourceSpec, path: Path, period: str, run_id: str,
                key: bytes | None, ecriture: contextlib.AbstractContextManager | None = None,
                ) -> tuple[ReadResult | None, IngestionRecord | None]:
    """Read one extract and replace its period in ``raw.<source>`` (one transaction).

    The file is read into temporary tables of ``conn`` (the warehouse's connection), and its kept
    rows go from there to ``raw.<source>`` without passing through Python; the temporary tables are
    dropped before returning. Returns (None, None) when the same file was already ingested with the
    same layout files. ``ecriture`` (a lock), when files are read side by side: held from the check
    of the period's rows to the end of its replacement, so the writes are one at a time.
    """
    started = time.perf_counter()
    file_sha, layouts_sha = sha256(path), spec_sha256(spec)
    if last_ingestion(conn, spec.source, period) == (file_sha, layouts_sha):
        return None, None
    result = read_extract(path, spec, connection=conn, key=key)
    try:
        with ecriture or contextlib.nullcontext():
            held = period_rows(conn, f"raw.{spec.source}", partition_of(period))
            if result.rows_kept == 0 and held:
                # An export cut after its header, or whose every line is wrong, must not wipe a period.
                raise ExtractError(
                    f"{path.name}: aucune ligne à charger ({result.rows_read} lue(s), {result.rows_rejected} "
                    f"rejetée(s)) ; la période {period} garde les {held} lignes déjà chargées. Attendu : l'export "
                    f"complet de la période — voir « observatoire validate {path} ».")
            rows = f"SELECT *, {literal(path.name)} AS _FICHIER FROM ({pseudonymised(result, spec, key)})"
            record = IngestionRecord(
                source=spec.source, periode=period, fichier=path.name, sha256=file_sha, taille=path.stat().st_size,
                layout=result.layout, lignes_lues=result.rows_read, lignes_gardees=result.rows_kept,
                lignes_rejetees=result.rows_rejected, duree_s=round(time.perf_counter() - started, 3),
                run_id=run_id, spec_sha256=layouts_sha,
            )
            replace_partition(conn, f"raw.{spec.source}", rows, partition_of(period), record, result.rejets_sql())
            quarantine(settings, spec.source, result)
    finally:
        result.close()
    return result, record


def ingest_files(conn, settings: Settings, spec: SourceSpec, fichiers: list[tuple[str, Path]], run_id: str,
                 key: bytes | None) -> list[tuple[Path, tuple[ReadResult | None, IngestionRecord | None]]]:
    """:func:`ingest_file` for each (period, file) of ``fichiers``, :data:`FICHIERS_EN_PARALLELE` at a
    time (each reader on a connection of its own to the warehouse, the writes one at a time); the
    results in the order of ``fichiers``. A file that cannot be loaded fails the step with its message
    (the first in period order); every other file is loaded or not, each in its own transaction."""
    if len(fichiers) < 2:
        try:
            return [(path, ingest_file(conn, settings, spec, path, period, run_id, key)) for period, path in fichiers]
        except ExtractError as err:
            raise dg.Failure(description=str(err)) from err
    verrou = threading.Lock()
    locales = threading.local()
    seuil = conn.execute("SELECT current_setting('checkpoint_threshold')").fetchone()[0]
    conn.execute(f"SET checkpoint_threshold = {literal(SEUIL_CHECKPOINT)}")

    def un_fichier(period: str, path: Path):
        if not hasattr(locales, "conn"):
            locales.conn = quiet(conn.cursor())
            curseurs.append(locales.conn)
        return ingest_file(locales.conn, settings, spec, path, period, run_id, key, ecriture=verrou)

    curseurs: list = []
    try:
        with ThreadPoolExecutor(max_workers=FICHIERS_EN_PARALLELE, thread_name_prefix=f"ingest-{spec.source}") as pool:
            futures = [(path, pool.submit(un_fichier, period, path)) for period, path in fichiers]
        sorties = []
        for path, future in futures:
            try:
                sorties.append((path, future.result()))
            except ExtractError as err:
                raise dg.Failure(description=str(err)) from err
        return sorties
    finally:
        for curseur in curseurs:
            curseur.close()
        # the threshold as it was; the log folded now if it can be (else at the next checkpoint: the
        # files are committed either way, and a failure here must not hide the step's own)
        with contextlib.suppress(duckdb.Error):
            conn.execute(f"SET checkpoint_threshold = {literal(seuil)}")
            conn.execute("CHECKPOINT")


def _metadata(records: list[IngestionRecord], results: list[ReadResult], absents: list[str],
              inchanges: list[str]) -> dict:
    return {
        "fichiers": ", ".join(r.fichier for r in records) or "aucun",
        INCHANGES: ", ".join(inchanges) or "aucun",
        "absents": ", ".join(absents) or "aucun",
        "layouts": ", ".join(sorted({r.layout for r in records})) or "—",
        "lignes_lues": sum(r.lignes_lues for r in records),
        "lignes_gardees": sum(r.lignes_gardees for r in records),
        "lignes_rejetees": sum(r.lignes_rejetees for r in records),
        "colonnes_ignorees": ", ".join(sorted({c for res in results for c in res.extra_columns})) or "aucune",
        "premiers_rejets": "\n".join(m for res in results for m in res.first_messages[:5]) or "aucun",
    }


def build_ingest_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    """The ingest asset of one source (``raw/<source>``), partitioned by year or by month."""
    monthly = spec.period == "mois"
    required = spec.source in REQUIRED_SOURCES

    @dg.asset(
        key=["raw", spec.source],
        partitions_def=monthly_partitions if monthly else annual_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WRITER_POOL,
        group_name="ingestion",
        kinds={"duckdb", "python"},
        description=f"{spec.description or spec.source} — `data_raw/{spec.file_pattern}` → `raw.{spec.source}`"
                    f"{' (pseudonymisé : ' + ', '.join(spec.pseudonymise) + ')' if spec.pseudonymise else ''}.",
    )
    def _asset(context: dg.AssetExecutionContext, observatoire: ObservatoireResource,
               duckdb: DuckDBResource) -> dg.MaterializeResult:
        settings = observatoire.settings()
        records, results, absents, inchanges = [], [], [], []
        fichiers = []
        for period in sorted(context.partition_keys):
            path = find_extract(settings.data_dir, spec, period)
            if path is None:
                if required:
                    raise dg.Failure(description=missing_message(settings.data_dir, spec, period))
                absents.append(f"{spec.prefix}_{period}")
            else:
                fichiers.append((period, path))
        try:  # the key only when there is a file to read: a folder without monthly extracts needs none
            key = pseudo_key(settings.data_dir) if spec.pseudonymise and fichiers else None
        except PseudoKeyMissing as err:
            raise dg.Failure(description=str(err)) from err
        with duckdb.get_connection() as conn:
            quiet(conn)
            for path, (result, record) in ingest_files(conn, settings, spec, fichiers, context.run_id, key):
                if record is None:
                    inchanges.append(path.name)
                    continue
                context.log.info(f"{path.name}: disposition {record.layout}, {record.lignes_gardees} lignes "
                                 f"gardées, {record.lignes_rejetees} rejetées")
                records.append(record)
                results.append(result)
        if absents:
            context.log.warning(f"{spec.source}: pas d'extrait pour {', '.join(absents)} — non renseigné.")
        return dg.MaterializeResult(metadata=_metadata(records, results, absents, inchanges))

    return _asset


def ingest_assets() -> list[dg.AssetsDefinition]:
    """One ingest asset per source of the layouts folder."""
    return [build_ingest_asset(spec) for spec in all_sources()]


# --------------------------------------------------------------------------------------------
# Geography
# --------------------------------------------------------------------------------------------

GEO_FIELDS = {
    "iris": {"CODE_IRIS": ("CODE_IRIS", "code_iris", "IRIS"), "NOM_IRIS": ("NOM_IRIS", "nom_iris", "LIB_IRIS"),
             "INSEE_COM": ("INSEE_COM", "insee_com", "DEPCOM")},
    "qpv": {"CODE_QPV": ("code_qp", "CODE_QP", "CODE_QPV", "code_qpv"), "NOM": ("lib_qp", "LIB_QP", "NOM", "nom_qp"),
            "INSEE_COM": ("INSEE_COM", "insee_com", "code_insee")},
}


def read_zones(path: Path, kind: str) -> pd.DataFrame:
    """IRIS or QPV contours, any CRS, known field names → a frame with WKB geometry in Lambert-93."""
    frame = gpd.read_file(path)
    if frame.crs is None:
        raise ExtractError(f"{path.name}: pas de système de coordonnées déclaré (attendu : un .prj ou un crs).")
    frame = frame.to_crs("EPSG:2154")
    out = {}
    for target, names in GEO_FIELDS[kind].items():
        found = next((n for n in names if n in frame.columns), None)
        if found is None:
            raise ExtractError(f"{path.name}: champ {target} introuvable (noms connus : {', '.join(names)}).")
        out[target] = frame[found].astype(str)
    result = pd.DataFrame(out)
    result["FICTIF"] = frame["FICTIF"].astype(bool) if "FICTIF" in frame.columns else False
    result["GEOMETRY_WKB"] = shapely.to_wkb(frame.geometry.to_numpy())
    return result


def _geo_asset(kind: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", f"geo_{kind}"],
        partitions_def=annual_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WRITER_POOL,
        group_name="ingestion",
        kinds={"duckdb", "python"},
        description=f"Contours {kind.upper()} (`data_raw/geo/{kind}.*`, optionnels) en Lambert-93, par millésime.",
    )
    def _asset(context: dg.AssetExecutionContext, observatoire: ObservatoireResource,
               duckdb: DuckDBResource) -> dg.MaterializeResult:
        settings = observatoire.settings()
        geo_dir = settings.data_dir / "geo"
        path = next((geo_dir / f"{kind}{ext}" for ext in (".geojson", ".gpkg", ".shp")
                     if (geo_dir / f"{kind}{ext}").exists()), None)
        if path is None:
            context.log.warning(f"pas de contours {kind} dans {geo_dir} : cartes à cette maille non renseignées.")
            return dg.MaterializeResult(metadata={"fichier": "absent"})
        try:
            frame = read_zones(path, kind)
        except ExtractError as err:
            raise dg.Failure(description=str(err)) from err
        _store_geo(conn_factory=duckdb, context=context, path=path, frame=frame, table=f"raw.geo_{kind}",
                   source=f"geo_{kind}")
        return dg.MaterializeResult(metadata={"fichier": path.name, "zones": len(frame),
                                              "fictif": bool(frame["FICTIF"].all())})

    return _asset


def _store_geo(conn_factory: DuckDBResource, context: dg.AssetExecutionContext, path: Path, frame: pd.DataFrame,
               table: str, source: str) -> None:
    started, file_sha = time.perf_counter(), sha256(path)
    with conn_factory.get_connection() as conn:
        for key in sorted(context.partition_keys):
            if last_ingestion(conn, source, key) == (file_sha, ""):
                continue  # the same contours already loaded for this millésime (a rerun, a resumed backfill)
            record = IngestionRecord(
                source=source, periode=key, fichier=path.name, sha256=file_sha, taille=path.stat().st_size,
                layout=source, lignes_lues=len(frame), lignes_gardees=len(frame), lignes_rejetees=0,
                duree_s=round(time.perf_counter() - started, 3), run_id=context.run_id,
            )
            replace_partition(conn, table, frame, {"ANNEE": int(key)}, record)


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
    geo_dir = settings.data_dir / "geo"
    if not any((geo_dir / name).exists() for name in COMMUNE_FILES):
        # like the IRIS and QPV contours: the maps by commune are « non renseigné », the rest goes on
        context.log.warning(f"pas de contours communes dans {geo_dir} : cartes par commune non renseignées.")
        return dg.MaterializeResult(metadata={"fichier": "absent"})
    try:
        path = find_communes_file(geo_dir)
        communes = read_communes(path)
    except ExtractError as err:
        raise dg.Failure(description=str(err)) from err
    frame = pd.DataFrame({
        "CODE_INSEE": communes["CODE_INSEE"], "NOM": communes["NOM"], "FICTIF": communes["FICTIF"],
        "GEOMETRY_WKB": shapely.to_wkb(communes.geometry.to_numpy()),
    })
    _store_geo(duckdb, context, path, frame, "raw.geo_communes", "geo")
    return dg.MaterializeResult(metadata={"fichier": path.name, "communes": len(communes),
                                          "fictif": bool(communes["FICTIF"].all())})


raw_geo_iris = _geo_asset("iris")
raw_geo_qpv = _geo_asset("qpv")
