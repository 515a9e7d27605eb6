"""The DuckDB warehouse: atomic loads into ``raw``, the ingestion log, read-only access for readers.

DuckDB locks the file for one process at a time when it writes: a reader in another process cannot
open it while a writer holds it, nor a writer while a reader does. Every asset and check that opens
the warehouse, writer or reader, is in the ``duckdb_writer`` concurrency pool (one slot for the
whole Dagster instance), so two runs on one home take turns; :func:`connect` also waits, within a
bound, for a process outside the pool (the CLI recording the quality results after a run, another
tool) to let go of the file. Readers use :func:`connect_read_only`.
"""

from __future__ import annotations

import hashlib
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd

from pipeline.settings import duckdb_config

INGESTION_LOG = "raw._ingestion"
QUARANTINE = "raw._quarantaine"
#: How long :func:`connect` waits for another process to let go of the warehouse, by default: long
#: enough for the short holds outside the pool, short enough to name a process that keeps it open.
LOCK_WAIT_S = 120.0


class WarehouseBusy(Exception):
    """The warehouse stayed locked by another process for longer than the wait."""


@contextmanager
def connect(warehouse: Path, read_only: bool = False,
            lock_wait_s: float = LOCK_WAIT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (creating its folder when writing) and always close it; while another
    process holds its lock, try again for up to ``lock_wait_s`` seconds, then raise
    :class:`WarehouseBusy`."""
    if read_only and not warehouse.exists():
        raise FileNotFoundError(f"{warehouse}: l'entrepôt n'existe pas encore ; lancez d'abord l'ingestion.")
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    conn = quiet(_open(warehouse, read_only, lock_wait_s))
    try:
        yield conn
    finally:
        conn.close()


def quiet(conn: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """No progress bar: DuckDB would draw it on the console, past the run's log and summary."""
    try:
        conn.execute("SET enable_progress_bar = false")
    except duckdb.InvalidInputException:  # in a Jupyter kernel (the atlas) it refuses, and draws none
        pass
    return conn


def connect_read_only(warehouse: Path, lock_wait_s: float = LOCK_WAIT_S):
    """Read-only connection for the quality checks and the reports."""
    return connect(warehouse, read_only=True, lock_wait_s=lock_wait_s)


def _open(warehouse: Path, read_only: bool, lock_wait_s: float) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect``, again every half second while another process holds the file's lock."""
    deadline = time.monotonic() + lock_wait_s
    while True:
        try:
            return duckdb.connect(str(warehouse), read_only=read_only, config=duckdb_config())
        except duckdb.IOException as err:
            if "Could not set lock" not in str(err):
                raise
            if time.monotonic() >= deadline:
                holder = re.search(r"\(PID (\d+)\)", str(err))
                raise WarehouseBusy(
                    f"{warehouse}: l'entrepôt est tenu par un autre processus"
                    f"{f' (PID {holder.group(1)})' if holder else ''} depuis plus de {lock_wait_s:g} s, "
                    f"{'en écriture' if read_only else 'en lecture ou en écriture'}. Un autre run de ce dossier "
                    f"(observatoire status le dit), un job lancé depuis make ui ou un outil qui a ouvert le fichier "
                    f"le garde : attendez sa fin ou fermez l'outil, puis relancez.") from err
            time.sleep(0.5)


def sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class IngestionRecord:
    """One line of the ingestion log."""

    source: str
    periode: str
    fichier: str
    sha256: str
    taille: int
    layout: str
    lignes_lues: int
    lignes_gardees: int
    lignes_rejetees: int
    duree_s: float
    run_id: str
    #: SHA-256 of the source's layout files: a changed layout re-reads an unchanged file.
    spec_sha256: str = ""


def replace_partition(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    rows: pd.DataFrame | str,
    partition: dict[str, object],
    record: IngestionRecord | None = None,
    rejets: pd.DataFrame | str | None = None,
) -> None:
    """Replace the rows of one period of ``table`` by ``rows``, in one transaction.

    ``rows`` is a frame or a ``SELECT`` (an extract read into DuckDB is loaded without going through
    Python). ``partition`` names the key columns and values of the period (e.g. ``{"ANNEE": 2021}``);
    they are set on every row. The period's quarantine rows (``rejets``, a frame or a ``SELECT``) and
    the ingestion log line go in the same transaction. A failure rolls everything back: the
    warehouse stays as it was.
    """
    schema = table.split(".")[0]
    registered = []
    conn.execute("begin transaction")
    try:
        source = _relation(conn, rows, "_incoming", registered)
        columns = conn.sql(f"SELECT * FROM ({source}) LIMIT 0").columns
        values = {k: f"CAST({int(v)} AS BIGINT) AS {_quote(k)}" for k, v in partition.items()}
        replaced = [values[k] for k in partition if k in columns]
        added = [values[k] for k in partition if k not in columns]
        select = (f"SELECT * {'REPLACE (' + ', '.join(replaced) + ')' if replaced else ''}"
                  f"{', ' + ', '.join(added) if added else ''} FROM ({source})")
        where = " and ".join(f'"{k}" = ?' for k in partition)
        conn.execute(f"create schema if not exists {schema}")
        conn.execute(f"create table if not exists {table} as {select} limit 0")
        conn.execute(f"delete from {table} where {where}", list(partition.values()))
        # The rows carry their line (_LIGNE): their order in the table does not matter, and without it
        # DuckDB compresses and writes the row groups of a large load on every core.
        conn.execute("set preserve_insertion_order = false")
        try:
            conn.execute(f"insert into {table} by name {select}")
        finally:
            conn.execute("reset preserve_insertion_order")
        if record is not None:
            _log(conn, record)
            if rejets is not None:
                _quarantine(conn, record, _relation(conn, rejets, "_rejets", registered))
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
    finally:
        for name in registered:
            conn.unregister(name)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _relation(conn: duckdb.DuckDBPyConnection, rows: pd.DataFrame | str, name: str, registered: list[str]) -> str:
    """A ``SELECT`` of ``rows``: itself, or the frame registered under ``name``."""
    if isinstance(rows, str):
        return rows
    conn.register(name, rows)
    registered.append(name)
    return f"SELECT * FROM {name}"


def _log(conn: duckdb.DuckDBPyConnection, record: IngestionRecord) -> None:
    conn.execute(
        f"""create table if not exists {INGESTION_LOG} (
            source varchar, periode varchar, fichier varchar, sha256 varchar, taille bigint,
            layout varchar, lignes_lues bigint, lignes_gardees bigint, lignes_rejetees bigint,
            duree_s double, run_id varchar, ingere_le timestamp)"""
    )
    conn.execute(f"alter table {INGESTION_LOG} add column if not exists spec_sha256 varchar")
    conn.execute(
        f"""insert into {INGESTION_LOG} by name select ? as source, ? as periode, ? as fichier,
            ? as sha256, ? as taille, ? as layout, ? as lignes_lues, ? as lignes_gardees,
            ? as lignes_rejetees, ? as duree_s, ? as run_id, ? as ingere_le, ? as spec_sha256""",
        [record.source, record.periode, record.fichier, record.sha256, record.taille, record.layout,
         record.lignes_lues, record.lignes_gardees, record.lignes_rejetees, record.duree_s,
         record.run_id, datetime.now(timezone.utc).replace(tzinfo=None), record.spec_sha256],
    )


def _quarantine(conn: duckdb.DuckDBPyConnection, record: IngestionRecord, rejets: str) -> None:
    """Replace the quarantined rows of (source, period) by those of this ingestion (a ``SELECT`` of
    fichier, ligne, colonne, valeur, regle, message)."""
    conn.execute(
        f"""create table if not exists {QUARANTINE} (
            source varchar, periode varchar, fichier varchar, ligne bigint, colonne varchar,
            valeur varchar, regle varchar, message varchar, run_id varchar)"""
    )
    conn.execute(f"delete from {QUARANTINE} where source = ? and periode = ?", [record.source, record.periode])
    conn.execute(f"""insert into {QUARANTINE} by name select ? as source, ? as periode, fichier,
                     cast(ligne as bigint) as ligne, colonne, cast(valeur as varchar) as valeur, regle, message,
                     ? as run_id from ({rejets})""", [record.source, record.periode, record.run_id])


def period_rows(conn: duckdb.DuckDBPyConnection, table: str, partition: dict[str, object]) -> int:
    """How many rows ``table`` holds for one period (0 when the table does not exist yet)."""
    schema, name = table.split(".")
    exists = conn.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                          [schema, name]).fetchone()[0]
    if not exists:
        return 0
    where = " and ".join(f'"{k}" = ?' for k in partition)
    return conn.execute(f"select count(*) from {table} where {where}", list(partition.values())).fetchone()[0]


def last_ingestion(conn: duckdb.DuckDBPyConnection, source: str, periode: str) -> tuple[str, str] | None:
    """(file SHA-256, layout SHA-256) of the last ingestion of (source, period), if any."""
    exists = conn.execute(
        "select count(*) from information_schema.tables where table_schema = 'raw' and table_name = '_ingestion'"
    ).fetchone()[0]
    if not exists:
        return None
    conn.execute(f"alter table {INGESTION_LOG} add column if not exists spec_sha256 varchar")
    row = conn.execute(
        f"select sha256, spec_sha256 from {INGESTION_LOG} where source = ? and periode = ? "
        f"order by ingere_le desc limit 1", [source, periode]).fetchone()
    return (row[0], row[1] or "") if row else None


def tables_of_schema(conn: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    """The tables (and views) of ``schema``."""
    return {r[0] for r in conn.execute(
        "select table_name from information_schema.tables where table_schema = ?", [schema]).fetchall()}


def columns_of(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    """The columns of ``schema.table``, in order."""
    return [r[0] for r in conn.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, table]).fetchall()]
