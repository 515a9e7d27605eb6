"""Years with only some sources, and real data against demo thresholds, through the `observatoire`
command (slow: two generated years, two runs).

indicators.md, section E: extracts arrive at different dates; a run computes what the present sources
allow and marks the rest « non renseigné ». Section A: on real data the quartile objectives are never
judged against a threshold marked demo in ref_seuils_quartiles.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipeline.provenance import write_manifest

pytestmark = pytest.mark.slow

OBSERVATOIRE = str(Path(sys.executable).parent / "observatoire")
#: Lines kept of each monthly extract: a small year, enough for every objective to have a base.
LIGNES = 150


def run_cli(home: Path, *args: str, **env_extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OBSERVATOIRE_", "DAGSTER_", "MPLCONFIGDIR", "XDG_CACHE_HOME"))}
    env.update({"OBSERVATOIRE_HOME": str(home), "COLUMNS": "200", **env_extra})
    return subprocess.run([OBSERVATOIRE, *args], env=env, capture_output=True, text=True, timeout=1200)


def extraits_sne(demo: Path, annee: int, cible: Path, manifeste: bool) -> None:
    """Only the attribution and demand extracts of ``annee`` (their first LIGNES lines), no RPLS, no
    contours, no other source; with a demo manifest or without it (real-looking extracts)."""
    cible.mkdir(parents=True)
    (cible / "sne").mkdir()
    fichiers = sorted((demo / "sne").glob(f"attributions_{annee}-*.csv")) + sorted((demo / "sne").glob(f"demandes_{annee}-*.csv"))
    assert len(fichiers) == 24
    for chemin in fichiers:
        lignes = chemin.read_bytes().splitlines(keepends=True)
        (cible / "sne" / chemin.name).write_bytes(b"".join(lignes[:LIGNES + 1]))
    if manifeste:
        # the cut files are a smaller demo: their manifest, as the generator would have written it
        write_manifest(cible, sorted((cible / "sne").iterdir()))


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    racine = tmp_path_factory.mktemp("partielles")
    for annee in (2020, 2023):
        result = run_cli(racine / "home_gen", "demo", "generate", "--years", f"{annee}-{annee}",
                         "--data-dir", str(racine / f"demo_{annee}"))
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return racine


def test_a_year_with_only_attributions_and_demands_publishes_the_four_objectives(demo, tmp_path):
    """No RPLS, no contours: the run succeeds, the four objectives are published from the attribution
    extracts, the parc tables are « non renseigné » (source absente) and the atlas says so."""
    donnees = tmp_path / "sne_seul"
    extraits_sne(demo / "demo_2020", 2020, donnees, manifeste=True)
    home = tmp_path / "home"
    result = run_cli(home, "run", "--annee", "2020", "--data-dir", str(donnees))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    dossier = home / "reports" / "output" / "2020" / "indicateurs"
    for code in ("obj_prio_etat", "obj_prio_resa", "obj_q1_hors_qpv", "obj_q234_qpv"):
        table = pd.read_csv(dossier / f"{code}.csv", keep_default_na=False)
        total = table[(table.annee == 2020) & (table.bailleur == "TOTAL")].iloc[0]
        assert int(total.denominateur) > 0 and total.valeur != "", code
    absents = pd.read_csv(dossier / "_non_renseignes.csv").set_index("code")["raison"]
    assert {"diag_parc_commune", "ind_04", "ind_25", "fragilite_iris"} <= set(absents.index)
    assert "rpls" in absents["diag_parc_commune"] and not {c for c in absents.index if c.startswith("obj_")}
    meta = json.loads((dossier / "_metadonnees.json").read_text(encoding="utf-8"))
    assert "absente" in meta["sources"]["rpls"] and meta["sources"]["attributions"].startswith("2020-01")
    assert (home / "reports" / "output" / "2020" / "atlas_parc_social_242100410_2020.pdf").exists()
    html = (home / "reports" / "output" / "2020" / "atlas_parc_social_242100410_2020.html").read_text(encoding="utf-8")
    assert "non renseigné pour 2020" in html


def test_real_data_never_meets_a_demo_threshold(demo, tmp_path):
    """Real-looking extracts (no demo manifest, a pseudonymisation key) of 2023, whose Q1 is marked demo in
    ref_seuils_quartiles: the run succeeds, the two quartile objectives are « non renseigné » with the
    arrêté to enter — in the exports and in the run's summary —, the priority objectives are published."""
    seuils = pd.read_csv(Path(__file__).parents[1] / "dbt_project" / "seeds" / "ref_seuils_quartiles.csv")
    assert seuils.set_index("annee").loc[2023, "source_q1"] == "demo"
    donnees = tmp_path / "reelles"
    extraits_sne(demo / "demo_2023", 2023, donnees, manifeste=False)
    home = tmp_path / "home"
    result = run_cli(home, "run", "--annee", "2023", "--data-dir", str(donnees), "--sans-atlas",
                     OBSERVATOIRE_PSEUDO_KEY="une-cle-de-test-reelle")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    resume = " ".join(result.stdout.split())
    raison = "seuil Q1 de 2023 marqué demo dans ref_seuils_quartiles (données réelles)"
    for code in ("obj_q1_hors_qpv", "obj_q234_qpv"):
        assert f"2023 {code} : non renseigné : {raison}" in resume, resume
    assert "arrêté ministériel de 2023" in resume
    dossier = home / "reports" / "output" / "2023" / "indicateurs"
    absents = pd.read_csv(dossier / "_non_renseignes.csv").set_index("code")["raison"]
    assert raison in absents["obj_q1_hors_qpv"] and raison in absents["obj_q234_qpv"]
    assert not (dossier / "obj_q1_hors_qpv.csv").exists() and not (dossier / "obj_q234_qpv.csv").exists()
    prio = pd.read_csv(dossier / "obj_prio_resa.csv")
    assert int(prio[(prio.reservataire == "TOTAL") & (prio.bailleur == "TOTAL")].iloc[0].denominateur) > 0
    meta = json.loads((dossier / "_metadonnees.json").read_text(encoding="utf-8"))
    assert "FICTIVES" not in json.dumps(meta, ensure_ascii=False)
