"""The atlas rendered from a very small published year (a few dozen rows, most sources missing): it
renders, says « non renseigné » with the reason where a table is missing, names every indicator of
the catalogue, prints « s » for a masked cell and never its value, and has its HTML twin.

The warehouse is hand-made (the helpers of tests/test_publication.py); the atlas is rendered once for
the module (slow: the Jupyter kernel, pandoc and typst).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from pipeline.assets.atlas import ATLAS_DIR, stamp_of
from pipeline.publication.catalogue import charger
from pipeline.publication.exports import construire_publication
from pipeline.publication.lecture import PublicationLue
from pipeline.reports.render import render_document
from test_publication import T, entrepot, estampille, mart

pytestmark = pytest.mark.slow

CATALOGUE = charger()


def texte(pdf: Path) -> str:
    brut = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    return re.sub(r"[\s\u202f\u00a0]+", " ", brut).replace("\u2019", "'")  # pandoc's typographic apostrophe


@pytest.fixture(scope="module")
def atlas(tmp_path_factory) -> tuple[Path, Path, str]:
    dossier = tmp_path_factory.mktemp("atlas")
    marts = {
        # the objectives: one bailleur and the total
        "obj_q1_hors_qpv": mart(("bailleur",), [("GDH", 30, 100, 0.3), (T, 30, 100, 0.3)],
                                figures=("numerateur", "denominateur", "valeur")).assign(cible=0.25, ecart=0),
        "obj_q234_qpv": mart(("bailleur", "qpv"), [("GDH", "QP1", 50, 80, 0.625), ("GDH", T, 50, 80, 0.625),
                                                    (T, "QP1", 50, 80, 0.625), (T, T, 50, 80, 0.625)]
                             ).assign(cible=0.75, ecart=10, cible_legale=0.5, ecart_legal=0),
        # labels by priority motif: G_VIOLENCES (4) is masked, and its complement with it
        "ind_26": mart(("motif",), [("DALO", 40, 100, 40), ("G_VIOLENCES", 4, 100, 4), ("C_DEFAVORISE", 25, 100, 25),
                                    ("A_HANDICAP", 31, 100, 31), (T, 100, 100, 100)], source="SYPLO 2021"),
        # its mart was built, but no RPLS extract was ingested for the year: « non renseigné », source absente
        "ind_04": mart(("commune", "iris", "statistique"), [(T, T, "mediane", None, 500, 5.8)], source="RPLS 2021"),
        "ind_03": mart(("bailleur", "reservataire", "mesure"), [
            (T, T, "attributions_prononcees", 100, 120, 100), (T, T, "baux_signes", 90, 100, 90),
            (T, T, "refus", 10, 100, 10)]),
    }
    chemin = entrepot(dossier / "w.duckdb", marts, [("attributions", "2021-01"), ("syplo", "2021")])
    publication = dossier / "publication"
    construire_publication(chemin, 2021, publication, estampille(), "242100410", CATALOGUE)
    pdf = render_document(ATLAS_DIR, "atlas.qmd", dossier / "build",
                          {"annee": 2021, "publication": str(publication), "figures": "figures"},
                          stamp_of(PublicationLue(publication)), use_quarto=False)
    return pdf, publication, texte(pdf)


def test_a_very_small_year_renders_with_its_html_twin(atlas):
    pdf, _, text = atlas
    assert len(PdfReader(pdf).pages) > 5
    for titre in ("Synthèse", "Le parc", "Les loyers", "L'occupation et sa fragilité", "Demande et attributions",
                  "Objectifs loi Égalité et Citoyenneté", "Publics prioritaires", "Fiches QPV", "Fiches résidences",
                  "Annexes"):
        assert titre in text, titre
    assert "DONNÉES FICTIVES" in text
    html = pdf.with_suffix(".html").read_text(encoding="utf-8")
    assert "DONNÉES FICTIVES — démonstration" in html and "Synthèse" in html
    assert "Bilan annuel des CALEOL" in html and "G_VIOLENCES" in html


def test_missing_sources_are_non_renseigne_with_their_reason(atlas):
    _, publication, text = atlas
    assert "non renseigné" in text
    raison = PublicationLue(publication).raison_non_renseigne("ind_04")
    assert raison == "source absente pour 2021 : rpls (aucun extrait ingéré)"
    # the annex gives the reason of a missing indicator of section 6.2
    assert "ind_04" in text and "source absente pour 2021 : rpls" in text


def test_every_indicator_of_the_catalogue_is_named_in_the_atlas(atlas):
    _, _, text = atlas
    absents = [f"{i.code} {i.libelle}" for i in CATALOGUE.indicateurs
               if i.code not in text or re.sub(r"\s+", " ", i.libelle) not in text]
    assert absents == []


def test_a_masked_cell_is_s_in_the_atlas_and_its_value_appears_nowhere(atlas):
    _, publication, text = atlas
    csv = (publication / "ind_26.csv").read_text(encoding="utf-8")
    assert "2021,G_VIOLENCES,s,s,s,true" in csv
    ligne = re.search(r"G_VIOLENCES (\S+) (\S+)", text)
    assert ligne is not None and ligne.group(1) == "s" and ligne.group(2) == "s"
    assert "G_VIOLENCES 4" not in text


def test_the_objectives_table_of_the_synthese_equals_the_exports(atlas):
    _, publication, text = atlas
    synthese = text[text.index("Les quatre objectifs"):text.index("Le détail par bailleur")]
    # obj_q1_hors_qpv TOTAL: 30 %, target 25 %, met; obj_q234_qpv TOTAL: 62,5 %, target 75 %, 10 short
    assert "1er quartile ou relogés ANRU, hors QPV 30,0 % 25 %" in synthese
    assert "2e à 4e quartiles en QPV 62,5 % 75 %" in synthese and " 10 " in synthese
    assert "Prioritaires sur le contingent de l'État non renseigné" in synthese


def test_the_atlas_step_takes_the_render_started_ahead_only_of_the_same_folder(tmp_path, monkeypatch):
    """The render starts when the tables are built, while the check audits them; the atlas step takes
    it when the folder is as it was, renders again when it changed, and raises what the render raised."""
    import threading
    from types import SimpleNamespace

    from pipeline.assets import atlas as module

    rendus, lache = [], threading.Event()

    def build_atlas(settings, annee, publication):
        lache.wait(10)
        rendus.append(annee)
        if (publication / "casse").exists():
            raise RuntimeError("une cellule du document a échoué")
        return publication / f"atlas-{len(rendus)}.pdf"

    monkeypatch.setattr(module, "build_atlas", build_atlas)
    settings = SimpleNamespace(var_dir=tmp_path / "var")
    publication = tmp_path / "indicateurs"
    publication.mkdir()
    (publication / "_metadonnees.json").write_text('{"run_id": "a"}')

    module.rendre_en_avance(settings, 2024, publication)
    assert rendus == []  # in the background
    lache.set()
    pdf, _, en_avance = module.atlas_rendu(settings, 2024, publication)
    assert (pdf.name, en_avance, rendus) == ("atlas-1.pdf", True, [2024])

    module.rendre_en_avance(settings, 2024, publication)
    (publication / "_metadonnees.json").write_text('{"run_id": "b"}')  # built again since
    pdf, _, en_avance = module.atlas_rendu(settings, 2024, publication)
    assert (pdf.name, en_avance, rendus) == ("atlas-3.pdf", False, [2024, 2024, 2024])

    (publication / "casse").touch()
    module.rendre_en_avance(settings, 2024, publication)
    with pytest.raises(RuntimeError, match="une cellule"):
        module.atlas_rendu(settings, 2024, publication)
    assert module._EN_AVANCE == {}  # nothing left ahead


def test_the_render_starts_ahead_only_in_a_run_of_this_process_that_renders_the_atlas():
    import os
    from types import SimpleNamespace

    from pipeline.assets.publication import ATLAS_KEY, INDICATEURS_KEY, rendu_en_avance_possible
    from pipeline.runs import PID_TAG

    def contexte(selection, job=(INDICATEURS_KEY, ATLAS_KEY), pid=str(os.getpid())):
        return SimpleNamespace(run=SimpleNamespace(asset_selection=selection, tags={PID_TAG: pid} if pid else {}),
                               job_def=SimpleNamespace(asset_layer=SimpleNamespace(executable_asset_keys=set(job))))

    assert rendu_en_avance_possible(contexte(None)) and rendu_en_avance_possible(contexte(frozenset()))
    assert not rendu_en_avance_possible(contexte(frozenset({INDICATEURS_KEY})))  # observatoire run --sans-atlas
    assert not rendu_en_avance_possible(contexte(None, job=(INDICATEURS_KEY,)))
    # a run launched elsewhere (the UI, a schedule: a process per step), or by another process
    assert not rendu_en_avance_possible(contexte(None, pid=None))
    assert not rendu_en_avance_possible(contexte(None, pid="1"))
