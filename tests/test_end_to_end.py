"""End to end, through the `observatoire` command and Dagster, on the demo data (slow)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from pypdf import PdfReader

pytestmark = pytest.mark.slow

OBSERVATOIRE = str(Path(sys.executable).parent / "observatoire")


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OBSERVATOIRE_", "DAGSTER_", "MPLCONFIGDIR", "XDG_CACHE_HOME"))}
    env.update({"OBSERVATOIRE_HOME": str(home), "COLUMNS": "200"})
    return subprocess.run([OBSERVATOIRE, *args], env=env, capture_output=True, text=True, timeout=900)


def pdf_text(path: Path) -> str:
    text = " ".join(page.extract_text() for page in PdfReader(path).pages)
    return re.sub(r"[\s\u202f\u00a0]+", " ", text)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e") / "home"
    data = home / "data_raw"
    result = run_cli(home, "demo", "--years", "2020-2021", "--data-dir", str(data))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return home, data, result.stdout


def test_demo_publishes_the_atlas_with_map_table_and_stamp(demo_run):
    home, _, stdout = demo_run
    pdf = home / "reports" / "output" / "2021" / "atlas_parc_social_242100410_2021.pdf"
    assert pdf.exists()
    reader = PdfReader(pdf)
    assert len(reader.pages) == 5  # cover, contents, synthèse, map, table
    text = pdf_text(pdf)
    run_id = re.search(r"Run ([0-9a-f-]{36}) réussi", stdout).group(1)
    for expected in ("Atlas du parc social", "DONNÉES FICTIVES — démonstration", run_id, "Millésime",
                     "27 008 logements sociaux", "Logements sociaux par commune", "Dijon (SRU)", "Version du code"):
        assert expected in text, expected
    map_page = next(p for p in reader.pages if "Nombre de logements sociaux par commune" in p.extract_text())
    assert len(map_page.images) == 1 and map_page.images[0].image.size[0] > 1000


def test_demo_fills_the_warehouse_and_the_dagster_instance(demo_run):
    home, _, _ = demo_run
    with duckdb.connect(str(home / "var" / "warehouse" / "observatoire.duckdb"), read_only=True) as conn:
        communes, logements, qpv = conn.execute(
            "select count(*), sum(logements), sum(logements_qpv) from marts.parc_par_commune where annee = 2021"
        ).fetchone()
        log = conn.execute("select source, lignes_lues, lignes_rejetees, layout from raw._ingestion "
                           "where source = 'rpls'").fetchall()
    assert (communes, logements, qpv) == (23, 27008, 7532)
    assert log == [("rpls", 27008, 0, "dido")]
    assert (home / "var" / "dagster" / "dagster.yaml").read_text().count("enabled: false") == 1
    assert list((home / "var" / "dagster" / "storage").iterdir()), "the run is recorded in the instance"


def test_failed_quality_gate_publishes_nothing_and_keeps_the_previous_atlas(demo_run):
    home, data, _ = demo_run
    pdf = home / "reports" / "output" / "2021" / "atlas_parc_social_242100410_2021.pdf"
    before = pdf.read_bytes()
    rpls = data / "rpls" / "rpls_2021.csv"
    lines = rpls.read_text(encoding="utf-8").splitlines(keepends=True)
    rpls.write_text("".join(lines + [lines[1]]), encoding="utf-8")  # the same dwelling twice
    result = run_cli(home, "run", "--annee", "2021", "--data-dir", str(data))
    assert result.returncode == 1
    assert "gx_stg_rpls__logements" in result.stdout and "Rien n'a été publié" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert pdf.read_bytes() == before
    assert not (pdf.parent / "archives").exists()
    with duckdb.connect(str(home / "var" / "warehouse" / "observatoire.duckdb"), read_only=True) as conn:
        assert conn.execute("select sum(logements) from marts.parc_par_commune where annee = 2021").fetchone()[0] == 27008


def test_missing_extract_is_a_clear_error(demo_run):
    home, data, _ = demo_run
    result = run_cli(home, "run", "--annee", "2019", "--data-dir", str(data))
    assert result.returncode == 1
    assert "rpls_2019" in result.stdout and "Traceback" not in result.stdout + result.stderr
