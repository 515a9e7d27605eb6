"""End to end, through the `observatoire` command and Dagster, on the demo data (slow)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pypdf import PdfReader

from pipeline.sources.pseudonymise import DEMO_KEY

pytestmark = pytest.mark.slow

OBSERVATOIRE = str(Path(sys.executable).parent / "observatoire")


def run_cli(home: Path, *args: str, **env_extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OBSERVATOIRE_", "DAGSTER_", "MPLCONFIGDIR", "XDG_CACHE_HOME"))}
    env.update({"OBSERVATOIRE_HOME": str(home), "COLUMNS": "200", **env_extra})
    return subprocess.run([OBSERVATOIRE, *args], env=env, capture_output=True, text=True, timeout=900)


def pdf_text(path: Path) -> str:
    return " ".join(pdf_text_of(page) for page in PdfReader(path).pages)


def pdf_text_of(page) -> str:
    return re.sub(r"[\s\u202f\u00a0]+", " ", page.extract_text())


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e") / "home"
    # 2020 and 2021 in one run (a backfill of two years): 2020 is the year of the CIA's section-A table
    result = run_cli(home, "demo", "--years", "2020-2021", "--annee", "2020-2021")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # the demo is written in its own folder, never in the drop zone of the real extracts
    assert (home / "data_demo" / "rpls" / "rpls_2021.csv").exists() and not (home / "data_raw").exists()
    return home, home / "data_demo", result.stdout


def test_demo_publishes_the_atlas_with_map_table_and_stamp(demo_run):
    home, _, stdout = demo_run
    pdf = home / "reports" / "output" / "2021" / "atlas_parc_social_242100410_2021.pdf"
    assert pdf.exists()
    reader = PdfReader(pdf)
    text = pdf_text(pdf)
    run_id = re.search(r"Run ([0-9a-f-]{36}) réussi", stdout).group(1)
    for expected in ("Atlas du parc social", "DONNÉES FICTIVES — démonstration", run_id, "Millésime",
                     "27 008 logements", "Logements sociaux par commune", "Dijon (SRU)", "Version du code",
                     "Fiches QPV", "Fiches résidences", "Le secret statistique"):
        assert expected in text, expected
    map_page = next(p for p in reader.pages if "Logements sociaux par commune au" in pdf_text_of(p))
    assert len(map_page.images) == 1 and map_page.images[0].image.size[0] > 800
    assert "contours réels, données fictives" in pdf_text_of(map_page)  # the caption says what the outlines are
    html = pdf.with_suffix(".html")
    assert html.exists() and "27 008 logements" in re.sub(r"[\s\u202f]+", " ", html.read_text(encoding="utf-8"))


def test_the_atlas_names_every_indicator_and_its_objectives_are_the_exports(demo_run):
    """Every code and label of the catalogue is in the 2020 atlas, and the objectives of its synthèse
    are the published CSV's TOTAL rows, formatted."""
    from pipeline.publication.catalogue import charger
    from pipeline.reports.formats import fr_entier, fr_pct

    home, _, _ = demo_run
    folder = home / "reports" / "output" / "2020"
    text = pdf_text(folder / "atlas_parc_social_242100410_2020.pdf").replace("\u2019", "'")
    absents = [i.code for i in charger().indicateurs if i.code not in text or i.libelle not in text]
    assert absents == []
    synthese = text[text.index("Les quatre objectifs"):text.index("Le détail par bailleur")]
    q1 = pd.read_csv(folder / "indicateurs" / "obj_q1_hors_qpv.csv")
    total = q1[(q1.bailleur == "TOTAL") & (q1.annee == 2020)].iloc[0]
    assert (f"1er quartile ou relogés ANRU, hors QPV {fr_pct(total.valeur)} {fr_pct(total.cible, 0)}"
            .replace("\u202f", " ") in synthese)
    assert fr_entier(total.ecart).replace("\u202f", " ") == "244" and " 244 " in synthese


def test_demo_fills_the_warehouse_and_the_dagster_instance(demo_run):
    home, _, _ = demo_run
    with duckdb.connect(str(home / "var" / "warehouse" / "observatoire.duckdb"), read_only=True) as conn:
        communes, logements, qpv = conn.execute(
            "select count(*), sum(logements), sum(logements_qpv) from marts.parc_par_commune where annee = 2021"
        ).fetchone()
        log = conn.execute("select source, lignes_lues, lignes_rejetees, layout from raw._ingestion "
                           "where source = 'rpls' and periode = '2021'").fetchall()
        # real commune outlines (the COG 2018 file: Crimolois dissolved), fictitious IRIS and QPV
        geo = {mart: conn.execute(f"select count(*), bool_or(fictif), bool_and(fictif) from marts.{mart} "
                                  "where annee = 2020").fetchone()
               for mart in ("geo_communes", "geo_iris", "geo_qpv")}
    assert (communes, logements, qpv) == (23, 27008, 7532)
    assert geo["geo_communes"] == (23, False, False)
    assert geo["geo_iris"][1:] == (True, True) and geo["geo_qpv"] == (5, True, True)
    assert log == [("rpls", 27008, 0, "dido")]
    assert (home / "var" / "dagster" / "dagster.yaml").read_text().count("enabled: false") == 1
    assert list((home / "var" / "dagster" / "storage").iterdir()), "the run is recorded in the instance"


