"""Runs wait their turn: a reader of the warehouse waits while another process holds it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

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
