"""Runs wait their turn: a reader of the warehouse waits while another process holds it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from pipeline.settings import PROJECT_DIR
from pipeline.warehouse import WarehouseBusy, connect_read_only

#: Another process that writes the warehouse and keeps it open until its standard input closes.
HOLDER = """
import sys, duckdb
conn = duckdb.connect(sys.argv[1])
conn.execute("create or replace table t as select 42 as valeur")
print("tenu", flush=True)
sys.stdin.read()
conn.close()
"""


def hold(warehouse: Path) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(warehouse)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "tenu"
    return holder


def test_a_reader_waits_for_the_writer_of_another_process(tmp_path):
    warehouse = tmp_path / "observatoire.duckdb"
    holder = hold(warehouse)
    # the other process lets go a moment later, while the reader is already waiting
    release = threading.Timer(1.5, holder.stdin.close)
    release.start()
    try:
        with connect_read_only(warehouse, lock_wait_s=60) as conn:
            assert conn.execute("select valeur from t").fetchone() == (42,)
    finally:
        release.cancel()
        holder.stdin.close()
        holder.wait(timeout=30)


def test_a_reader_kept_out_too_long_is_told_who_holds_the_warehouse(tmp_path):
    warehouse = tmp_path / "observatoire.duckdb"
    holder = hold(warehouse)
    try:
        with pytest.raises(WarehouseBusy, match=rf"tenu par un autre processus \(PID {holder.pid}\) depuis plus "
                                                r"de 1 s, en écriture\. .*observatoire status"):
            with connect_read_only(warehouse, lock_wait_s=1):
                pass
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    with duckdb.connect(str(warehouse), read_only=True) as conn:  # nothing was changed by the wait
        assert conn.execute("select valeur from t").fetchone() == (42,)


def test_status_says_the_warehouse_is_held_by_a_writer_and_does_not_wait(home):
    from typer.testing import CliRunner

    from pipeline.cli import app

    rpls = home.data_dir / "rpls" / "rpls_2021.csv"
    rpls.parent.mkdir(parents=True)
    rpls.write_text("DEPCOM;QPV\n21231;0\n", encoding="utf-8")
    holder = hold(home.warehouse)
    try:
        result = CliRunner().invoke(app, ["status", "--json"])
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert result.exit_code == 3, result.output  # nothing else wrong: ask again once the run is over
    payload = json.loads(result.output)
    assert payload["entrepot"]["etat"] == "verrouille" and "run en cours" in payload["entrepot"]["message"]
    assert [p["etat"] for p in payload["annees"][0]["periodes"] if p["source"] == "rpls"] == ["inconnu"]


@pytest.mark.slow
def test_two_runs_started_seconds_apart_on_one_home_both_succeed(tmp_path):
    """Two `observatoire run` on one home, the second started while the first ingests: the writers and the
    readers of both take turns in the pool, and neither fails on DuckDB's lock."""
    demo = tmp_path / "demo"
    generated = cli(tmp_path / "demo_home", "demo", "generate", "--years", "2021-2021", "--data-dir", str(demo))
    assert generated.returncode == 0, generated.stdout + generated.stderr
    data = tmp_path / "data"  # the smallest year that runs every stage: its contours and 300 RPLS rows
    (data / "rpls").mkdir(parents=True)
    lignes = (demo / "rpls" / "rpls_2021.csv").read_bytes().splitlines(keepends=True)
    (data / "rpls" / "rpls_2021.csv").write_bytes(b"".join(lignes[:301]))
    shutil.copytree(demo / "geo", data / "geo")
    home = tmp_path / "home"
    args = ("run", "--annee", "2021", "--sans-atlas", "--data-dir", str(data))
    first = cli_process(home, *args)
    time.sleep(5)
    second = cli_process(home, *args)
    for run in (first, second):
        stdout, stderr = run.communicate(timeout=1800)
        assert run.returncode == 0, stdout[-3000:] + stderr[-3000:]
        assert "réussi" in stdout and "Could not set lock" not in stdout + stderr
    status = cli(home, "status", "--annee", "2021", "--data-dir", str(data))
    assert status.returncode == 0, status.stdout


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OBSERVATOIRE_", "DAGSTER_", "MPLCONFIGDIR", "XDG_CACHE_HOME"))}
    # the folder is not the demo's (only two of its files): its runs need a pseudonymisation key
    return {**env, "OBSERVATOIRE_HOME": str(home), "OBSERVATOIRE_PSEUDO_KEY": "cle-du-test", "COLUMNS": "200"}


def cli_process(home: Path, *args: str) -> subprocess.Popen:
    """The command line of this checkout (not an installed one), in a process of its own."""
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", *args], cwd=PROJECT_DIR, env=_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], cwd=PROJECT_DIR, env=_env(home),
                          capture_output=True, text=True, timeout=900)
