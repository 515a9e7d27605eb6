"""Faults and backfills: a run killed mid-way, then run again, ends where an uninterrupted run ends;
a backfill that failed in one year resumes without reloading what it had loaded.

The slow tests start real runs (``python -m pipeline.cli run``) in their own process group, kill the
whole group (SIGKILL: the CLI, dbt, the Jupyter kernel) when the run reaches a stage, run again and
compare the warehouse's row counts and the published files with those of an uninterrupted run. They
run on a small demo (every source, LIGNES rows per extract): what they test is the runs' bookkeeping,
which a run's volume does not change, and each run costs its fixed part only.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.storage.dagster_run import DagsterRun
from pypdf import PdfReader

from pipeline.demo import generate
from pipeline.demo.reduction import small_years
from pipeline.runs import HOST_TAG, PID_START_TAG, PID_TAG, process_tags, recover_killed_runs
from pipeline.settings import PROJECT_DIR, WRITER_POOL
from pipeline.sources.pseudonymise import DEMO_KEY

ANNEE = 2021
#: The schemas whose row counts must not change with a kill: the loads, dbt's layers, the referentials
#: (``qualite`` keeps one line per check of every run, the killed one included: a log, not data).
SCHEMAS = ("raw", "staging", "intermediate", "marts", "referentiels")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: What legitimately differs between two runs of the same inputs: run ids, dates and times, durations.
VOLATILE = [
    re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"),
    re.compile(r"\d{8}T\d{6}(?:\.\d+)?Z?"),
    re.compile(r"\d\d/\d\d/\d{4}(?: (?:à )?\d\d[:h]\d\d(?::\d\d)?)?"),
    re.compile(r'"(?:duree_s|duree_rendu_s|execution_time|elapsed_time|timing|created_at|sha256)": ?[^,}\]]+'),
    re.compile(r"\b[0-9a-f]{32}\b"),  # GX's validation ids
    re.compile(r"dbt_\w+-[0-9a-f]{7}-[0-9a-f]{7}"),  # dbt's folder per invocation (pipeline.assets.dbt)
    # the SQL dbt ran last, in the dbt docs: an incremental model's filter is there only when its table
    # existed before the run (a rerun after a kill), the rows it builds are the same
    re.compile(r'"compiled_code": "(?:[^"\\]|\\.)*"'),
]


def test_a_run_left_started_by_a_dead_process_is_failed_and_frees_its_writer_place(tmp_path) -> None:
    """The run a killed CLI left STARTED keeps its place in the writers' pool: every later run would
    wait for ever. It is marked failed and its place freed; a run whose process lives is left alone."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with dg.instance_for_test(overrides={"concurrency": {"pools": {"default_limit": 1}}}) as instance:
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(WRITER_POOL)
        killed, alive = str(uuid.uuid4()), str(uuid.uuid4())
        instance.add_run(DagsterRun(job_name="annuel", run_id=killed, status=dg.DagsterRunStatus.STARTED,
                                    tags={**process_tags(), PID_TAG: str(dead.pid), PID_START_TAG: "0.00"}))
        instance.add_run(DagsterRun(job_name="annuel", run_id=alive, status=dg.DagsterRunStatus.STARTED,
                                    tags=process_tags()))
        assert storage.claim_concurrency_slot(WRITER_POOL, killed, "raw__rpls").is_claimed
        assert not storage.claim_concurrency_slot(WRITER_POOL, "suivant", "raw__rpls").is_claimed
        assert recover_killed_runs(instance) == ([killed], 1)
        assert instance.get_run_by_id(killed).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive).status == dg.DagsterRunStatus.STARTED
        assert storage.claim_concurrency_slot(WRITER_POOL, "suivant", "raw__rpls").is_claimed
        assert recover_killed_runs(instance) == ([], 1)
        assert {HOST_TAG, PID_TAG, PID_START_TAG} <= set(process_tags())


# ----------------------------------------------------------------------------------------------
# Real runs, killed
# ----------------------------------------------------------------------------------------------