#: indicators.md, section A: the 2020 table of the CIA (Fichier partagé, end of December 2020), typed in
#: from the specification — bailleur: (Q1 + ANRU hors QPV, baux signés hors QPV, Q2–Q4 in QPV,
#: attributions in QPV, prioritaires PDALHPD, attributions in the flux base).
SECTION_A_2020 = {
    "CDC_HABITAT": (31 + 0, 440, 116, 133, 165, 547),
    "GDH": (96 + 2, 699, 330, 461, 353, 978),
    "HABELLIS": (67 + 3, 426, 38, 48, 152, 462),
    "ICF": (9 + 0, 68, 5, 6, 32, 81),
    "ORVITIS": (45 + 1, 357, 202, 226, 198, 559),
    "TOTAL": (248 + 6, 1990, 691, 874, 900, 2627),
}


def test_the_2020_exports_reproduce_the_section_a_table_count_for_count(demo_run):
    home, _, _ = demo_run
    folder = home / "reports" / "output" / "2020" / "indicateurs"
    q1 = pd.read_csv(folder / "obj_q1_hors_qpv.csv", dtype={"numerateur": str})
    assert list(q1.columns) == ["annee", "bailleur", "numerateur", "denominateur", "valeur", "cible", "ecart", "secret"]
    q234 = pd.read_csv(folder / "obj_q234_qpv.csv")
    resa = pd.read_csv(folder / "obj_prio_resa.csv")
    got = {}
    for bailleur in SECTION_A_2020:
        a = q1[q1.bailleur == bailleur].iloc[0]
        b = q234[(q234.bailleur == bailleur) & (q234.qpv == "TOTAL")].iloc[0]
        c = resa[(resa.bailleur == bailleur) & (resa.reservataire == "TOTAL")].iloc[0]
        got[bailleur] = (int(a.numerateur), int(a.denominateur), int(b.numerateur), int(b.denominateur),
                         int(c.numerateur), int(c.denominateur))
    assert got == SECTION_A_2020
    total = q1[q1.bailleur == "TOTAL"].iloc[0]
    # 254 / 1 990 = 12,76 % against 25 %: ⌈0,25 × 1 990⌉ − 254 = 498 − 254 = 244 attributions short
    assert (round(total.valeur, 4), total.cible, total.ecart, bool(total.secret)) == (0.1276, 0.25, 244, False)
    assert (q1.annee == 2020).all()


def test_the_published_years_passed_the_audit_of_the_disclosure_rule(demo_run):
    """The blocking check audited the files of each year: its summary travels in the metadata."""
    home, _, _ = demo_run
    for annee in (2020, 2021):
        meta = json.loads((home / "reports" / "output" / str(annee) / "indicateurs" / "_metadonnees.json")
                          .read_text(encoding="utf-8"))
        audit = meta["secret"]["audit"]
        assert meta["secret"]["seuil"] == 11 and audit["reussi"] and audit["echecs"] == []
        assert audit["lignes_masquees"] > 0 and audit["intervalle_le_plus_etroit"]["largeur"] >= 11
        assert (home / "reports" / "output" / str(annee) / "indicateurs" / f"indicateurs_242100410_{annee}.gpkg").exists()


def test_a_quiet_run_prints_a_summary_and_logs_the_tools_to_a_file(demo_run):
    home, _, stdout = demo_run
    assert "Running with dbt" not in stdout and "Calculating Metrics" not in stdout
    # the progress of each job (started, each step, done/total) and a summary of fewer than ten lines
    progress = [line for line in stdout.splitlines() if re.search(r" : lancé \(run | · \d+/\d+ · | étapes en ", line)]
    assert any(re.search(r"annuel 2020–2021 · \d+/\d+ · dbt", line) for line in progress)
    assert len(stdout.splitlines()) - len(progress) < 10
    logs = list((home / "var" / "logs").glob("run_2020-2021_*.log"))
    assert len(logs) == 1 and "Running with dbt" in logs[0].read_text(encoding="utf-8")


