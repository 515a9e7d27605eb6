"""The publication step: the exports of a year (indicators.md, section E), the stamp, the audit summary,
the GeoPackage, the internal diffusion, and the Dagster assets that build, audit, render and publish.

The frames and warehouses are hand-made; every expected cell below was worked out by hand from the
rule as written in pipeline/publication/secret.py and docs/indicateurs.md (the rule's own cases are
in tests/test_secret.py).
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from openpyxl import load_workbook

from pipeline.assets.atlas import atlas_metadata
from pipeline.assets.publication import (ATLAS_KEY, INDICATEURS_KEY, PUBLICATION_KEY, build_publication_assets,
                                         dossier_construit)
from pipeline.definitions import ANNUAL_JOB, build_definitions
from pipeline.partitions import annual_partitions
from pipeline.provenance import write_manifest
from pipeline.publication import exports
from pipeline.publication.catalogue import Catalogue, Indicateur
from pipeline.publication.exports import ExportError, exporter_annee
from pipeline.publication.lecture import PublicationLue
from pipeline.publication.tables import verifier_sans_pseudonyme
from pipeline.publication.tampon import MENTION_DEMO, MENTION_INTERNE
from pipeline.publication.verification import auditer_dossier
from pipeline.resources import ObservatoireResource
from pipeline.settings import WRITER_POOL
from pipeline.warehouse import IngestionRecord, replace_partition

T = "TOTAL"


def indicateur(code: str, dimensions: tuple[str, ...], famille: str = "suivi", unite: str = "nombre",
               granularite_fine: bool = False, motifs_sensibles: bool = False, source: tuple[str, ...] = ("attributions",),
               statut: str = "disponible", evolution: bool = False, colonnes: dict | None = None,
               modele: str | None = None) -> Indicateur:
    return Indicateur(code=code, libelle=f"Libellé de {code}", famille=famille, definition=f"Définition de {code}.",
                      unite=unite, source=source, modele=modele or code, dimensions=dimensions,
                      granularite_fine=granularite_fine, motifs_sensibles=motifs_sensibles, saisie=None,
                      evolution=evolution, section_atlas=10, statut=statut, colonnes=colonnes or {})


def table(dimensions: tuple[str, ...], lignes: list[tuple], figures=("numerateur", "denominateur", "valeur"),
          annee: int = 2021) -> pd.DataFrame:
    frame = pd.DataFrame(lignes, columns=[*dimensions, *figures])
    frame.insert(0, "annee", annee)
    return frame


# ---------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------

REFUS = indicateur("ind_refus", ("bailleur", "residence"), granularite_fine=True)
PARC = indicateur("diag_parc", ("commune",), famille="diagnostic", unite="part", source=("rpls",),
                  modele="parc_commune", colonnes={"numerateur": "logements_qpv", "denominateur": "logements",
                                                   "valeur": "part_qpv"})
SANS_SOURCE = indicateur("ind_ops", ("commune",), source=("ops",))
A_CONSTRUIRE = indicateur("ind_futur", ("commune",), statut="a_construire")
SANS_MART = indicateur("ind_sans_mart", ("commune",))
VIDE = indicateur("ind_vide", ("commune",))


def catalogue(*entrees: Indicateur) -> Catalogue:
    return Catalogue(chemin=Path("catalogue-de-test.yaml"), indicateurs=tuple(entrees), marts_hors_catalogue={})


def ingerer(conn: duckdb.DuckDBPyConnection, source: str, periode: str) -> None:
    """An ingestion as the ingest assets record it (raw.<source> + raw._ingestion)."""
    annee, _, mois = periode.partition("-")
    partition = {"ANNEE": int(annee), **({"MOIS": int(mois)} if mois else {})}
    record = IngestionRecord(source=source, periode=periode, fichier=f"{source}_{periode}.csv", sha256="0" * 8,
                             taille=1, layout="test", lignes_lues=1, lignes_gardees=1, lignes_rejetees=0,
                             duree_s=0.0, run_id="test")
    replace_partition(conn, f"raw.{source}", pd.DataFrame({"X": [1]}), partition, record)


def entrepot(chemin: Path, marts: dict[str, pd.DataFrame], periodes: list[tuple[str, str]]) -> Path:
    conn = duckdb.connect(str(chemin))
    conn.execute("create schema if not exists marts")
    for nom, frame in marts.items():
        conn.register("_frame", frame)
        conn.execute(f"create or replace table marts.{nom} as select * from _frame")
        conn.unregister("_frame")
    for source, periode in periodes:
        ingerer(conn, source, periode)
    conn.close()
    return chemin


def mart(dimensions: tuple[str, ...], lignes: list[tuple], figures=("numerateur", "denominateur", "valeur"),
         annee: int = 2021, source: str = "Fichier partagé 2021") -> pd.DataFrame:
    frame = table(dimensions, lignes, figures, annee)
    frame["libelle_en_plus"] = "pas publié"  # a mart column outside the published ones
    frame["secret"] = False
    frame["source"] = source
    return frame


MART_REFUS = pd.concat([
    mart(("bailleur", "residence"), [
        ("ORVITIS", "R4", 20, 50, 20), ("GDH", T, 30, 84, 30), ("GDH", "R3", 15, 30, 15), (T, T, 50, 134, 50),
        ("GDH", "R1", 3, 14, 3), ("ORVITIS", T, 20, 50, 20), ("GDH", "R2", 12, 40, 12),
    ]),
    mart(("bailleur", "residence"), [("GDH", "R1", 40, 40, 40), (T, T, 40, 40, 40)], annee=2020),
])
MART_PARC = mart(("commune",), [("21231", 5, 40, 0.125), ("21166", 0, 0, None)],
                 figures=("logements_qpv", "logements", "part_qpv"), source="RPLS 2021")

CSV_REFUS = """\
annee,bailleur,residence,numerateur,denominateur,valeur,secret
2020,GDH,R1,40,40,40,false
2020,TOTAL,TOTAL,40,40,40,false
2021,GDH,R1,s,s,s,true
2021,GDH,R2,s,s,s,true
2021,GDH,R3,15,30,15,false
2021,GDH,TOTAL,30,84,30,false
2021,ORVITIS,R4,20,50,20,false
2021,ORVITIS,TOTAL,20,50,20,false
2021,TOTAL,TOTAL,50,134,50,false
"""
CSV_PARC = """\
annee,commune,numerateur,denominateur,valeur,secret
2021,21166,0,0,,false
2021,21231,5,40,0.125,false
"""


def estampille(demo: bool = True) -> dict:
    return atlas_metadata(2021, "0123456789abcdef", demo, "abc1234567+dirty", datetime(2026, 11, 30, 14, 5))


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return entrepot(tmp_path / "w.duckdb",
                    {"ind_refus": MART_REFUS, "parc_commune": MART_PARC,
                     "ind_ops": mart(("commune",), [("21231", 4, 4, 4)]),
                     "ind_futur": mart(("commune",), [("21231", 4, 4, 4)]),
                     "ind_vide": mart(("commune",), [("21231", 4, 4, 4)], annee=2020)},
                    [("attributions", "2021-01"), ("attributions", "2021-02"), ("rpls", "2021"), ("rpls", "2020"),
                     ("ops", "2020")])


CATALOGUE = catalogue(REFUS, PARC, SANS_SOURCE, A_CONSTRUIRE, SANS_MART, VIDE)


def test_exports_write_exact_csv_with_masked_cells(warehouse, tmp_path):
    publication = exporter_annee(warehouse, 2021, tmp_path / "out", estampille(), "242100410", CATALOGUE)
    dossier = tmp_path / "out" / "2021" / "indicateurs"
    assert publication.dossier == dossier
    assert (dossier / "ind_refus.csv").read_text(encoding="utf-8") == CSV_REFUS
    assert (dossier / "diag_parc.csv").read_text(encoding="utf-8") == CSV_PARC  # mapped columns, counts kept
    assert publication.publies == ("ind_refus", "diag_parc") and publication.cellules_masquees == 2


def test_indicators_without_data_are_non_renseigne_never_zeros(warehouse, tmp_path):
    publication = exporter_annee(warehouse, 2021, tmp_path / "out", estampille(), "242100410", CATALOGUE)
    dossier = publication.dossier
    assert sorted(p.name for p in dossier.glob("*.csv")) == ["_libelles.csv", "_non_renseignes.csv", "diag_parc.csv",
                                                            "ind_refus.csv"]
    with (dossier / "_non_renseignes.csv").open(encoding="utf-8") as handle:
        lignes = list(csv.DictReader(handle))
    raisons = {ligne["code"]: ligne["raison"] for ligne in lignes}
    assert list(raisons) == ["ind_ops", "ind_futur", "ind_sans_mart", "ind_vide"]
    assert "ops" in raisons["ind_ops"] and "2021" in raisons["ind_ops"]
    assert "a_construire" in raisons["ind_futur"]
    assert "marts.ind_sans_mart" in raisons["ind_sans_mart"]
    assert "aucune ligne pour 2021" in raisons["ind_vide"]
    assert {ligne["annee"] for ligne in lignes} == {"2021"}
    feuille = load_workbook(publication.classeur)["Lisez-moi"]
    texte = [str(c) for ligne in feuille.iter_rows(values_only=True) for c in ligne if c is not None]
    assert all(code in texte for code in raisons)
    assert any("ops" in t and "2021" in t for t in texte)


def test_workbook_has_a_stamped_readme_then_one_sheet_per_code(warehouse, tmp_path):
    publication = exporter_annee(warehouse, 2021, tmp_path / "out", estampille(), "242100410", CATALOGUE)
    classeur = load_workbook(publication.classeur)
    assert publication.classeur.name == "indicateurs_242100410_2021.xlsx"
    assert classeur.sheetnames == ["Lisez-moi", "ind_refus", "diag_parc"]
    lisez_moi = [c for ligne in classeur["Lisez-moi"].iter_rows(values_only=True) for c in ligne if c is not None]
    for attendu in (MENTION_DEMO, "0123456789abcdef", "abc1234567+dirty", "30/11/2026 14:05", "2021-01 à 2021-02 (2 mois)"):
        assert attendu in lisez_moi
    lignes = list(classeur["ind_refus"].iter_rows(values_only=True))
    assert lignes[0] == ("annee", "bailleur", "residence", "numerateur", "denominateur", "valeur", "secret")
    assert lignes[3] == (2021, "GDH", "R1", "s", "s", "s", True)
    assert lignes[5] == (2021, "GDH", "R3", 15, 30, 15, False)
    assert list(classeur["diag_parc"].iter_rows(values_only=True))[1:] == [(2021, "21166", 0, 0, None, False),
                                                                          (2021, "21231", 5, 40, 0.125, False)]


def test_the_workbooks_texts_stay_texts(tmp_path):
    """A résidence or a label that looks like a formula, a link or a number is written as the text it
    is (XlsxWriter would otherwise write « =… » as a formula and « 0123 » as 123); an infinite figure
    (a division by zero) is an empty cell, as openpyxl wrote it, a masked one « s »."""
    from pipeline.publication.catalogue import charger
    from pipeline.publication.ecriture import ecrire_classeur
    from pipeline.publication.tables import Preparation, TablePubliee
    from pipeline.publication.tampon import Tampon

    indicateur = charger().indicateurs[0]
    donnees = pd.DataFrame({"annee": [2021, 2021, 2021], "residence": ["=1+1", "https://exemple.fr", "0123"],
                            "valeur": [1.5, float("inf"), 7], "secret": [False, False, True]})
    masque = pd.DataFrame({"valeur": [False, False, True]})
    tampon = Tampon(annee=2021, epci="242100410", sources={"rpls": "2021"}, run_id="r", code_version="v",
                    date="01/01/2030", demo=False)
    chemin = tmp_path / "classeur.xlsx"
    ecrire_classeur(Preparation((TablePubliee(indicateur, donnees, masque=masque),), (), None, None), tampon, chemin)
    feuille = load_workbook(chemin)[indicateur.code]
    assert list(feuille.iter_rows(values_only=True)) == [
        ("annee", "residence", "valeur", "secret"), (2021, "=1+1", 1.5, False), (2021, "https://exemple.fr", None, False),
        (2021, "0123", "s", True)]
    assert feuille["B2"].data_type == "s" and feuille.freeze_panes == "A2"


def test_folder_metadata_stamps_every_file(warehouse, tmp_path):
    publication = exporter_annee(warehouse, 2021, tmp_path / "out", estampille(), "242100410", CATALOGUE)
    meta = json.loads((publication.dossier / "_metadonnees.json").read_text(encoding="utf-8"))
    assert meta["mentions"] == [MENTION_DEMO] and meta["donnees_fictives"] is True
    assert meta["run_id"] == "0123456789abcdef" and meta["version_du_code"] == "abc1234567+dirty"
    assert meta["sources"]["rpls"] == "2021" and meta["sources"]["attributions"] == "2021-01 à 2021-02 (2 mois)"
    assert "absente" in meta["sources"]["ops"]  # ingested for 2020 only
    fichiers = {f["fichier"]: f for f in meta["fichiers"]}
    assert set(fichiers) == {p.name for p in publication.dossier.iterdir()} - {"_metadonnees.json"}
    assert {"_libelles.csv", "_non_renseignes.csv", "indicateurs_242100410_2021.xlsx"} <= set(fichiers)
    for nom, entree in fichiers.items():
        assert entree["sha256"] == hashlib.sha256((publication.dossier / nom).read_bytes()).hexdigest()
    assert fichiers["ind_refus.csv"]["source"] == ["Fichier partagé 2021"]
    assert fichiers["ind_refus.csv"]["cellules_masquees"] == 2
    reel = exporter_annee(warehouse, 2021, tmp_path / "reel", estampille(demo=False), "242100410", CATALOGUE)
    meta = json.loads((reel.dossier / "_metadonnees.json").read_text(encoding="utf-8"))
    assert meta["mentions"] == [] and meta["donnees_fictives"] is False
    # the rule and its audit travel with the files
    audit = meta["secret"]["audit"]
    assert meta["secret"]["seuil"] == 11 and "11" in meta["secret"]["regle"]
    assert audit["reussi"] and audit["lignes_masquees"] == 2 and audit["secondaires"] == 1
    assert audit["intervalle_le_plus_etroit"]["largeur"] >= 11
    assert {t["code"]: t["secondaires"] for t in audit["par_table"]} == {"ind_refus": 1, "diag_parc": 0}


def test_objectives_and_evolution_indicators_carry_their_series(tmp_path):
    """The atlas draws the evolution from the published tables: the « Évolution… » indicators and the
    objectives carry the years before theirs (up to five in all), the others the year before."""
    evolution = indicateur("ind_evol", ("bailleur",), evolution=True)
    annuel = indicateur("ind_annuel", ("bailleur",))
    serie = pd.concat([mart(("bailleur",), [("GDH", 10 * (a - 2015), 40, 10 * (a - 2015))], annee=a)
                       for a in range(2015, 2022)])
    chemin = entrepot(tmp_path / "w.duckdb", {"ind_evol": serie, "ind_annuel": serie},
                      [("attributions", "2021-06")])
    publication = exporter_annee(chemin, 2021, tmp_path / "out", estampille(), "242100410",
                                 catalogue(evolution, annuel))
    assert (publication.dossier / "ind_evol.csv").read_text(encoding="utf-8") == (
        "annee,bailleur,numerateur,denominateur,valeur,secret\n" + "".join(
            f"{a},GDH,{10 * (a - 2015)},40,{10 * (a - 2015)},false\n" for a in range(2017, 2022)))
    # the others carry the year before (the atlas compares)
    assert (publication.dossier / "ind_annuel.csv").read_text(encoding="utf-8").splitlines()[1:] == [
        "2020,GDH,50,40,50,false", "2021,GDH,60,40,60,false"]


def test_a_mart_without_figures_for_the_year_is_non_renseigne_with_its_reason(tmp_path):
    saisie = indicateur("ind_saisie", ("mesure",), source=("rpls",))
    partiel = indicateur("ind_partiel", ("indicateur",), source=("rpls",))
    vide = mart(("mesure",), [("accedants", None, None, None), ("logements", None, None, None)])
    vide["raison"] = "non renseigné : saisie absente"
    demi = mart(("indicateur",), [("ind_05", None, None, None), ("ind_25", 1, 1, 1)])
    demi["raison"] = ["non renseigné : source absente (ops)", None]
    chemin = entrepot(tmp_path / "w.duckdb", {"ind_saisie": vide, "ind_partiel": demi}, [("rpls", "2021")])
    publication = exporter_annee(chemin, 2021, tmp_path / "out", estampille(), "242100410", catalogue(saisie, partiel))
    assert [(a.code, a.raison) for a in publication.non_renseignes] == [("ind_saisie", "non renseigné : saisie absente")]
    assert (publication.dossier / "ind_partiel.csv").read_text(encoding="utf-8") == (
        "annee,indicateur,numerateur,denominateur,valeur,secret\n2021,ind_05,,,,false\n2021,ind_25,1,1,1,false\n")
    meta = json.loads((publication.dossier / "_metadonnees.json").read_text(encoding="utf-8"))
    assert meta["fichiers"][0]["chiffres_absents"] == ["non renseigné : source absente (ops)"]


def test_no_published_file_carries_a_pseudonym(tmp_path):
    pseudo = hashlib.sha256(b"0210120001234").hexdigest()
    with pytest.raises(ExportError, match="pseudonym"):
        verifier_sans_pseudonyme(pd.DataFrame({"annee": [2021], "residence": [pseudo]}), "ind_refus")
    with pytest.raises(ExportError, match="NUM_UNIQUE"):
        verifier_sans_pseudonyme(pd.DataFrame({"annee": [2021], "NUM_UNIQUE": ["x"]}), "ind_refus")
    verifier_sans_pseudonyme(pd.DataFrame({"annee": [2021], "residence": ["R1"], "valeur": [0.5]}), "ind_refus")
    # end to end: a mart that leaks a pseudonym in a dimension stops the publication
    chemin = entrepot(tmp_path / "w.duckdb", {"ind_refus": mart(("bailleur", "residence"), [("GDH", pseudo, 40, 40, 40)])},
                      [("attributions", "2021-01")])
    with pytest.raises(ExportError, match="pseudonym"):
        exporter_annee(chemin, 2021, tmp_path / "out", estampille(), "242100410", catalogue(REFUS))
    assert not (tmp_path / "out" / "2021" / "indicateurs").exists()


def test_a_mart_without_a_published_column_is_an_error_naming_it(tmp_path):
    chemin = entrepot(tmp_path / "w.duckdb", {"parc_commune": MART_PARC.drop(columns="logements")},
                      [("rpls", "2021")])
    with pytest.raises(ExportError, match=r"marts\.parc_commune.*denominateur \(colonne 'logements' du mart\)"):
        exporter_annee(chemin, 2021, tmp_path / "out", estampille(), "242100410", catalogue(PARC))


def test_publication_is_atomic_and_archives_the_previous_folder(warehouse, tmp_path, monkeypatch):
    sortie = tmp_path / "out"
    premiere = exporter_annee(warehouse, 2021, sortie, estampille(), "242100410", CATALOGUE)
    avant = {p.name: p.read_bytes() for p in premiere.dossier.iterdir()}

    def en_panne(*args, **kwargs):
        raise OSError("disque plein")

    monkeypatch.setattr(exports, "ecrire_classeur", en_panne)
    with pytest.raises(OSError, match="disque plein"):
        exporter_annee(warehouse, 2021, sortie, estampille(), "242100410", CATALOGUE)
    assert {p.name: p.read_bytes() for p in premiere.dossier.iterdir()} == avant  # previous folder intact
    assert sorted(p.name for p in (sortie / "2021").iterdir()) == ["indicateurs"]  # no temp folder, no archive

    monkeypatch.undo()
    seconde = exporter_annee(warehouse, 2021, sortie, estampille(), "242100410", CATALOGUE)
    assert seconde.archive is not None and seconde.archive.parent == sortie / "2021" / "archives"
    assert {p.name: p.read_bytes() for p in seconde.archive.iterdir()} == avant
    assert (seconde.dossier / "ind_refus.csv").read_text(encoding="utf-8") == CSV_REFUS


# ---------------------------------------------------------------------------------------------
# Reading back, the audit of the files, the internal diffusion, the GeoPackage
# ---------------------------------------------------------------------------------------------

def test_a_published_folder_reads_back_with_its_masked_cells(warehouse, tmp_path):
    publication = exporter_annee(warehouse, 2021, tmp_path / "out", estampille(), "242100410", CATALOGUE)
    lue = PublicationLue(publication.dossier)
    assert lue.annee == 2021 and lue.codes == ["ind_refus", "diag_parc"] and lue.mentions == [MENTION_DEMO]
    refus = lue.table("ind_refus")
    r1 = refus.donnees.index[refus.donnees["residence"].eq("R1") & refus.donnees["annee"].eq(2021)][0]
    assert refus.masquee(r1, "numerateur") and pd.isna(refus.donnees.at[r1, "numerateur"])
    assert refus.donnees.loc[refus.donnees["residence"].eq("R3"), "numerateur"].tolist() == [15]
    assert refus.donnees.loc[refus.donnees["residence"].eq("R1"), "numerateur"].iloc[0] == 40  # 2020
    assert lue.table("ind_ops") is None and "ops" in lue.raison_non_renseigne("ind_ops")


def test_the_audit_of_the_files_refuses_a_publication_built_to_leak(warehouse, tmp_path):
    """The check reads the CSV as written: un-masking the complement of a masked résidence (a CSV edited
    by hand, a rule that forgot a cell) gives R1 back from the bailleur's total, and the audit fails."""
    publication = exporter_annee(warehouse, 2021, tmp_path / "out", estampille(), "242100410", CATALOGUE)
    assert auditer_dossier(publication.dossier, warehouse, CATALOGUE).reussi
    fuite = tmp_path / "fuite"
    shutil.copytree(publication.dossier, fuite)
    chemin = fuite / "ind_refus.csv"
    chemin.write_text(chemin.read_text(encoding="utf-8").replace("2021,GDH,R2,s,s,s,true", "2021,GDH,R2,12,40,12,false"),
                      encoding="utf-8")
    rapport = auditer_dossier(fuite, warehouse, CATALOGUE)
    assert not rapport.reussi
    assert {(c.table, dict(c.cle)["residence"], c.largeur) for c in rapport.echecs} >= {("ind_refus", "R1", 0.0)}
    assert "residence = R1" in rapport.message()


