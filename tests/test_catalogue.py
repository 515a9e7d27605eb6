"""The catalogue covers the project (indicators.md: « an indicator without a model, a test and a place in
the atlas is a defect »), and the project covers the catalogue.

Judged on the working tree as it is when the tests run: every entry marked ``disponible`` needs its
mart SQL, a YAML entry with dbt data tests, and an export; every mart needs a catalogue entry (or a
line in ``marts_hors_catalogue``).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from pipeline.assets.atlas import atlas_metadata
from pipeline.publication.catalogue import Catalogue, CatalogueError, Indicateur, charger
from pipeline.publication.exports import exporter_annee
from pipeline.settings import DBT_PROJECT_DIR, PROJECT_DIR
from pipeline.warehouse import IngestionRecord, replace_partition

MARTS_DIR = DBT_PROJECT_DIR / "models" / "marts"
SPEC = PROJECT_DIR.parent / "shared" / "specs" / "indicators.md"
CATALOGUE = charger()
DISPONIBLES = [i for i in CATALOGUE.indicateurs if i.disponible]
ANNEE = 2021


def mart_sql() -> dict[str, Path]:
    """Mart name → its SQL file, for every model under models/marts."""
    return {p.stem: p for p in sorted(MARTS_DIR.rglob("*.sql"))}


MACROS_DIR = DBT_PROJECT_DIR / "macros"
_MACRO = re.compile(r"\{%-?\s*macro\s+(\w+)\s*\(.*?%\}(.*?)\{%-?\s*endmacro", re.S)


def macros() -> dict[str, str]:
    """Macro name → its body, for every macro of the dbt project."""
    return {m.group(1): m.group(2) for p in sorted(MACROS_DIR.rglob("*.sql"))
            for m in _MACRO.finditer(p.read_text(encoding="utf-8"))}


def sql_deplie(sql: str) -> str:
    """The SQL of a model with the bodies of the project macros it calls (recursively) appended:
    a mart may be written as one macro shared by several indicators."""
    corps, vus, a_voir = macros(), set(), [sql]
    while a_voir:
        texte = a_voir.pop()
        for nom in re.findall(r"\b(\w+)\s*\(", texte):
            if nom in corps and nom not in vus:
                vus.add(nom)
                a_voir.append(corps[nom])
    return "\n".join([sql, *(corps[n] for n in sorted(vus))])


def _a_des_tests(entree: dict) -> bool:
    if entree.get("data_tests") or entree.get("tests"):
        return True
    return any(c.get("data_tests") or c.get("tests") for c in entree.get("columns") or [] if isinstance(c, dict))


def modeles_testes() -> set[str]:
    """Models that have at least one dbt data test (model or column level) in a YAML under models/marts."""
    testes = set()
    for chemin in MARTS_DIR.rglob("*.yml"):
        document = yaml.safe_load(chemin.read_text(encoding="utf-8")) or {}
        for entree in document.get("models") or []:
            if isinstance(entree, dict) and _a_des_tests(entree):
                testes.add(entree.get("name"))
    return testes


@pytest.mark.parametrize("ind", DISPONIBLES, ids=lambda i: i.code)
def test_available_entry_has_its_mart_sql(ind: Indicateur):
    chemin = mart_sql().get(ind.modele)
    assert chemin is not None, (f"{ind.code} est « disponible » mais aucun fichier {ind.modele}.sql sous {MARTS_DIR} : "
                                f"écrivez le mart, ou remettez l'entrée à a_construire.")
    sql = sql_deplie(chemin.read_text(encoding="utf-8"))
    # every column the export reads is named by the SQL (a renamed column would fail the export at run time)
    lues = {ind.colonnes.get(c, c) for c in ("annee", *ind.dimensions, *ind.colonnes_chiffres)}
    if "annee" not in ind.colonnes and not re.search(r"\bannee\b", sql):
        lues = (lues - {"annee"}) | {"mois"}
    absentes = sorted(c for c in lues if not re.search(rf"\b{re.escape(c)}\b", sql))
    assert not absentes, (f"{chemin.relative_to(PROJECT_DIR)} ne nomme pas {', '.join(absentes)}, colonnes publiées de "
                          f"{ind.code} : renommez-les dans le mart ou déclarez « colonnes: » au catalogue.")


@pytest.mark.parametrize("ind", DISPONIBLES, ids=lambda i: i.code)
def test_available_entry_has_dbt_tests(ind: Indicateur):
    assert ind.modele in modeles_testes(), (
        f"{ind.code} est « disponible » mais le modèle {ind.modele} n'a aucun data test dbt dans un YAML de "
        f"{MARTS_DIR.relative_to(PROJECT_DIR)} (data_tests au niveau du modèle ou d'une colonne).")


def _valeur(colonne: str) -> object:
    return {"classe": "fragile", "nb_criteres": 2, "nb_menages": 40}.get(colonne, 40)


def entrepot_du_mart(chemin: Path, ind: Indicateur) -> Path:
    """A warehouse holding ``ind``'s mart (one TOTAL row per year, columns named as the mart names them)
    and an ingestion of each of its sources for the year."""
    ligne = {ind.colonnes.get("annee", "annee"): ANNEE}
    ligne.update({ind.colonnes.get(d, d): "TOTAL" for d in ind.dimensions})
    ligne.update({ind.colonnes.get(c, c): _valeur(c) for c in ind.colonnes_chiffres})
    ligne.update({"secret": False, "source": f"test {ANNEE}"})
    conn = duckdb.connect(str(chemin))
    conn.execute("create schema marts")
    conn.register("_mart", pd.DataFrame([ligne]))
    conn.execute(f"create table marts.{ind.modele} as select * from _mart")
    for source in ind.source:
        record = IngestionRecord(source=source, periode=str(ANNEE), fichier=f"{source}_{ANNEE}.csv", sha256="",
                                 taille=1, layout="test", lignes_lues=1, lignes_gardees=1, lignes_rejetees=0,
                                 duree_s=0.0, run_id="test")
        replace_partition(conn, f"raw.{source}", pd.DataFrame({"X": [1]}), {"ANNEE": ANNEE}, record)
    conn.close()
    return chemin


@pytest.mark.parametrize("ind", DISPONIBLES, ids=lambda i: i.code)
def test_available_entry_is_exported(ind: Indicateur, tmp_path: Path):
    chemin = entrepot_du_mart(tmp_path / "w.duckdb", ind)
    seul = Catalogue(chemin=CATALOGUE.chemin, indicateurs=(ind,), marts_hors_catalogue={})
    estampille = atlas_metadata(ANNEE, "test", True, "test", datetime(2026, 1, 1))
    publication = exporter_annee(chemin, ANNEE, tmp_path / "out", estampille, "242100410", seul)
    csv = publication.dossier / f"{ind.code}.csv"
    assert csv.exists(), f"{ind.code} : l'export n'a pas écrit {csv.name} ({publication.non_renseignes})"
    assert csv.read_text(encoding="utf-8").splitlines()[0] == ",".join(ind.colonnes_publiees)


def test_every_mart_is_in_the_catalogue():
    connus = {i.modele for i in CATALOGUE.indicateurs} | set(CATALOGUE.marts_hors_catalogue)
    orphelins = sorted(set(mart_sql()) - connus)
    assert not orphelins, (f"marts absents du catalogue : {', '.join(orphelins)} — ajoutez une entrée à "
                           f"catalogue/indicateurs.yaml, ou une ligne à marts_hors_catalogue avec sa raison.")


def test_section_b_and_objectives_are_all_there_with_labels():
    codes = CATALOGUE.par_code()
    attendus = [f"ind_{n:02d}" for n in range(1, 29)] + ["obj_prio_etat", "obj_prio_resa", "obj_q1_hors_qpv",
                                                         "obj_q234_qpv"]
    manquants = [c for c in attendus if c not in codes]
    assert not manquants, f"codes absents du catalogue : {', '.join(manquants)}"
    assert all(codes[c].libelle.strip() for c in attendus)
    assert all(codes[c].famille == "objectif" for c in attendus if c.startswith("obj_"))


def test_section_b_labels_are_the_cia_s():
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} est absent : la spécification partagée n'est pas à côté du projet")
    texte = SPEC.read_text(encoding="utf-8")
    section = texte[texte.index("## B."):texte.index("## C.")]
    libelles = {f"ind_{int(n):02d}": l.strip() for n, l in re.findall(r"^\| (\d+) \| ([^|]+?) \|", section, re.M)}
    assert len(libelles) == 28
    codes = CATALOGUE.par_code()
    differents = {c: (codes[c].libelle, l) for c, l in libelles.items() if codes[c].libelle != l}
    assert not differents, f"libellés différents de la CIA (catalogue, CIA) : {differents}"


def test_the_fragility_catalogue_says_c3_counts_adults_in_the_cia_s_words():
    """C3 is a share of adults (persons), not of households: the catalogue says so, with the CIA's
    wording as indicators.md (section D) quotes it."""
    definition = " ".join(CATALOGUE.par_code()["fragilite_iris"].definition.split())
    assert "part des adultes au chômage" in definition and "pas de ménages" in definition
    assert "NB_MAJEURS_CHOMAGE" in definition and "(NB_MAJEURS)" in definition
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} est absent : la spécification partagée n'est pas à côté du projet")
    section = SPEC.read_text(encoding="utf-8").split("## D.")[1].split("## E.")[0]
    cia = re.search(r"`C3`: ([^—]+?) —", section).group(1).strip()
    assert f"« {cia} »" in definition


ENTREE = """\
version: 1
indicateurs:
  - code: ind_test
    libelle: Nombre de mutations par bailleur
    famille: suivi
    definition: Un test.
    unite: nombre
    source: [attributions]
    modele: ind_test
    dimensions: [bailleur]
    granularite_fine: false
    motifs_sensibles: false
    saisie: null
    evolution: false
    section_atlas: 5
    statut: a_construire