def test_failed_quality_gate_publishes_nothing_and_keeps_the_previous_atlas(demo_run, tmp_path):
    home, demo_data, _ = demo_run
    data = tmp_path / "data_raw"  # a copy: the shared demo folder stays as generated for the other tests
    shutil.copytree(demo_data, data)
    pdf = home / "reports" / "output" / "2021" / "atlas_parc_social_242100410_2021.pdf"
    before = pdf.read_bytes()
    stamp = home / "reports" / "output" / "2021" / "indicateurs" / "_metadonnees.json"
    stamp_before = stamp.read_bytes()
    rpls = data / "rpls" / "rpls_2021.csv"
    lines = rpls.read_text(encoding="utf-8").splitlines(keepends=True)
    # A 5 m² dwelling (50 typed 5): a valid number, so ingestion keeps the row (a duplicated
    # dwelling would be quarantined there), but below the 9 m² of the décret décence, a critical
    # expectation of the staging suite.
    header, first = lines[0].rstrip("\n").split(";"), lines[1].rstrip("\n").split(";")
    first[header.index("SURFHAB")] = "5"
    rpls.write_text("".join([lines[0], ";".join(first) + "\n", *lines[2:]]), encoding="utf-8")
    # a demo file modified: the folder is no longer the demo's, a key is required (the demo's, so that
    # the pseudonyms already in the warehouse stay those of the same households)
    result = run_cli(home, "run", "--annee", "2021", "--data-dir", str(data), OBSERVATOIRE_PSEUDO_KEY=DEMO_KEY)
    assert result.returncode == 1
    assert "gx_stg_rpls__logements" in result.stdout and "Rien n'a été publié" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert pdf.read_bytes() == before
    assert stamp.read_bytes() == stamp_before
    assert not (pdf.parent / "archives").exists()
    with duckdb.connect(str(home / "var" / "warehouse" / "observatoire.duckdb"), read_only=True) as conn:
        assert conn.execute("select sum(logements) from marts.parc_par_commune where annee = 2021").fetchone()[0] == 27008


def test_a_truncated_extract_fails_the_run_naming_the_check_the_table_and_the_drop(demo_run, tmp_path):
    """A RPLS of 2021 cut to 40 % of its rows: the volume expectation (−50 % or worse) blocks, the
    summary names the check, the table, the year and the drop; the attributions' dwellings missing from
    that RPLS are a warning of the same run; nothing published is replaced; the results are kept in the
    warehouse."""
    home, demo_data, _ = demo_run
    data = tmp_path / "data_raw"
    shutil.copytree(demo_data, data)
    published = sorted((home / "reports" / "output" / "2021").rglob("*"))
    before = {p: p.read_bytes() for p in published if p.is_file()}
    rpls = data / "rpls" / "rpls_2021.csv"
    lines = rpls.read_text(encoding="utf-8").splitlines(keepends=True)
    rpls.write_text("".join(lines[: int(len(lines) * 0.4)]), encoding="utf-8")
    result = run_cli(home, "run", "--annee", "2021", "--data-dir", str(data), OBSERVATOIRE_PSEUDO_KEY=DEMO_KEY)
    assert result.returncode == 1 and "Rien n'a été publié" in result.stdout
    sortie = " ".join(result.stdout.split())
    assert "gx_stg_rpls__logements en échec" in sortie and "(variation) sur staging.stg_rpls__logements 2021" in sortie
    assert "annee_precedente=2020, variation=-0.5" in sortie and "part_logements_dans_rpls" in sortie
    assert sorted((home / "reports" / "output" / "2021").rglob("*")) == published
    assert {p: p.read_bytes() for p in published if p.is_file()} == before
    with duckdb.connect(str(home / "var" / "warehouse" / "observatoire.duckdb"), read_only=True) as conn:
        assert conn.execute("select count(*) from qualite.resultats_validation where not reussie and "
                            "gravite = 'bloquant' and colonne = 'variation'").fetchone()[0] >= 1


def test_missing_extract_is_a_clear_error(demo_run):
    home, data, _ = demo_run
    result = run_cli(home, "run", "--annee", "2019", "--data-dir", str(data))
    assert result.returncode == 1
    assert "rpls_2019" in result.stdout and "Traceback" not in result.stdout + result.stderr


def test_a_year_with_only_some_sources_publishes_what_they_allow(demo_run, tmp_path):
    """Extracts arrive at different dates: with only the RPLS and the contours of 2021, the run succeeds,
    the parc tables are published and every indicator of the other sources is « non renseigné »."""
    _, data, _ = demo_run
    partiel = tmp_path / "partiel"
    # some of the demo's files, unchanged, with its manifest: still the demo's
    for relative in ("DONNEES_FICTIVES.sha256", "DONNEES_FICTIVES.txt", "rpls/rpls_2021.csv", "geo"):
        source = data / relative
        (partiel / relative).parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, partiel / relative)
        else:
            shutil.copy2(source, partiel / relative)
    home = tmp_path / "home"
    result = run_cli(home, "run", "--annee", "2021", "--data-dir", str(partiel))
    assert result.returncode == 0, result.stdout[-3000:]
    folder = home / "reports" / "output" / "2021" / "indicateurs"
    published = {p.stem for p in folder.glob("*.csv")} - {"_non_renseignes"}
    absents = pd.read_csv(folder / "_non_renseignes.csv").set_index("code")["raison"]
    assert {"diag_parc_commune", "diag_parc_bailleur", "ind_04"} <= published
    assert {"obj_q1_hors_qpv", "obj_prio_etat", "ind_03", "ind_13", "ind_14", "fragilite_iris"} <= set(absents.index)
    assert "attributions" in absents["obj_q1_hors_qpv"] and "ops" in absents["fragilite_iris"]
    assert not published & set(absents.index)
    meta = json.loads((folder / "_metadonnees.json").read_text(encoding="utf-8"))
    assert meta["sources"]["rpls"] == "2021" and "absente" in meta["sources"]["attributions"]
    assert (home / "reports" / "output" / "2021" / "atlas_parc_social_242100410_2021.pdf").exists()