def test_an_internal_diffusion_lifts_the_rule_and_says_so_on_every_file(warehouse, tmp_path):
    interne = exporter_annee(warehouse, 2021, tmp_path / "out", estampille(), "242100410", CATALOGUE, secret=False)
    assert interne.dossier == tmp_path / "out" / "2021" / "interne"
    assert not (tmp_path / "out" / "2021" / "indicateurs").exists()  # never in place of the public folder
    assert "2021,GDH,R1,3,14,3,false" in (interne.dossier / "ind_refus.csv").read_text(encoding="utf-8")
    meta = json.loads((interne.dossier / "_metadonnees.json").read_text(encoding="utf-8"))
    assert meta["diffusion_interne"] is True and MENTION_INTERNE in meta["mentions"]
    assert meta["secret"]["applique"] is False
    lisez_moi = [c for ligne in load_workbook(interne.classeur)["Lisez-moi"].iter_rows(values_only=True)
                 for c in ligne if c is not None]
    assert MENTION_INTERNE in lisez_moi


def test_the_geopackage_carries_the_published_figures_of_each_geography(tmp_path):
    import geopandas as gpd
    import shapely

    communes = pd.DataFrame({"annee": [2021, 2021], "code_insee": ["21231", "21166"], "nom": ["Dijon", "Chenôve"],
                             "fictif": [False, False],
                             "geometry_wkb": [shapely.to_wkb(shapely.box(0, 0, 1, 1)), shapely.to_wkb(shapely.box(1, 0, 2, 1))]})
    iris = pd.DataFrame({"annee": [2021] * 3, "iris": ["212310101", "212310102", "211660000"],
                         "nom": ["A", "B", "C"], "code_insee": ["21231", "21231", "21166"], "fictif": [True] * 3,
                         "geometry_wkb": [shapely.to_wkb(shapely.box(x, 0, x + 1, 1)) for x in range(3)]})
    par_iris = indicateur("diag_iris", ("commune", "iris"), famille="diagnostic", source=("rpls",),
                          granularite_fine=True)
    chemin = entrepot(tmp_path / "w.duckdb", {
        "parc_commune": MART_PARC, "geo_communes": communes, "geo_iris": iris,
        "diag_iris": mart(("commune", "iris"), [("21231", "212310101", 4, None, 4), ("21231", "212310102", 30, None, 30),
                                                ("21231", T, 34, None, 34), ("21166", "211660000", 0, None, 0),
                                                ("21166", T, 0, None, 0)])}, [("rpls", "2021")])
    publication = exporter_annee(chemin, 2021, tmp_path / "out", estampille(), "242100410", catalogue(PARC, par_iris))
    gpkg = publication.dossier / "indicateurs_242100410_2021.gpkg"
    couche_communes = gpd.read_file(gpkg, layer="communes").set_index("code")
    assert couche_communes.crs.to_epsg() == 2154
    assert couche_communes.loc["21231", "diag_parc_valeur"] == 0.125
    assert couche_communes.loc["21231", "diag_iris_valeur"] == 34  # the commune's total row
    couche_iris = gpd.read_file(gpkg, layer="iris").set_index("code")
    # 4 dwellings: masked, and its complement too; the file holds no masked figure
    assert couche_iris["diag_iris_valeur"].isna().tolist() == [True, True, False]
    assert couche_iris["diag_iris_secret"].tolist() == [1, 1, 0]


