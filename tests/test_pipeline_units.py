"""Pure helpers of the pipeline: dbt arguments, partitions, CLI parsing, warehouse loads, GX results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import typer

from pipeline.assets.dbt import STAGING_SELECT, dbt_env, environment
from pipeline.cli import parse_years
from pipeline.partitions import annual_partitions, range_tags, years_from_tags
from pipeline.settings import DBT_PROJECT_DIR
from pipeline.warehouse import replace_partition


def test_dbt_gets_the_years_of_the_run_and_of_their_series_from_its_environment():
    # a run for 2021 rebuilds the four years before it too: its publication carries their series
    assert dbt_env([2021]) == {"OBSERVATOIRE_ANNEE_MIN": "2017", "OBSERVATOIRE_ANNEE_MAX": "2021",
                               "OBSERVATOIRE_DONNEES_FICTIVES": "non"}
    assert dbt_env([2018, 2016, 2017], demo=True) == {"OBSERVATOIRE_ANNEE_MIN": "2012", "OBSERVATOIRE_ANNEE_MAX": "2018",
                                                      "OBSERVATOIRE_DONNEES_FICTIVES": "oui"}
    with pytest.raises(ValueError):
        dbt_env([])
    os.environ.pop("OBSERVATOIRE_ANNEE_MIN", None)
    os.environ["OBSERVATOIRE_ANNEE_MAX"] = "1999"
    with environment(dbt_env([2020])):
        assert (os.environ["OBSERVATOIRE_ANNEE_MIN"], os.environ["OBSERVATOIRE_ANNEE_MAX"]) == ("2016", "2020")
    assert "OBSERVATOIRE_ANNEE_MIN" not in os.environ and os.environ.pop("OBSERVATOIRE_ANNEE_MAX") == "1999"


def test_partitions_and_run_tags():
    keys = annual_partitions.get_partition_keys()
    assert keys[0] == "2016" and "2021" in keys
    assert years_from_tags({"dagster/partition": "2021"}) == [2021]
    assert years_from_tags({"dagster/asset_partition_range_start": "2016",
                            "dagster/asset_partition_range_end": "2018"}) == [2016, 2017, 2018]
    assert years_from_tags({}) == []
    assert years_from_tags(range_tags("2016", "2018")) == [2016, 2017, 2018]


def test_parse_years():
    assert parse_years("2021") == (2021, 2021)
    assert parse_years("2016-2025") == (2016, 2025)
    for bad in ("21", "2025-2016", "2016..2025"):
        with pytest.raises(typer.BadParameter):
            parse_years(bad)


def test_replace_partition_is_idempotent_and_atomic(tmp_path):
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    frame = pd.DataFrame({"X": [1, 2, 3]})
    replace_partition(conn, "raw.t", frame, {"ANNEE": 2020})
    replace_partition(conn, "raw.t", frame, {"ANNEE": 2021})
    replace_partition(conn, "raw.t", frame.head(2), {"ANNEE": 2021})  # corrected file: replaces the period
    replace_partition(conn, "raw.t", frame.head(2), {"ANNEE": 2021})  # same file again: no change
    counts = dict(conn.execute('select "ANNEE", count(*) from raw.t group by 1 order by 1').fetchall())
    assert counts == {2020: 3, 2021: 2}
    with pytest.raises(duckdb.Error):  # a column the table does not have: the load fails...
        replace_partition(conn, "raw.t", pd.DataFrame({"Y": [1]}), {"ANNEE": 2020})
    counts = dict(conn.execute('select "ANNEE", count(*) from raw.t group by 1 order by 1').fetchall())
    assert counts == {2020: 3, 2021: 2}  # ...and nothing was deleted


def test_the_staging_build_runs_no_test_of_a_model_it_does_not_build(home, tmp_path):
    """A relationship test from a mart to a seed (obj_q234_qpv.qpv → ref_qpv) belongs to the marts op:
    with dbt's default indirect selection (eager) the staging op ran it before the mart existed, and
    every run failed in dbt_staging."""
    dbt = str(Path(sys.executable).parent / "dbt")

    def listed(*args: str) -> list[dict]:
        result = subprocess.run(
            [dbt, "ls", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
             "--target-path", str(tmp_path / "target"), "--quiet", "--output", "json",
             "--output-keys", "unique_id", "depends_on", *args],
            capture_output=True, text=True, env={**os.environ, **home.environment()}, timeout=300)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]

    built = {n["unique_id"] for n in listed("--select", STAGING_SELECT, "--exclude", "resource_type:test")}
    tests = listed("--select", STAGING_SELECT, "--resource-type", "test")
    assert tests, "the staging op runs the staging tests"
    strays = [t["unique_id"] for t in tests if not set(t["depends_on"]["nodes"]) <= built]
    assert strays == []
    assert home.environment()["DBT_INDIRECT_SELECTION"] == "buildable"


def test_a_year_is_refused_only_without_any_extract(home):
    """indicators.md section E: no source is required (an attribution extract alone makes a year); only
    a year without any extract of any source is refused before the run."""
    from pipeline.cli import years_without_extracts

    (home.data_dir / "sne").mkdir(parents=True)
    (home.data_dir / "sne" / "attributions_2020-03.csv").write_text("NUM_UNIQUE\n", encoding="utf-8")
    assert years_without_extracts(home, [2019, 2020, 2021]) == [2019, 2021]
    (home.data_dir / "rpls").mkdir()
    (home.data_dir / "rpls" / "rpls_2021.csv").write_text("IDENT_LOGT\n", encoding="utf-8")
    assert years_without_extracts(home, [2019, 2020, 2021]) == [2019]


FIN_DU_PROCESSUS = """
import atexit, sys
import pipeline.cli as cli

class Objet:
    def __del__(self):
        print("objet libéré par la fin de l'interpréteur", flush=True)

cli.objet_du_test = Objet()  # freed by Python's teardown only
atexit.register(lambda: print("fonction atexit exécutée", flush=True))
sys.argv = ["observatoire", *sys.argv[1:]]
cli.main()
"""


@pytest.mark.parametrize(("args", "code"), [(["--help"], 0), (["run", "--annee", "2021", "--mois", "2021-01"], 2)])
def test_the_command_line_ends_without_pythons_teardown_keeping_its_output_and_exit_code(args, code):
    """The console script ends with the command's exit code and its whole output, the exit functions
    run, and without Python freeing every imported module's objects (≈ 2 s after each command)."""
    fin = subprocess.run([sys.executable, "-c", FIN_DU_PROCESSUS, *args], capture_output=True, text=True,
                         timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert fin.returncode == code, fin.stdout + fin.stderr
    assert ("Usage" in fin.stdout) if code == 0 else ("--annee" in fin.stdout + fin.stderr)
    assert "fonction atexit exécutée" in fin.stdout
    assert "objet libéré par la fin de l'interpréteur" not in fin.stdout
