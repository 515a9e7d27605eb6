"""`observatoire run --mois` through Dagster on a small demo year (slow: a demo year generated, two
monthly runs each with a dbt build and a render).

Only the attribution and demand extracts (their first lines), no RPLS: the month's dashboard is
published all the same, its parc « non renseigné ». The second run, for an earlier month, finds the
later month already in the warehouse and counts the year up to its own month only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from test_sources_partielles import extraits_sne

pytestmark = pytest.mark.slow

PROJET = Path(__file__).parents[1]


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    # this checkout's package, for the command and for the kernel that renders the dashboard
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OBSERVATOIRE_", "DAGSTER_", "MPLCONFIGDIR", "XDG_CACHE_HOME"))}
    env.update({"OBSERVATOIRE_HOME": str(home), "COLUMNS": "200", "PYTHONPATH": str(PROJET)})
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], env=env, cwd=PROJET, capture_output=True,
                          text=True, timeout=1800)


@pytest.fixture(scope="module")
def mois_publies(tmp_path_factory) -> tuple[Path, str, str]:
    racine = tmp_path_factory.mktemp("mensuel")
    result = run_cli(racine / "home_gen", "demo", "generate", "--years", "2020-2020", "--data-dir", str(racine / "demo"))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    donnees = racine / "sne"
    extraits_sne(racine / "demo", 2020, donnees, manifeste=True)
    home = racine / "home"
    sorties = []
    for mois in ("2020-03", "2020-02"):
        result = run_cli(home, "run", "--mois", mois, "--data-dir", str(donnees))
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        sorties.append(result.stdout)
    return home, *sorties


def test_run_mois_publishes_the_dashboard_pdf_and_html_and_says_so(mois_publies):
    home, sortie, _ = mois_publies
    dossier = home / "reports" / "output" / "2020" / "mensuel" / "2020-03"
    pdf = dossier / "tableau_de_bord_242100410_2020-03.pdf"
    assert pdf.stat().st_size > 0 and pdf.with_suffix(".html").stat().st_size > 0
    assert "réussi" in sortie and "rendu du tableau de bord" in sortie and str(pdf) in sortie.replace("\n", "")
    assert "DONNÉES FICTIVES — démonstration" in pdf.with_suffix(".html").read_text(encoding="utf-8")
    # no RPLS for 2020: the parc is absent from the table, the rest is published
    table = pd.read_csv(dossier / "indicateurs" / "tableau_bord_mensuel.csv")
    assert "parc" not in set(table.mesure) and {"demandes_actives", "nouvelles_demandes"} <= set(table.mesure)


def test_a_month_counts_its_year_only_up_to_itself(mois_publies):
    home, _, _ = mois_publies
    sortie = home / "reports" / "output" / "2020" / "mensuel"
    mars = pd.read_csv(sortie / "2020-03" / "indicateurs" / "ind_03.csv", keep_default_na=False)
    fevrier = pd.read_csv(sortie / "2020-02" / "indicateurs" / "ind_03.csv", keep_default_na=False)

    def examens(table: pd.DataFrame) -> int:
        lignes = table[(table.annee == 2020) & (table.bailleur == "TOTAL") & (table.reservataire == "TOTAL")
                       & table.mesure.str.startswith("examens_")]
        return int(pd.to_numeric(lignes.valeur).sum())

    # March was in the warehouse when February was built: February counts January and February only
    assert 0 < examens(fevrier) < examens(mars)
    mois_fevrier = pd.read_csv(sortie / "2020-02" / "indicateurs" / "tableau_bord_mensuel.csv")
    assert set(mois_fevrier[mois_fevrier.annee == 2020].mois) == {1, 2}