# ---------------------------------------------------------------------------------------------
# The Dagster assets
# ---------------------------------------------------------------------------------------------

def test_the_publication_assets_follow_the_catalogue_marts_in_the_annual_job(home):
    defs = build_definitions(home)
    graph = defs.resolve_asset_graph()
    parents = graph.get(INDICATEURS_KEY).parent_keys
    assert dg.AssetKey(["parc_par_commune"]) in parents and dg.AssetKey(["geo_communes"]) in parents
    assert graph.get(ATLAS_KEY).parent_keys == {INDICATEURS_KEY}  # the atlas never reads a mart
    assert graph.get(PUBLICATION_KEY).parent_keys == {INDICATEURS_KEY, ATLAS_KEY}
    selected = defs.resolve_job_def(ANNUAL_JOB).asset_layer.selected_asset_keys
    assert {INDICATEURS_KEY, ATLAS_KEY, PUBLICATION_KEY} <= selected
    checks = {c.name: c for c in defs.resolve_asset_graph().asset_check_keys}
    assert "audit_secret" in {k.name for k in graph.asset_check_keys if k.asset_key == INDICATEURS_KEY}
    for cle in (INDICATEURS_KEY, ATLAS_KEY, PUBLICATION_KEY):
        asset = next(a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and cle in a.keys)
        assert asset.partitions_def == annual_partitions
        # the tables are built from the warehouse, in its pool; the atlas and the swap read files only
        assert asset.node_def.pool == (WRITER_POOL if cle == INDICATEURS_KEY else None)