def cli(home: Path, *args: str, **popen) -> subprocess.Popen:
    """``python -m pipeline.cli …`` of this checkout, with its own home, in a process group of its own."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OBSERVATOIRE_", "DAGSTER_", "MPLCONFIGDIR", "XDG_CACHE_HOME"))}
    env.update({"OBSERVATOIRE_HOME": str(home), "COLUMNS": "200",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_DIR), env.get("PYTHONPATH")])),
                # a demo folder with a file broken on purpose is real data (pipeline.provenance): it needs a
                # key; the demo's own keeps the pseudonyms of the runs compared with it
                "OBSERVATOIRE_PSEUDO_KEY": DEMO_KEY})
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", *args], env=env, cwd=PROJECT_DIR,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            **popen)


def run(home: Path, *args: str) -> str:
    process = cli(home, *args)
    try:
        out, _ = process.communicate(timeout=1500)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
        pytest.fail(f"run bloqué (plus de 25 min) :\n{out[-3000:]}")
    assert process.returncode == 0, out[-4000:]
    return out


def step_started(home: Path, step: str) -> bool:
    """Whether a run of ``home``'s Dagster instance has started the step ``step`` (its event log)."""
    # the instance's SQLite event log: one database per run (pipeline.settings writes the instance)
    for db in (home / "var" / "dagster" / "history" / "runs").glob("*.db"):
        if db.name == "index.db":
            continue
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
                if conn.execute("select 1 from event_logs where dagster_event_type = 'STEP_START' and step_key = ?",
                                [step]).fetchone():
                    return True
        except sqlite3.Error:
            continue
    return False


def dbt_building_marts(home: Path) -> bool:
    """Whether dbt, in the run's log, has built a first intermediate or mart model (and is building more)."""
    return any(re.search(r"OK created sql \w+ model (?:intermediate|marts)\.", log.read_text(errors="replace"))
               for log in (home / "var" / "logs").glob("run_*.log"))


#: When to kill, per stage: a signal the run itself leaves (its Dagster events, dbt's log).
STAGES = {
    "ingestion": lambda home: step_started(home, "raw__rpls"),
    "dbt": dbt_building_marts,
    "publication": lambda home: step_started(home, "publication"),
}


def kill_at(home: Path, stage: str, *args: str) -> str:
    """Start a run, SIGKILL its whole process group as soon as it reaches ``stage``."""
    process = cli(home, *args)
    deadline = time.monotonic() + 1500
    while not STAGES[stage](home):
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"le run s'est terminé (ou a traîné) avant l'étape « {stage} » :\n{process.stdout.read()[-3000:]}")
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    out, _ = process.communicate()
    assert process.returncode == -signal.SIGKILL
    return out


def normalised(path: Path, volatile: set[str], home: Path) -> str:
    """SHA-256 of a published file, what legitimately changes per run (run ids, dates, durations) left out."""
    return hashlib.sha256(normalised_text(path, volatile, home).encode()).hexdigest()


def normalised_text(path: Path, volatile: set[str], home: Path) -> str:
    """A published file as text — a CSV as it is, a workbook member by member, a GeoPackage row by row,
    a PDF by its text — the home's path, run ids, code version, dates and durations replaced."""
    data = path.read_bytes()
    if path.suffix == ".pdf":
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    elif path.suffix == ".xlsx":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            text = "\n".join(f"{name}\n{archive.read(name).decode(errors='replace')}" for name in sorted(archive.namelist()))
    elif path.suffix == ".gpkg":
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            text = "\n".join(conn.iterdump())
    else:
        text = data.decode(errors="replace")
    # a date of another length wraps the HTML's source lines and the PDF's lines elsewhere (« … à » at
    # the end of one line, the time on the next): the same text, not the same bytes — whitespace first
    text = re.sub(r"\s+", " ", text.replace(str(home), "<home>"))
    for value in sorted(volatile, key=len, reverse=True):  # a run id, then its short form
        text = text.replace(value, "<variable>").replace(value[:8], "<variable>")
    text = UUID.sub("<uuid>", text)
    for pattern in VOLATILE:
        text = pattern.sub("<variable>", text)
    return text


