"""The Dagster instance's storage (pipeline/dagster_storage.py): Dagster's SQLite files, engines kept."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import dagster as dg
from dagster._core.events.log import EventLogEntry

from pipeline import dagster_storage
from pipeline.dagster_storage import MOTEURS_GARDES, JournalSqlite, RunsSqlite
from pipeline.runs import dagster_instance
from pipeline.settings import Settings


@dg.asset(partitions_def=dg.StaticPartitionsDefinition(["a", "b", "c"]))
def _essai(context) -> None:  # (no annotation: this module postpones them, Dagster reads them)
    context.log.info(f"partition {context.partition_key}")


def _run(instance: dg.DagsterInstance, partition: str) -> str:
    job = dg.Definitions(assets=[_essai]).resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(instance=instance, partition_key=partition)
    assert result.success
    return result.run_id


def test_a_home_keeps_its_runs_in_dagsters_files_written_through_kept_engines(tmp_path, monkeypatch) -> None:
    """A home made before (Dagster's own storage) opens with the observatoire's: its runs and
    materialisations are there, the new ones go to the same files; a run's thousand writes no longer
    build an engine each (Dagster's SQLite storage builds one per read and per write)."""
    settings = Settings(home=tmp_path / "home", data_dir=tmp_path / "data")
    settings.dagster_home.mkdir(parents=True)
    (settings.dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # Dagster's default storage
    with dagster_instance(settings.dagster_home) as instance:
        assert not isinstance(instance.event_log_storage, JournalSqlite)
        avant = _run(instance, "a")

    settings.activate()  # writes the observatoire's dagster.yaml
    assert "class: StockageSqlite" in (settings.dagster_home / "dagster.yaml").read_text()
    construits = []
    original = dagster_storage.create_engine
    monkeypatch.setattr(dagster_storage, "create_engine", lambda *a, **k: construits.append(a[0]) or original(*a, **k))
    with dagster_instance(settings.dagster_home) as instance:
        assert isinstance(instance.event_log_storage, JournalSqlite)
        assert isinstance(instance.run_storage, RunsSqlite)
        assert {r.run_id for r in instance.get_runs()} == {avant}
        apres = _run(instance, "b")
        nouveaux = [apres, _run(instance, "c"), _run(instance, "a")]
        assert {r.run_id for r in instance.get_runs()} == {avant, *nouveaux}
        assert instance.get_run_by_id(avant).is_success
        assert any(e.user_message == "partition a" for e in instance.all_logs(avant))
        materialisees = instance.get_materialized_partitions(dg.AssetKey("_essai"))
        assert materialisees == {"a", "b", "c"}
        ecritures = sum(len(instance.all_logs(r)) for r in nouveaux)
    fichiers = sorted(p.name for p in (settings.dagster_home / "history" / "runs").glob("*.db"))
    assert fichiers == sorted(["index.db"] + [f"{r}.db" for r in (avant, *nouveaux)])
    # three new runs of a dozen events each: one engine per file (runs.db, index.db, the file of
    # each of the four runs read or written)
    assert ecritures >= 36
    assert len(construits) == 1 + 1 + 4, construits
    assert sum(c.endswith("/index.db") for c in construits) == 1


def test_the_event_log_keeps_a_few_engines_and_closes_them_before_a_wipe(tmp_path) -> None:
    """One engine per file, the oldest closed beyond MOTEURS_GARDES (the UI reads many runs); a wipe
    closes them before deleting the runs' files."""
    base = tmp_path / "runs"
    journal = JournalSqlite(str(base))
    for numero in range(MOTEURS_GARDES + 4):
        journal.store_event(EventLogEntry(error_info=None, level=logging.INFO, user_message=f"m{numero}",
                                          run_id=f"run{numero}", timestamp=time.time()))
    assert len(journal._moteurs) == MOTEURS_GARDES
    assert f"run{MOTEURS_GARDES + 3}" in journal._moteurs and "run0" not in journal._moteurs
    assert [e.user_message for e in journal.get_logs_for_run("run0")] == ["m0"]  # a closed engine is built again
    journal.wipe()
    assert list(journal._moteurs) == ["index"]  # built again to empty the index
    assert sorted(Path(p).name for p in base.glob("*.db")) == ["index.db"]
    journal.dispose()