def _upstream(passes: bool):
    @dg.asset(key=["ind_refus"], partitions_def=annual_partitions)
    def ind_refus() -> None:
        return None

    @dg.asset_check(asset=ind_refus, blocking=True)
    def controle() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=passes, severity=dg.AssetCheckSeverity.ERROR)

    return ind_refus, controle


@pytest.mark.parametrize("passes", [True, False])
def test_the_tables_are_built_and_audited_only_after_their_marts_pass_their_blocking_checks(home, passes):
    entrepot(home.warehouse, {"ind_refus": MART_REFUS}, [("attributions", "2021-03")])
    home.data_dir.mkdir(parents=True, exist_ok=True)
    write_manifest(home.data_dir, [])  # the demo's folder (no file but its manifest)
    amont, controle = _upstream(passes)
    assets, checks = build_publication_assets([amont], catalogue(REFUS))
    construit = assets[0]
    result = dg.materialize([amont, controle, construit, *checks], partition_key="2021", raise_on_error=False,
                            resources={"observatoire": ObservatoireResource.from_settings(home)})
    dossier = dossier_construit(home, 2021)
    if passes:
        assert result.success
        assert (dossier / "ind_refus.csv").read_text(encoding="utf-8") == CSV_REFUS
        meta = json.loads((dossier / "_metadonnees.json").read_text(encoding="utf-8"))
        assert meta["mentions"] == [MENTION_DEMO] and meta["run_id"] == result.run_id
        evaluations = result.get_asset_check_evaluations()
        assert [(e.check_name, e.passed) for e in evaluations if e.check_name == "audit_secret"] == [("audit_secret", True)]
    else:
        assert not dossier.exists()
        assert INDICATEURS_KEY not in {e.asset_key for e in result.get_asset_materialization_events()}
    assert not (home.output_dir / "2021").exists()  # building is not publishing


