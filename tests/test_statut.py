"""``observatoire status``: loaded, quarantined, missing, the last runs, and its exit code."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
from typer.testing import CliRunner

from bad_inputs import CASES, LU, QUARANTAINE, RPLS, Case, good_file, write
from pipeline.assets.ingest import ingest_file
from pipeline.cli import app
from pipeline.sources.extract import period_of, source_for_file
from pipeline.warehouse import connect, sha256

#: The RPLS of 2019 with one dwelling of negative surface: one row kept, one quarantined.
SURFACE_NEGATIVE = next(c for c in CASES if c.name == RPLS and c.code == QUARANTAINE and "surface" in c.label)


def ingest(home, path: Path) -> None:
    annee, mois = period_of(path)
    with connect(home.warehouse) as conn:
        ingest_file(conn, home, source_for_file(path), path, f"{annee}" if mois is None else f"{annee}-{mois:02d}",
                    "run-test", b"k")


def status(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["status", *args], env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def periode(payload: dict, source: str, periode: str) -> dict:
    annee = next(a for a in payload["annees"] if a["annee"] == int(periode[:4]))
    return next(p for p in annee["periodes"] if p["source"] == source and p["periode"] == periode)


def test_status_reports_a_missing_extract_and_a_quarantined_row_and_fails(home):
    ingest(home, write(home.data_dir, SURFACE_NEGATIVE))
    # one month of demands: the year expects every monthly source, every month
    ingest(home, good_file(home.data_dir, Case("demandes", "sne/demandes_2019-12.csv", b"", LU, "")))
    code, sortie = status("--annee", "2019", "--json")
    assert code == 1
    payload = json.loads(sortie)
    rpls = periode(payload, "rpls", "2019")
    assert rpls["etat"] == "charge" and rpls["quarantaine"] == 1
    assert rpls["chargement"]["lignes"] == 1 and rpls["chargement"]["lignes_rejetees"] == 1
    assert periode(payload, "demandes", "2019-12")["etat"] == "charge"
    assert periode(payload, "demandes", "2019-04")["etat"] == "manquant"
    assert periode(payload, "attributions", "2019-03") | {"attendu": True, "etat": "manquant"} == \
        periode(payload, "attributions", "2019-03")
    assert periode(payload, "sls", "2019")["etat"] == "absent"  # optional
    assert "attributions 2019 : extrait manquant pour le(s) mois 01, 02, 03, 04, 05, 06, 07, 08, 09, 10, 11, 12" \
        in payload["problemes"]
    assert "demandes 2019 : extrait manquant pour le(s) mois 01, 02, 03, 04, 05, 06, 07, 08, 09, 10, 11" \
        in payload["problemes"]
    assert payload["code_sortie"] == 1
    # the terminal says the same
    code, sortie = status("--annee", "2019")
    assert code == 1
    assert "manquant" in sortie and "1/12 mois attendus chargés" in sortie and "0/12 mois attendus" in sortie
    assert "attributions 2019 : extrait manquant pour le(s) mois 01" in sortie


def test_a_clean_loaded_year_exits_0(home):
    path = good_file(home.data_dir, Case("rpls", RPLS, b"", LU, ""))
    ingest(home, path)
    code, sortie = status("--annee", "2019", "--json")
    payload = json.loads(sortie)
    assert code == 0 and payload["problemes"] == [] and payload["entrepot"]["etat"] == "lu"
    rpls = periode(payload, "rpls", "2019")
    assert rpls["etat"] == "charge" and rpls["extrait"] == RPLS and rpls["quarantaine"] == 0
    assert rpls["chargement"]["sha256"] == sha256(path) and rpls["chargement"]["lignes"] == 2
    assert rpls["chargement"]["le"].endswith("Z")
    assert {p["etat"] for p in payload["annees"][0]["periodes"] if p["source"] == "demandes"} == {"absent"}
    code, sortie = status()  # every year dropped or loaded: 2019
    assert code == 0 and "Rien ne manque" in sortie and "2019" in sortie


def test_a_dropped_extract_waits_for_its_load_and_a_changed_one_for_its_reload(home):
    case = Case("rpls", RPLS, b"", LU, "")
    path = good_file(home.data_dir, case)
    code, sortie = status("--json")  # no warehouse yet: said, not raised
    payload = json.loads(sortie)
    assert code == 1 and payload["entrepot"]["etat"] == "absent"
    assert periode(payload, "rpls", "2019")["etat"] == "a_charger"
    ingest(home, path)
    path.write_bytes(path.read_bytes().replace(b"45;48", b"46;48"))  # same size, another file
    code, sortie = status("--json")
    assert code == 1 and periode(json.loads(sortie), "rpls", "2019")["etat"] == "modifie"


def test_the_last_run_of_each_job_and_a_failed_one(home):
    ingest(home, good_file(home.data_dir, Case("rpls", RPLS, b"", LU, "")))
    with dg.DagsterInstance.from_config(str(home.dagster_home)) as instance:
        for job, status_, tags in (("annuel", DagsterRunStatus.FAILURE, {"dagster/partition": "2019"}),
                                   ("historique", DagsterRunStatus.SUCCESS,
                                    {"dagster/asset_partition_range_start": "2016",
                                     "dagster/asset_partition_range_end": "2019"}),
                                   ("mensuel", DagsterRunStatus.SUCCESS, {"dagster/partition": "2024-03"})):
            instance.add_run(DagsterRun(job_name=job, status=status_, tags=tags))
    code, sortie = status("--annee", "2019", "--json")
    payload = json.loads(sortie)
    assert code == 1
    runs = payload["annees"][0]["derniers_runs"]
    assert runs["annuel"]["statut"] == "echec" and runs["historique"]["periodes"] == "2016–2019"
    assert "mensuel" not in runs  # it covered 2024
    assert set(payload["jobs"]) == {"annuel", "historique", "mensuel"}
    assert any(p.startswith("2019 : le dernier run annuel") and "échec" in p for p in payload["problemes"])
