"""The tableau de bord mensuel: its schedule, and the dashboard rendered from a very small published
month (hand-made marts, the helpers of tests/test_publication.py) — it prints « s » for a masked cell
and never its value, and its objectives are the published table's.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from pypdf import PdfReader

from pipeline.assets.tableau_de_bord import build_tableau, catalogue_du_tableau
from pipeline.definitions import TABLEAU_JOB, build_definitions
from pipeline.partitions import monthly_partitions
from pipeline.publication.catalogue import charger
from pipeline.publication.exports import construire_publication
from pipeline.publication.lecture import PublicationLue
from pipeline.reports.formats import fr_entier, fr_pct
from test_publication import T, entrepot, estampille, mart

CATALOGUE = catalogue_du_tableau(charger())
#: The figure of new demands of March that the test masks in the published CSV.
NOUVELLES_MARS = 4321


def texte(pdf: Path) -> str:
    brut = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    return re.sub(r"[\s\u202f\u00a0]+", " ", brut).replace("\u2019", "'")


def test_the_monthly_schedule_is_stopped_and_requests_the_previous_month(home):
    defs = build_definitions(home)
    schedule = defs.resolve_schedule_def("mensuel_le_5")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert schedule.job_name == TABLEAU_JOB and schedule.cron_schedule == "0 3 5 * *"
    job = defs.resolve_job_def(TABLEAU_JOB)
    assert job.partitions_def == monthly_partitions
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"raw/demandes", "raw/attributions", "tableau_de_bord_indicateurs", "tableau_de_bord"} <= keys
    for quand, mois in ((datetime(2024, 4, 5, 3), "2024-03"), (datetime(2025, 1, 5, 3), "2024-12")):
        contexte = dg.build_schedule_context(scheduled_execution_time=quand, repository_def=defs.get_repository_def())
        requete = schedule.evaluate_tick(contexte).run_requests[0]
        assert requete.partition_key == mois
    # the annual job publishes the atlas, never a dashboard
    annuel = {k.to_user_string() for k in defs.resolve_job_def("annuel").asset_layer.executable_asset_keys}
    assert "tableau_de_bord" not in annuel and "tableau_de_bord_indicateurs" not in annuel


@pytest.fixture(scope="module")
def tableau(tmp_path_factory) -> tuple[Path, Path, str]:
    dossier = tmp_path_factory.mktemp("tableau")
    mensuel = [(m, t, mesure, n, None, n) for m in (1, 2, 3) for t, mesure, n in (
        ("T2", "demandes_actives", 900 + m), (T, "demandes_actives", 2000 + m),
        ("T2", "nouvelles_demandes", 40 + m), (T, "nouvelles_demandes", NOUVELLES_MARS if m == 3 else 100 + m),
        (T, "attributions_12_mois", 700 + m))]
    marts = {
        "tableau_bord_mensuel": mart(("mois", "typologie", "mesure"), mensuel),
        "tableau_bord_delais_mensuel": mart(("mois", "typologie"), [(m, t, None, 2000, 20.5 + m) for m in (1, 2, 3)
                                                                    for t in ("T2", T)]),
        "ind_03": mart(("bailleur", "reservataire", "mesure"), [
            (T, T, "attributions_prononcees", 180, None, 180), (T, T, "baux_signes", 150, None, 150),
            (T, T, "refus", 30, None, 30), ("GDH", T, "attributions_prononcees", 80, None, 80)]),
        "obj_q1_hors_qpv": mart(("bailleur",), [("GDH", 12, 60, 0.2), (T, 37, 148, 0.25)]
                                ).assign(cible=0.25, ecart=0),
        "obj_q234_qpv": mart(("bailleur", "qpv"), [(T, T, 21, 30, 0.7)]
                             ).assign(cible=0.75, ecart=2, cible_legale=0.5, ecart_legal=0),
    }
    chemin = entrepot(dossier / "w.duckdb", marts, [("attributions", f"2021-0{m}") for m in (1, 2, 3)]
                      + [("demandes", f"2021-0{m}") for m in (1, 2, 3)])
    publication = dossier / "publication"
    construire_publication(chemin, 2021, publication, estampille(), "242100410", CATALOGUE)
    # the figure as the disclosure rule would write it masked: the dashboard reads the published folder only
    csv = publication / "tableau_bord_mensuel.csv"
    contenu = csv.read_text(encoding="utf-8")
    ligne = f"2021,3,TOTAL,nouvelles_demandes,{NOUVELLES_MARS},,{NOUVELLES_MARS},false"
    assert ligne in contenu
    csv.write_text(contenu.replace(ligne, "2021,3,TOTAL,nouvelles_demandes,s,,s,true"), encoding="utf-8")
    settings = _settings(dossier)
    pdf = build_tableau(settings, "2021-03", publication)
    return pdf, publication, texte(pdf)


def _settings(dossier: Path):
    from pipeline.settings import Settings

    return Settings(home=dossier / "home", data_dir=dossier / "data", epci="242100410")


def test_the_dashboard_renders_with_its_html_twin_and_its_stamp(tableau):
    pdf, _, text = tableau
    for titre in ("Tableau de bord mensuel", "mars 2021", "Le mois en bref", "La demande",
                  "Les CALEOL depuis janvier", "Examens et décisions", "Les refus", "DONNÉES FICTIVES"):
        assert titre in text, titre
    # refusals by motif: no mart, « non renseigné » with the reason, no crash
    assert "Suivi et analyse des motifs de refus : non renseigné pour 2021" in text
    html = pdf.with_suffix(".html").read_text(encoding="utf-8")
    assert "DONNÉES FICTIVES — démonstration" in html and "Le mois en bref" in html


def test_a_masked_cell_is_s_in_the_dashboard_and_its_value_appears_nowhere(tableau):
    pdf, _, text = tableau
    assert "dont déposées dans le mois s" in text
    assert "mars 2 003 s" in text  # the month-by-month table: active demands, then the masked new ones
    assert fr_entier(NOUVELLES_MARS).replace("\u202f", " ") not in text and str(NOUVELLES_MARS) not in text
    assert str(NOUVELLES_MARS) not in pdf.with_suffix(".html").read_text(encoding="utf-8")


def test_the_objectives_year_to_date_are_the_published_tables(tableau):
    _, publication, text = tableau
    lue = PublicationLue(publication)
    for code, filtre, libelle in (("obj_q1_hors_qpv", {"bailleur": T}, "1er quartile ou relogés ANRU, hors QPV"),
                                  ("obj_q234_qpv", {"bailleur": T, "qpv": T}, "2e à 4e quartiles en QPV")):
        table = lue.table(code).donnees
        ligne = table[(table[list(filtre)] == pd.Series(filtre)).all(axis=1)].iloc[0]
        ecart = "atteint" if ligne["ecart"] == 0 else fr_entier(ligne["ecart"])
        attendu = " ".join([libelle, fr_entier(ligne["numerateur"]), fr_entier(ligne["denominateur"]),
                            fr_pct(ligne["valeur"]), fr_pct(ligne["cible"], 0), ecart]).replace("\u202f", " ")
        assert attendu in text, attendu
    assert "Prioritaires sur le contingent de l'État – – non renseigné" in text


def test_a_failed_render_replaces_no_published_dashboard(home):
    from pipeline.assets.tableau_de_bord import (TABLEAU_KEY, build_tableau_de_bord_assets, dossier_tableau_construit,
                                                 tableau_path)
    from pipeline.resources import ObservatoireResource

    publie = tableau_path(home, "2021-03")
    publie.parent.mkdir(parents=True)
    publie.write_bytes(b"%PDF le tableau de bord de la veille")
    # a build folder that is not a publication (no _metadonnees.json): the render fails
    dossier_tableau_construit(home, "2021-03").mkdir(parents=True)
    assets, _ = build_tableau_de_bord_assets(CATALOGUE)
    rendu = next(a for a in assets if TABLEAU_KEY in a.keys)
    result = dg.materialize([rendu], partition_key="2021-03", raise_on_error=False,
                            resources={"observatoire": ObservatoireResource.from_settings(home)})
    assert not result.success
    assert publie.read_bytes() == b"%PDF le tableau de bord de la veille"
    assert sorted(p.name for p in publie.parent.iterdir()) == [publie.name]