@pytest.mark.parametrize("reel", [False, True])
def test_a_real_file_dropped_beside_the_demo_files_is_not_stamped_fictives(home, reel):
    """The stamp « DONNÉES FICTIVES » is the provenance of the data folder: one file the demo did not
    write (an extract dropped beside its own) and the folder is real — no stamp."""
    entrepot(home.warehouse, {"ind_refus": MART_REFUS}, [("attributions", "2021-03")])
    demo = home.data_dir / "sne" / "attributions_2021-02.csv"
    demo.parent.mkdir(parents=True)
    demo.write_text("NUM_UNIQUE\n021210000001D\n", encoding="utf-8")
    write_manifest(home.data_dir, [demo])
    if reel:
        (home.data_dir / "sne" / "attributions_2021-03.csv").write_text("NUM_UNIQUE\n021210000002\n", encoding="utf-8")
    amont, controle = _upstream(True)
    assets, checks = build_publication_assets([amont], catalogue(REFUS))
    result = dg.materialize([amont, controle, assets[0], *checks], partition_key="2021",
                            resources={"observatoire": ObservatoireResource.from_settings(home)})
    meta = json.loads((dossier_construit(home, 2021) / "_metadonnees.json").read_text(encoding="utf-8"))
    assert result.success and meta["donnees_fictives"] is not reel
    assert meta["mentions"] == ([] if reel else [MENTION_DEMO])


