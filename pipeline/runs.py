"""The CLI's Dagster runs: what each is doing (progress), and what a killed run left behind.

- :class:`Progression` prints the steps of a run as Dagster records them in the instance's event
  log (a thread reads the run's events while ``execute_in_process`` runs): job, years, step,
  done/total, elapsed — on the console even when the tools' output goes to the log file.
- :func:`recover_killed_runs`: a run killed (SIGKILL, power cut) stays STARTED in the run storage
  and keeps its places in the writers' concurrency pool, which would make every later run wait for
  ever. Each CLI run carries the id and start time of its process (:func:`process_tags`); a run
  still STARTED whose process is gone is marked failed and its places freed.
- :func:`dagster_instance`: the home's instance, its storage created by one process at a time.
- :func:`stale_publication_files`: the temporary copies a killed publication left beside the
  published files (``reports/output/<année>/.indicateurs.*``, ``.atlas_….pdf.tmp``), never read,
  removed before the next run when no other run is alive.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import dagster as dg
import psutil
from rich.console import Console

from pipeline.publication.exports import restes_de_publication

@contextlib.contextmanager
def dagster_instance(dagster_home: Path):
    """The Dagster instance of ``dagster_home``, its storage created (or checked) by one process at a
    time: two runs started together on a fresh home each stamped the SQLite schema, leaving two
    alembic heads, and every later opening failed (« Version table 'alembic_version' has more than
    one head present »)."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    with (dagster_home / ".creation.lock").open("a") as verrou:
        fcntl.flock(verrou, fcntl.LOCK_EX)
        try:
            instance = dg.DagsterInstance.from_config(str(dagster_home))
            instance.get_runs(limit=1)  # the run storage exists, stamped, before the lock is released
        finally:
            fcntl.flock(verrou, fcntl.LOCK_UN)
    with instance:
        yield instance


#: Tags of a CLI run: the process that executes it (pid, its start time, the host).
PID_TAG, PID_START_TAG, HOST_TAG = "observatoire/pid", "observatoire/pid_debut", "observatoire/hote"
ALIVE_STATUSES = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
STEP_EVENTS = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}


def process_tags() -> dict[str, str]:
    """The tags naming this process (a pid alone may be reused by another process after a reboot)."""
    return {PID_TAG: str(os.getpid()), PID_START_TAG: f"{psutil.Process().create_time():.2f}",
            HOST_TAG: socket.gethostname()}


def _process_alive(tags: dict[str, str]) -> bool:
    """Whether the process a run's tags name still runs (unknown tags, another host: assumed alive)."""
    if PID_TAG not in tags or tags.get(HOST_TAG) != socket.gethostname():
        return True
    try:
        process = psutil.Process(int(tags[PID_TAG]))
        return f"{process.create_time():.2f}" == tags.get(PID_START_TAG) and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def recover_killed_runs(instance: dg.DagsterInstance) -> tuple[list[str], int]:
    """Mark failed the runs still STARTED whose process is gone, free their concurrency places;
    return their ids and how many runs of this instance are still alive (other processes)."""
    recovered, alive = [], 0
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=ALIVE_STATUSES)):
        if _process_alive(run.tags):
            alive += 1
            continue
        instance.report_run_failed(run, f"processus {run.tags[PID_TAG]} arrêté pendant le run (tué, machine "
                                        f"arrêtée) : marqué en échec par le run suivant.")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        recovered.append(run.run_id)
    return recovered, alive


def stale_publication_files(output_dir: Path) -> list[Path]:
    """The temporary copies left under ``reports/output/<année>/`` by a publication that was killed."""
    if not output_dir.is_dir():
        return []
    return [reste for annee in sorted(output_dir.iterdir()) if annee.is_dir()
            for dossier in (annee, annee / "interne") if dossier.is_dir() for reste in restes_de_publication(dossier)]


def remove(paths: list[Path]) -> None:
    for path in paths:
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)


def duration(seconds: float) -> str:
    """``75`` → « 1 min 15 s »."""
    minutes, secondes = divmod(int(seconds), 60)
    return f"{minutes} min {secondes:02d} s" if minutes else f"{secondes} s"


class Progression:
    """Print, while a run executes, each step it starts and finishes (from the run's event log).

    ``with Progression(instance, run_id, "annuel 2020–2021", console): job.execute_in_process(run_id=run_id…)``.
    """

    POLL_S = 0.5

    def __init__(self, instance: dg.DagsterInstance, run_id: str, label: str, console: Console) -> None:
        self.instance, self.run_id, self.label, self.console = instance, run_id, label, console
        self.cursor: str | None = None
        self.total: int | None = None
        self.done = 0
        self.started = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"progression-{run_id[:8]}", daemon=True)

    def __enter__(self) -> "Progression":
        self.console.print(f"[bold]{self.label}[/bold] : lancé (run {self.run_id[:8]})")
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()  # the events written after the last poll

    def _watch(self) -> None:
        while not self._stop.wait(self.POLL_S):
            try:
                self.poll()
            except Exception:  # a busy storage: the next poll reads the events again from the cursor
                continue

    def _steps(self) -> int | None:
        run = self.instance.get_run_by_id(self.run_id)
        if run is None or run.execution_plan_snapshot_id is None:
            return None
        return len(self.instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id).steps)

    def poll(self) -> None:
        """Print the step events recorded since the last poll."""
        if self.total is None:
            self.total = self._steps()
        connection = self.instance.get_records_for_run(self.run_id, cursor=self.cursor, of_type=STEP_EVENTS)
        self.cursor = connection.cursor if connection.records else self.cursor
        for record in connection.records:
            event = record.event_log_entry.dagster_event
            elapsed = duration(time.perf_counter() - self.started)
            total = self.total or "?"
            if event.event_type == dg.DagsterEventType.STEP_START:
                self.console.print(f"  {self.label} · {self.done}/{total} · {event.step_key} … ({elapsed})")
            elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
                self.done += 1
            else:
                self.console.print(f"  {self.label} · {event.step_key} [red]en échec[/red] ({elapsed})")

    def summary(self) -> str:
        return f"{self.label} : {self.done}/{self.total or '?'} étapes en {duration(time.perf_counter() - self.started)}"