def state(home: Path) -> dict:
    """Row counts of the warehouse's tables and views, and the digest of every published file (the
    archives of previous versions aside)."""
    with duckdb.connect(str(home / "var" / "warehouse" / "observatoire.duckdb"), read_only=True) as conn:
        tables = conn.execute("select table_schema, table_name from information_schema.tables where table_schema in "
                              f"({', '.join(repr(s) for s in SCHEMAS)}) order by all").fetchall()
        counts = {f"{s}.{t}": conn.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in tables}
    output = home / "reports" / "output"
    stamps = [json.loads(p.read_text(encoding="utf-8")) for p in output.rglob("_metadonnees.json")]
    # the run ids, and the code version (the commit: a test may run while the checkout changes)
    volatile = {stamp[key] for stamp in stamps for key in ("run_id", "version_du_code")}
    files = {str(p.relative_to(output)): normalised(p, volatile, home) for p in sorted(output.rglob("*"))
             if p.is_file() and "archives" not in p.relative_to(output).parts}
    return {"lignes": counts, "fichiers": files}


#: Rows kept of each extract: the runs here are about faults, not volume — a small demo (every source
#: present, every stage run) costs a run's fixed part only.
LIGNES = 200


@pytest.fixture(scope="module")
def donnees(tmp_path_factory) -> Path:
    """The demo extracts of 2020 and 2021 cut to LIGNES rows each (still the demo's, with its manifest)."""
    racine = tmp_path_factory.mktemp("pannes")
    generate(racine / "demo", years=(ANNEE - 1, ANNEE))
    data = racine / "data_raw"
    small_years(racine / "demo", (ANNEE - 1, ANNEE), LIGNES, data)
    return data


def backfill(donnees: Path) -> tuple[str, ...]:
    """The run compared: 2020–2021 in one run, the atlas included."""
    return ("run", "--annee", f"{ANNEE - 1}-{ANNEE}", "--data-dir", str(donnees))


@pytest.fixture(scope="module")
def reference(tmp_path_factory, donnees) -> dict:
    """The state an uninterrupted run leaves."""
    home = tmp_path_factory.mktemp("reference") / "home"
    run(home, *backfill(donnees))
    return state(home)


def runs_of(home: Path) -> list[tuple[str, dg.DagsterRunStatus]]:
    """The jobs and statuses of the runs in ``home``'s Dagster instance."""
    from pipeline.runs import dagster_instance

    with dagster_instance(home / "var" / "dagster") as instance:
        return [(r.job_name, r.status) for r in instance.get_runs()]


@pytest.mark.slow
def test_a_backfill_failed_then_killed_at_each_stage_resumes_and_ends_as_an_uninterrupted_run(
        tmp_path, donnees, reference) -> None:
    """One home, the faults one after the other:

    1. 2020–2021 with an unreadable 2021 extract fails (in the monthly ingestion, 2020 loaded);
    2. fixed, rerun and killed (SIGKILL of the whole process group) in the ingestion of the annual
       extracts, rerun and killed in dbt, rerun and killed in the publication;
    3. rerun to the end: it does not read again what the failed run loaded (it says so), every killed
       run was marked failed by the run after it (none left « started », holding its place in the
       writers' pool), and it ends where an uninterrupted run does — same rows in every layer, same
       published files, nothing half-written beside them."""
    home = tmp_path / "home"
    args = backfill(donnees)
    bad = donnees / "sne" / f"demandes_{ANNEE}-06.csv"
    good = bad.read_bytes()
    bad.write_bytes(b"\x00\x01\x02 pas un CSV")
    try:
        failed = cli(home, *args)
        out, _ = failed.communicate(timeout=1500)
    finally:
        bad.write_bytes(good)  # the module's extracts, as the reference read them
    assert failed.returncode == 1 and bad.name in out, out[-3000:]
    assert "· 0/" in out and "raw__demandes" in out  # the progress of the steps, in quiet mode
    warehouse = home / "var" / "warehouse" / "observatoire.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        loaded = conn.execute("select source, periode, run_id from raw._ingestion where periode like ? order by all",
                              [f"{ANNEE - 1}%"]).fetchall()
    assert {source for source, _, _ in loaded} >= {"demandes", "attributions"}

    for stage in STAGES:
        kill_at(home, stage, *args)
    out = run(home, *args)

    assert "interrompu" in out  # the last killed run is named, marked failed, its writer place freed
    runs = runs_of(home)
    assert not [r for r in runs if r[1] == dg.DagsterRunStatus.STARTED]
    assert sorted(job for job, status in runs if status == dg.DagsterRunStatus.FAILURE) == \
        ["annuel"] * len(STAGES) + ["mensuel"]
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        after = conn.execute("select source, periode, run_id from raw._ingestion order by all").fetchall()
    # not one extract the failed run loaded is loaded again (the annual ones, in the annual job the
    # failure stopped before, are loaded by the reruns)
    assert [row for row in after if row[:2] in {row[:2] for row in loaded}] == loaded
    assert re.search(rf"raw/demandes : \d+ extrait\(s\) déjà chargé\(s\), même SHA-256, non relu\(s\) : "
                     rf"demandes_{ANNEE - 1}-01\.csv", out), out[-3000:]
    final = state(home)
    assert final["lignes"] == reference["lignes"]
    assert sorted(final["fichiers"]) == sorted(reference["fichiers"])  # nothing half-written left beside them
    differ = [name for name, digest in final["fichiers"].items() if reference["fichiers"][name] != digest]
    assert not differ