def test_a_year_without_survey_is_described_by_the_previous_survey_when_its_extract_was_ingested(tmp_path):
    """The OPS is surveyed every other year: the marts describe 2021 with the 2020 survey
    (annee_enquete, int_ops_annees), so the 2021 export publishes it and its stamp says which survey."""
    fragilite = indicateur("fragilite_iris", ("commune", "iris"), famille="fragilite", unite="part",
                           granularite_fine=True, source=("ops",))
    figures = ("c1", "c2", "c3", "nb_criteres", "classe", "nb_menages")
    lignes = [("21231", "212310101", 0.5, 0.6, 0.1, 2, "fragile", 30)]
    frame = pd.concat([mart(("commune", "iris"), lignes, figures=figures, annee=2020).assign(annee_enquete=2020),
                       mart(("commune", "iris"), lignes, figures=figures, annee=2021).assign(annee_enquete=2020)])
    avec_enquetes = Catalogue(chemin=Path("catalogue-de-test.yaml"), indicateurs=(fragilite,),
                              marts_hors_catalogue={}, sources_enquete=("ops",))
    chemin = entrepot(tmp_path / "w.duckdb", {"fragilite_iris": frame}, [("ops", "2020"), ("rpls", "2021")])
    publication = exporter_annee(chemin, 2021, tmp_path / "out", estampille(), "242100410", avec_enquetes)
    assert publication.publies == ("fragilite_iris",) and publication.non_renseignes == ()
    assert publication.sources["ops"] == "2020 (enquête reprise pour 2021)"
    # without the catalogue's survey rule, or without the 2020 extract, 2021 stays « non renseigné »
    sans_regle = exporter_annee(chemin, 2021, tmp_path / "sans", estampille(), "242100410", catalogue(fragilite))
    assert sans_regle.publies == () and "ops" in sans_regle.non_renseignes[0].raison
    sans_extrait = entrepot(tmp_path / "w2.duckdb", {"fragilite_iris": frame}, [("rpls", "2021")])
    publication = exporter_annee(sans_extrait, 2021, tmp_path / "out2", estampille(), "242100410", avec_enquetes)
    assert publication.publies == () and "absente" in publication.sources["ops"]


