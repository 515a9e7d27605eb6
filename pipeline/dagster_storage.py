"""Dagster's SQLite storage of the instance, its database engines kept from one write to the next.

Dagster's SQLite storages (the default of a ``dagster.yaml`` without ``storage``) build a SQLAlchemy
engine, connect and throw both away for every read and write of the run and event logs. A run of the
observatoire writes about a thousand events (each step's start, output and success, each asset
partition's planned and done materialisation, each check, each log line; an asset event twice: in
the run's file and in the index), so that alone was ≈ 3 s of a demo year (3.1 ms a log event,
0.7 ms with the engine kept: ``benchmarks`` and the README's « Performance »).

:class:`StockageSqlite` is the same storage — same files under ``<DAGSTER_HOME>/history``, same
schema, same locking: an existing home keeps its runs —, with one engine per database file, kept
(the last :data:`MOTEURS_GARDES` files of the event log: one per run, and the index). Between two
transactions a kept connection holds no lock and no snapshot (SQLite in WAL mode, as Dagster sets
it), so the UI, the daemon and the runs' processes still share the files as before. ``settings.py``
names the class in the ``dagster.yaml`` it writes.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator

from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

#: Engines kept by the event log: one per database file (a run's, the index); the oldest is closed
#: beyond (the UI reads the files of many runs).
MOTEURS_GARDES = 8


def _moteur(conn_string: str) -> Engine:
    """An engine with SQLAlchemy's pool of connections (its default for a SQLite file), Dagster's
    busy timeout."""
    return create_engine(conn_string, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})


class JournalSqlite(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log, an engine kept per file."""

    def __init__(self, base_dir: str, inst_data=None) -> None:
        self._moteurs: OrderedDict[str, Engine] = OrderedDict()
        self._moteurs_verrou = threading.Lock()
        self._tables_vues: set[str] = set()
        super().__init__(base_dir, inst_data=inst_data)

    def _moteur_de(self, shard: str) -> Engine:
        with self._moteurs_verrou:
            moteur = self._moteurs.get(shard)
            if moteur is None:
                moteur = self._moteurs[shard] = _moteur(self.conn_string_for_shard(shard))
                while len(self._moteurs) > MOTEURS_GARDES:
                    self._moteurs.popitem(last=False)[1].dispose()
            else:
                self._moteurs.move_to_end(shard)
            return moteur

    @contextlib.contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # as Dagster's: one transaction at a time in this process, the file initialised at first use
        with self._db_lock:
            moteur = self._moteur_de(shard)
            if shard not in self._initialized_dbs:
                self._initdb(moteur)
                self._initialized_dbs.add(shard)
            with moteur.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        # asked at every asset and check event; a table of the index is never dropped (a wipe
        # empties it), so once seen it is not asked again
        if table_name in self._tables_vues:
            return True
        with self._moteur_de("index").connect() as conn:
            present = bool(conn.dialect.has_table(conn, table_name))
        if present:
            self._tables_vues.add(table_name)
        return present

    def _fermer_moteurs(self) -> None:
        with self._moteurs_verrou:
            for moteur in self._moteurs.values():
                moteur.dispose()
            self._moteurs.clear()

    def wipe(self) -> None:
        self._fermer_moteurs()  # the runs' files are deleted: no connection left open on them
        super().wipe()

    def dispose(self) -> None:
        super().dispose()  # the watchers first: a watcher's read would build an engine again
        self._fermer_moteurs()


class RunsSqlite(SqliteRunStorage):
    """Dagster's SQLite run storage, its engine kept."""

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        moteur = self.__dict__.get("_moteur")
        if moteur is None:
            moteur = self.__dict__.setdefault("_moteur", _moteur(self._conn_string))
        with moteur.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        super().dispose()
        if (moteur := self.__dict__.pop("_moteur", None)) is not None:
            moteur.dispose()


class StockageSqlite(DagsterSqliteStorage):
    """Dagster's SQLite storage (runs, event log, schedules under ``base_dir/history``), the run
    storage and the event log keeping their engines. In ``dagster.yaml``::

        storage:
          custom:
            module: pipeline.dagster_storage
            class: StockageSqlite
            config:
              base_dir: <DAGSTER_HOME>
    """

    def __init__(self, base_dir: str, inst_data=None) -> None:
        # DagsterSqliteStorage.__init__ builds Dagster's own storages: built here instead
        self.base_dir = base_dir
        self._run_storage = RunsSqlite.from_local(_runs_directory(base_dir))
        self._event_log_storage = JournalSqlite(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "StockageSqlite":
        return cls.from_local(inst_data=inst_data, **config_value)
