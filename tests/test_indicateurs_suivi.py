"""The follow-up (section B) and diagnostic (section C) marts on tiny hand-made extracts.

One dbt build of the suivi and diagnostic marts (and what they read) runs on a temporary DuckDB
warehouse whose raw tables are written here by hand, row by row; every expected figure below was
computed by hand from those rows and the definitions of indicators.md:

- tension = active demands at the end of the period / attributions prononcées of the 12 months
  ending then (not baux signés, not every examination, not the previous year's CALEOL);
- délai d'attribution = DATE_CAL − DATE_DEPOT of the year's baux signés, in months, mean and median;
- « délai anormalement long » = filed strictly more than 24 months before the situation date;
- a missing saisie is « non renseigné » (null figures and a reason), never zero;
- an « Évolution… » indicator carries the previous year's value;
- « bas loyer » = rent per m² strictly below the PLAI ceiling of the year before the millésime.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from pipeline.publication.catalogue import charger
from pipeline.settings import DBT_PROJECT_DIR

SOURCES_YML = DBT_PROJECT_DIR / "models" / "staging" / "_raw__sources.yml"
SELECTION = ["+marts.suivi", "+marts.diagnostic"]
MOIS = 30.4375  # days per month of the délai (macro delai_mois)


def colonnes_declarees() -> dict[str, dict[str, str]]:
    """Raw table → {column: type} as declared in _raw__sources.yml (what ingestion writes)."""
    sources = yaml.safe_load(SOURCES_YML.read_text(encoding="utf-8"))["sources"]
    raw = next(s for s in sources if s["name"] == "raw")
    return {t["name"]: {c["name"]: c["data_type"] for c in t.get("columns", [])} for t in raw["tables"]}


def ecrire(con: duckdb.DuckDBPyConnection, table: str, lignes: list[dict]) -> None:
    """Create raw.<table> with every declared column and insert the rows (missing columns null)."""
    colonnes = colonnes_declarees()[table]
    con.execute(f'create table raw."{table}" ({", ".join(f"{chr(34)}{c}{chr(34)} {t}" for c, t in colonnes.items())})')
    for n, ligne in enumerate(lignes, start=1):
        ligne = {"_LIGNE": n, "_FICHIER": f"{table}_test.csv", **ligne}
        noms = list(ligne)
        con.execute(f'insert into raw."{table}" ({", ".join(chr(34) + c + chr(34) for c in noms)}) '
                    f'values ({", ".join("?" for _ in noms)})', [ligne[c] for c in noms])


def logement(annee: int, ident: str, loyer: float, surface: float, mode: str = "1", qpv: bool = False,
             modesurf: str = "U") -> dict:
    return {"ANNEE": annee, "IDENT_LOGT": ident, "DEPCOM": "21231", "BAILLEUR": "GDH", "NBPIECE": 2,
            "QPV_CODE": "1" if qpv else "0", "PLG_QP": "QPDEMO02" if qpv else None, "PLG_IRIS": "212310101",
            "FINAN_CODE": "13", "CONSTRUCT": 1970, "LOCAT": 1971, "TYPECONST_CODE": "C",
            "LOYERPRINC": loyer, "SURFMODE": surface, "MODESURF": modesurf, "MODE": mode}


def demande(annee: int, mois: int, num: str, depot: date, typologie: str, type_demande: str = "EXTERNE") -> dict:
    return {"ANNEE": annee, "MOIS": mois, "NUM_UNIQUE": num, "DATE_DEPOT": depot, "TYPE_DEMANDE": type_demande,
            "TYPOLOGIE_SOUHAITEE": typologie, "COMMUNE_SOUHAITEE_1": "21231", "NB_PERSONNES": 1,
            "NB_ENFANTS_MOINS_14": 0, "AGE_DEMANDEUR": 40, "COMPOSITION": "PERSONNE_SEULE",
            "REVENU_MENSUEL": 900.0, "MOTIF_PRINCIPAL": "LOGEMENT_INADAPTE"}


def examen(num: str, logement_id: str, cal: date, jours_attente: int, decision: str = "ATTRIBUTION",
           reponse: str | None = "ACCEPTE", bail: bool = True, typologie: str = "T2") -> dict:
    return {"ANNEE": cal.year, "MOIS": cal.month, "NUM_UNIQUE": num, "LOGEMENT_ID": logement_id,
            "DATE_CAL": cal, "DATE_DEPOT": cal - timedelta(days=jours_attente), "BAILLEUR": "GDH",
            "RESERVATAIRE": "NON_RESERVE", "COMMUNE_LOGEMENT": "21231", "TYPOLOGIE_LOGEMENT": typologie,
            "DECISION_CAL": decision, "RANG": 1, "REPONSE_DEMANDEUR": reponse,
            "DATE_BAIL": cal + timedelta(days=20) if bail else None, "MUTATION": False, "HORS_FLUX": False,
            "NB_PERSONNES": 1, "NB_ENFANTS_MOINS_14": 0, "REVENU_MENSUEL": 900.0, "AGE_DEMANDEUR": 40}


def prioritaire(annee: int, num: str, labellise: date, statut: str, le: date | None = None,
                sortant: bool = False, bailleur: str | None = None) -> dict:
    return {"ANNEE": annee, "NUM_UNIQUE": num, "DATE_LABELLISATION": labellise, "MOTIF_PRIORITE": "D_HEBERGE",
            "STATUT": statut, "DATE_STATUT": le, "SORTANT_HEBERGEMENT": sortant, "BAILLEUR_RELOGEMENT": bailleur,
            "ACCOMPAGNEMENT": "ASLL"}


def remplir(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema raw")
    ecrire(con, "rpls", [
        logement(2020, "L1", 240.0, 50.0),
        # 2021: let dwellings with a rent per m² of surface utile are L1, L2, L3, L6; L1 (4,80 €/m²) and
        # L2 (5,11) are below the 2021 PLAI ceiling (5,12, the rents' own year; 2020's 5,10 would leave
        # L2 out); L6 sits exactly at it (strict inequality). L7's rent is set on the surface habitable
        # (4 €/m² of it): not compared, counted apart. L4 is vacant (MODE 2), L5's rent is « sans
        # objet » (9999).
        logement(2021, "L1", 240.0, 50.0, qpv=True),
        logement(2021, "L2", 255.5, 50.0),
        logement(2021, "L3", 300.0, 50.0),
        logement(2021, "L4", 100.0, 50.0, mode="2"),
        logement(2021, "L5", 9999.0, 50.0),
        logement(2021, "L6", 256.0, 50.0),
        logement(2021, "L7", 200.0, 50.0, modesurf="H"),
    ])
    fin_2020 = date(2020, 12, 31)
    ecrire(con, "demandes", [
        # November 2020: not the end of the period, must not be read by the yearly tables
        demande(2020, 11, "N0", date(2015, 1, 1), "T5"),
        demande(2020, 12, "D1", fin_2020 - timedelta(days=366), "T2"),
        # filed exactly 24 months before the situation date: not « anormalement long »
        demande(2020, 12, "D2", date(2018, 12, 31), "T2"),
        # one day more: anormalement long
        demande(2020, 12, "D3", date(2018, 12, 30), "T3"),
        demande(2020, 12, "D4", date(2020, 6, 1), "T3", "MUTATION"),
        demande(2020, 12, "D5", date(2020, 9, 1), "T4"),
        # 2021: demands but no CALEOL extract of 2021 → no tension for 2021
        demande(2021, 3, "D1", fin_2020 - timedelta(days=366), "T2"),
    ])
    ecrire(con, "attributions", [
        # attributions prononcées of the 12 months ending 31/12/2020: A1 (first day), A2, A3 (last
        # day), A4 (refused: still prononcée, no lease); A5 is a NON_ATTRIBUTION, A6 sat in 2019
        examen("A1", "L1", date(2020, 1, 1), 100),
        examen("A2", "L2", date(2020, 6, 15), 200),
        examen("A3", "L3", date(2020, 12, 31), 600, typologie="T3"),
        examen("A4", "L4", date(2020, 7, 1), 50, reponse="REFUS", bail=False, typologie="T3"),
        examen("A5", "L5", date(2020, 8, 1), 50, decision="NON_ATTRIBUTION", reponse=None, bail=False),
        examen("A6", "L6", date(2019, 12, 31), 50),
    ])
    ecrire(con, "syplo", [
        prioritaire(2020, "P1", date(2020, 2, 1), "A_RELOGER"),
        prioritaire(2020, "P2", date(2020, 3, 1), "RELOGE", date(2020, 9, 1), sortant=True, bailleur="GDH"),
        prioritaire(2020, "P3", date(2019, 5, 1), "A_RELOGER"),
        prioritaire(2021, "P1", date(2020, 2, 1), "A_RELOGER"),
        prioritaire(2021, "P3", date(2019, 5, 1), "RELOGE", date(2021, 4, 1), bailleur="ORVITIS"),
        prioritaire(2021, "P4", date(2021, 1, 10), "A_RELOGER"),
        prioritaire(2021, "P5", date(2021, 2, 10), "A_RELOGER"),
        prioritaire(2021, "P6", date(2021, 3, 10), "A_RELOGER"),
    ])
    # saisie ind_27 entered for 2021 only; saisie ind_22 never ingested (no raw table at all)
    ecrire(con, "saisie_ind_27", [
        {"ANNEE": 2021, "INSTANCE": "CIL", "NB_REUNIONS": 2},
        {"ANNEE": 2021, "INSTANCE": "COMMISSION_QPV", "NB_REUNIONS": 5},
    ])


@pytest.fixture(scope="module")
def entrepot(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """The warehouse after `dbt build` of the suivi and diagnostic marts on the hand-made extracts."""
    dossier = tmp_path_factory.mktemp("suivi")
    chemin = dossier / "entrepot.duckdb"
    with duckdb.connect(str(chemin)) as con:
        remplir(con)
    # the hand-made extracts are read with the referentials' demo values (the 2021 PLAI rent ceiling)
    env = {**os.environ, "OBSERVATOIRE_WAREHOUSE": str(chemin), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
           "OBSERVATOIRE_DONNEES_FICTIVES": "oui"}
    dbt = Path(sys.executable).parent / "dbt"
    resultat = subprocess.run(
        [str(dbt), "build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(dossier / "target"), "--log-path", str(dossier / "logs"),
         # cautious: a test of a model outside the selection (obj_q234_qpv.qpv → ref_qpv, a seed these
         # marts read too) is not run on a table that was not built
         "--select", *SELECTION, "--indirect-selection", "cautious"],
        capture_output=True, text=True, env=env,
    )
    assert resultat.returncode == 0, resultat.stdout[-5000:] + resultat.stderr[-2000:]
    con = duckdb.connect(str(chemin), read_only=True)
    yield con
    con.close()


def ligne(con: duckdb.DuckDBPyConnection, table: str, **cles) -> dict:
    """The one row of marts.<table> with these column values."""
    condition = " and ".join(f"{c} = ?" for c in cles)
    curseur = con.execute(f"select * from marts.{table} where {condition}", list(cles.values()))
    noms = [d[0] for d in curseur.description]
    lignes = curseur.fetchall()
    assert len(lignes) == 1, f"{table} {cles}: {len(lignes)} rows"
    return dict(zip(noms, lignes[0]))


def test_tension_is_active_demands_over_attributions_prononcees_of_the_12_months(entrepot):
    total = ligne(entrepot, "diag_tension", annee=2020, typologie="TOTAL", classe_age="TOTAL",
                  quartile="TOTAL", type_demande="TOTAL")
    # 5 demands at the end of December (not November's); A1–A4 (refusal included), not A5 nor A6
    assert (total["numerateur"], total["denominateur"]) == (5, 4)
    assert total["valeur"] == pytest.approx(5 / 4)
    # the fichier partagé's ratio counts the 3 baux signés
    assert total["baux_signes"] == 3
    assert total["valeur_par_bail_signe"] == pytest.approx(5 / 3)
    t2 = ligne(entrepot, "diag_tension", annee=2020, typologie="T2", classe_age="TOTAL",
               quartile="TOTAL", type_demande="TOTAL")
    assert (t2["numerateur"], t2["denominateur"]) == (2, 2)


def test_tension_needs_the_caleol_extract_of_the_year(entrepot):
    # demands of 2021 exist, no examination of 2021: no tension over zero attributions
    assert entrepot.execute("select count(*) from marts.diag_tension where annee = 2021").fetchone()[0] == 0
    # the délai anormal table needs only the demands: 2021 is read on its last snapshot (March)
    assert ligne(entrepot, "diag_delai_anormal", annee=2021, typologie="TOTAL", commune="TOTAL")["denominateur"] == 1


def test_delai_attribution_mean_and_median_in_months(entrepot):
    moyenne = ligne(entrepot, "diag_delais", annee=2020, delai="attribution", statistique="moyenne",
                    typologie="TOTAL", commune="TOTAL")
    mediane = ligne(entrepot, "diag_delais", annee=2020, delai="attribution", statistique="mediane",
                    typologie="TOTAL", commune="TOTAL")
    # baux signés of 2020: A1, A2, A3 (100, 200, 600 days); A4 has no lease, A6 is of 2019
    assert moyenne["denominateur"] == mediane["denominateur"] == 3
    assert moyenne["valeur"] == pytest.approx((100 + 200 + 600) / 3 / MOIS)
    assert mediane["valeur"] == pytest.approx(200 / MOIS)
    attente = ligne(entrepot, "diag_delais", annee=2020, delai="attente", statistique="moyenne",
                    typologie="T2", commune="TOTAL")
    assert attente["valeur"] == pytest.approx((366 + 731) / 2 / MOIS)


def test_delai_anormalement_long_is_strictly_more_than_24_months(entrepot):
    total = ligne(entrepot, "diag_delai_anormal", annee=2020, typologie="TOTAL", commune="TOTAL")
    # D3 only: D2 was filed exactly 24 months before 31/12/2020
    assert (total["numerateur"], total["denominateur"]) == (1, 5)
    assert total["valeur"] == pytest.approx(0.2)


def test_missing_saisie_is_non_renseigne_never_zero(entrepot):
    absente = ligne(entrepot, "ind_27", annee=2020, instance="TOTAL")
    assert absente["valeur"] is None and absente["numerateur"] is None
    assert absente["raison"] == "non renseigné : saisie absente"
    saisie = ligne(entrepot, "ind_27", annee=2021, instance="TOTAL")
    assert (saisie["valeur"], saisie["raison"]) == (7, None)
    # a saisie never ingested at all: every year with an atlas (RPLS 2020, 2021) says non renseigné
    lignes = entrepot.execute("select annee, mesure, valeur, raison from marts.ind_22 order by all").fetchall()
    assert {(a, m) for a, m, _, _ in lignes} == {
        (a, m) for a in (2020, 2021) for m in ("accedants", "accedants_issus_parc_social", "logements_commercialises")}
    assert all(v is None and r == "non renseigné : saisie absente" for _, _, v, r in lignes)


def test_evolution_carries_the_previous_year(entrepot):
    avant = ligne(entrepot, "ind_14", annee=2020, mesure="labellises_annee")
    apres = ligne(entrepot, "ind_14", annee=2021, mesure="labellises_annee")
    assert (avant["valeur"], apres["valeur"]) == (2, 3)
    assert apres["valeur_precedente"] == 2
    assert avant["valeur_precedente"] is None  # no SYPLO extract of 2019
    stock = ligne(entrepot, "ind_14", annee=2021, mesure="stock_31_decembre")
    assert (stock["valeur"], stock["valeur_precedente"]) == (4, 2)
    # a cell emptied in 2021 keeps its row (0) and carries 2020's value
    sorties = ligne(entrepot, "ind_18", annee=2021, bailleur="GDH", mesure="SYPLO")
    assert (sorties["valeur"], sorties["valeur_precedente"]) == (0, 1)


def test_bas_loyer_share_compares_surface_utile_rents_with_the_ceiling_of_their_year(entrepot):
    total = ligne(entrepot, "diag_bas_loyers", annee=2021, commune="TOTAL", qpv="TOTAL")
    assert (total["numerateur"], total["denominateur"], total["logements_exclus"]) == (2, 4, 1)
    assert total["valeur"] == pytest.approx(2 / 4)
    assert total["plafond_loyer_m2"] == pytest.approx(5.12)
    qpv = ligne(entrepot, "diag_bas_loyers", annee=2021, commune="TOTAL", qpv="QPV")
    assert (qpv["numerateur"], qpv["denominateur"]) == (1, 1)


def test_bilan_annuel_lists_the_missing_sources(entrepot):
    assert ligne(entrepot, "ind_02", annee=2021, indicateur="ind_27")["valeur"] == 1
    sls = ligne(entrepot, "ind_02", annee=2021, indicateur="ind_12")
    assert (sls["valeur"], sls["raison"]) == (0, "non renseigné : source absente (sls)")
    assert ligne(entrepot, "ind_02", annee=2020, indicateur="ind_27")["valeur"] == 0


def test_sources_of_the_bilan_match_the_catalogue():
    """ref_sources_indicateurs is a copy of the catalogue's `source` field for ind_01 … ind_28."""
    seed = DBT_PROJECT_DIR / "seeds" / "ref_sources_indicateurs.csv"
    lignes = [l.split(",")[:2] for l in seed.read_text(encoding="utf-8").splitlines()[1:] if l]
    attendu = {(i.code, s) for i in charger().indicateurs if i.code.startswith("ind_") for s in i.source}
    assert {(c, s) for c, s in lignes} == attendu