def test_a_dashboard_built_up_to_march_says_its_months_whatever_later_months_are_loaded():
    """The stamp and the ingestion summary of a publication built up to a month count the monthly
    extracts up to that month, and every annual one (the dashboard of March, April already loaded)."""
    import duckdb

    from pipeline.publication.tampon import ingestion_de_l_annee, millesimes
    from pipeline.warehouse import IngestionRecord, _log

    conn = duckdb.connect()
    conn.execute("create schema raw")
    for source, periode in [("demandes", "2024-01"), ("demandes", "2024-02"), ("demandes", "2024-03"),
                            ("demandes", "2024-04"), ("rpls", "2024"), ("demandes", "2023-12")]:
        _log(conn, IngestionRecord(source=source, periode=periode, fichier=f"{source}_{periode}.csv", sha256="x",
                                   taille=1, layout="l", lignes_lues=10, lignes_gardees=9, lignes_rejetees=1,
                                   duree_s=0.1, run_id="r"))
    assert millesimes(conn, 2024) == {"demandes": "2024-01 à 2024-04 (4 mois)", "rpls": "2024"}
    assert millesimes(conn, 2024, "2024-03") == {"demandes": "2024-01 à 2024-03 (3 mois)", "rpls": "2024"}
    par_source = {r["source"]: r for r in ingestion_de_l_annee(conn, 2024, "2024-03")}
    assert par_source["demandes"]["fichiers"] == 3 and par_source["demandes"]["lignes_rejetees"] == 3
    assert par_source["rpls"]["fichiers"] == 1
    assert {r["source"]: r["fichiers"] for r in ingestion_de_l_annee(conn, 2024)} == {"demandes": 4, "rpls": 1}