def test_the_same_contours_are_not_loaded_again(home) -> None:
    """A rerun after a kill reloads no contours it had loaded (the ingestion log gets no second line)."""
    from dagster_duckdb import DuckDBResource

    from pipeline.assets.ingest import raw_geo_communes
    from pipeline.resources import ObservatoireResource

    generate(home.data_dir, years=(ANNEE, ANNEE))
    resources = {"observatoire": ObservatoireResource.from_settings(home),
                 "duckdb": DuckDBResource(database=str(home.warehouse))}
    for _ in range(2):
        assert dg.materialize([raw_geo_communes], partition_key=str(ANNEE), resources=resources).success
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        assert conn.execute("select count(*) from raw._ingestion where source = 'geo'").fetchone()[0] == 1
        assert conn.execute("select count(*) from raw.geo_communes").fetchone()[0] > 0


def test_a_killed_publication_s_temporary_copies_are_removed_when_no_run_is_alive(home) -> None:
    from pipeline.cli import recover

    annee = home.output_dir / str(ANNEE)
    (annee / ".indicateurs.k1ll3d" / "ind_01.csv").parent.mkdir(parents=True)
    (annee / ".indicateurs.k1ll3d" / "ind_01.csv").write_text("a\n", encoding="utf-8")
    (annee / f".atlas_parc_social_{home.epci}_{ANNEE}.pdf.tmp").write_bytes(b"%PDF")
    (annee / "indicateurs").mkdir()
    (annee / "indicateurs" / "ind_01.csv").write_text("a\n", encoding="utf-8")
    with dg.instance_for_test() as instance:
        instance.add_run(DagsterRun(job_name="annuel", run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.STARTED,
                                    tags=process_tags()))
        recover(home, instance)  # another run is alive: its temporary copies may be in use
        assert len(list(annee.iterdir())) == 3
    with dg.instance_for_test() as instance:
        recover(home, instance)
    assert [p.name for p in annee.iterdir()] == ["indicateurs"]


def test_the_instance_of_a_fresh_home_is_created_by_one_process_at_a_time(tmp_path) -> None:
    """Two runs started together on a fresh home each stamped Dagster's SQLite schema (two alembic
    heads: every later opening failed). The instance is created under a lock: while another process
    holds it, opening waits; then the storage is there once, and opens again."""
    import threading

    from pipeline.runs import dagster_instance

    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time\n"
        f"f = open({str(home / '.creation.lock')!r}, 'a'); fcntl.flock(f, fcntl.LOCK_EX)\n"
        "print('tenu', flush=True); time.sleep(3)")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "tenu"
    opened = []

    def open_it():
        with dagster_instance(home) as instance:
            opened.append((time.monotonic(), instance.get_runs(limit=1)))

    started = time.monotonic()
    thread = threading.Thread(target=open_it)
    thread.start()
    thread.join(timeout=120)
    holder.wait(timeout=30)
    assert opened and opened[0][0] - started >= 1.5  # it waited for the other process
    with dagster_instance(home) as instance:
        assert instance.get_runs() == []