"""


@pytest.mark.parametrize("remplacer, message", [
    (("granularite_fine: false", "granularite_fine: false\n    couleur: bleu"), r"'ind_test'.*champs inconnus : couleur"),
    (("dimensions: [bailleur]", "dimensions: [bailleur, residence]"), r"'ind_test'.*« granularite_fine »"),
    (("motifs_sensibles: false", "motifs_sensibles: true"), r"« motifs_sensibles ».*pas de dimension motif"),
    (("code: ind_test", "code: tableau_de_bord_des_delais_mensuels"), r"« code ».*31 caractères"),
    (("famille: suivi", "famille: autre"), r"« famille ».*objectif \| suivi"),
])
def test_a_malformed_entry_names_the_entry_and_the_field(tmp_path: Path, remplacer, message):
    chemin = tmp_path / "indicateurs.yaml"
    chemin.write_text(ENTREE, encoding="utf-8")
    assert charger(chemin).par_code()["ind_test"].colonnes_publiees == (
        "annee", "bailleur", "numerateur", "denominateur", "valeur", "secret")
    chemin.write_text(ENTREE.replace(*remplacer), encoding="utf-8")
    with pytest.raises(CatalogueError, match=message):
        charger(chemin)


def test_the_catalogue_is_read_once_until_the_file_changes(tmp_path: Path, monkeypatch):
    """A run's steps ask for the catalogue a few dozen times (≈ 0.05 s a reading): read once, and again
    when the file is edited."""
    from pipeline.publication import catalogue as module

    lectures = []
    lire = module._lire
    monkeypatch.setattr(module, "_lire", lambda chemin: lectures.append(chemin) or lire(chemin))
    chemin = tmp_path / "indicateurs.yaml"
    chemin.write_text(ENTREE, encoding="utf-8")
    assert charger(chemin) is charger(chemin) and len(lectures) == 1
    chemin.write_text(ENTREE.replace("famille: suivi", "famille: autre"), encoding="utf-8")
    with pytest.raises(CatalogueError, match="famille"):
        charger(chemin)
    assert len(lectures) == 2
