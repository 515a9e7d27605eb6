"""The disclosure rule (indicators.md, section F) and its audit by linear programming.

Every table below is hand-made; the expected masks and intervals were worked out by hand from the rule
as written in pipeline/publication/secret.py and docs/indicateurs.md. Each case of the publication issue
has its test: a group with one masked cell; a masked pair summing under 11; a zero as complement; a
small résidence's class; a commune made of one IRIS; a three-way table; a publication built to leak; an
institutional total that must stay published.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.publication.audit import auditer
from pipeline.publication.catalogue import Catalogue, CoteLien, Indicateur, Lien
from pipeline.publication.secret import (REFERENTIEL, appliquer_regle, appliquer_secret, motif_sensible,
                                         seuil_du_referentiel)
from pipeline.publication.systeme import construire

T = "TOTAL"


def indicateur(code: str, dimensions: tuple[str, ...], famille: str = "suivi", unite: str = "nombre",
               motifs_sensibles: bool = False, enquete_menages: bool = False) -> Indicateur:
    fine = bool({"iris", "residence", "adresse"} & set(dimensions))
    return Indicateur(code=code, libelle=f"Libellé de {code}", famille=famille, definition="d", unite=unite,
                      source=("ops",) if enquete_menages else ("attributions",), modele=code,
                      dimensions=dimensions, granularite_fine=fine, motifs_sensibles=motifs_sensibles, saisie=None,
                      evolution=False, section_atlas=10, statut="disponible", enquete_menages=enquete_menages)


def table(dimensions: tuple[str, ...], lignes: list[tuple], figures=("numerateur", "denominateur", "valeur"),
          annee: int = 2021) -> pd.DataFrame:
    frame = pd.DataFrame(lignes, columns=[*dimensions, *figures])
    frame.insert(0, "annee", annee)
    return frame


def masquees(frame: pd.DataFrame, *dimensions: str) -> set:
    cles = frame[list(dimensions)].itertuples(index=False, name=None)
    return {c[0] if len(c) == 1 else c for c, s in zip(cles, frame["secret"]) if s}


RESIDENCES = indicateur("ind_res", ("residence",))
SEUIL = 11


# ---------------------------------------------------------------------------------------------
# The threshold
# ---------------------------------------------------------------------------------------------

def test_the_threshold_is_the_referential_value(tmp_path):
    assert seuil_du_referentiel() == 11  # indicators.md, section F
    # the same table under a CIL's referential of 5: a résidence of 6 households is published
    copie = tmp_path / "ref_secret_statistique.csv"
    copie.write_text(REFERENTIEL.read_text(encoding="utf-8").replace("SEUIL,11,", "SEUIL,5,"), encoding="utf-8")
    seuil = seuil_du_referentiel(copie)
    frame = table(("residence",), [("R1", 6, 6, 6), ("R2", 20, 20, 20), (T, 26, 26, 26)])
    assert masquees(appliquer_secret(frame, RESIDENCES, seuil), "residence") == set()
    assert masquees(appliquer_secret(frame, RESIDENCES), "residence") == {"R1", "R2"}


def test_the_dbt_fragility_model_reads_the_same_referential():
    """One home for the threshold: dbt gives no class under it, the publication masks under it."""
    sql = (REFERENTIEL.parents[1] / "models" / "intermediate" / "fragilite" / "int_fragilite_unites.sql").read_text()
    code = "\n".join(ligne.split("--")[0] for ligne in sql.splitlines())
    assert "ref('ref_secret_statistique')" in code and "11" not in code


# ---------------------------------------------------------------------------------------------
# Primary and secondary suppression
# ---------------------------------------------------------------------------------------------

def test_a_group_with_one_masked_cell_gets_a_second_one_never_a_zero():
    frame = table(("residence",), [
        ("R0", 0, 0, 0),      # no household: published, and never chosen as the second cell
        ("R1", 4, 8, 4),      # fewer than 11: masked
        ("R2", 12, 40, 12),   # the smallest other member that brings the masked sum to 11: masked
        ("R3", 15, 20, 15),
        ("R4", 30, 60, 30),
        (T, 61, 128, 61),
    ])
    out = appliquer_secret(frame, RESIDENCES)
    assert masquees(out, "residence") == {"R1", "R2"}
    assert out[out["secret"]][["numerateur", "denominateur", "valeur"]].isna().all().all()
    assert out.set_index("residence").loc["R3", "numerateur"] == 15  # the others are untouched
    assert "secret" not in frame  # the input is not modified


def test_a_masked_pair_summing_under_the_threshold_gets_a_third_cell():
    # R1 and R2 are masked (4 + 3 = 7): the TOTAL would tell a reader they hold 7 between them
    frame = table(("residence",), [("R1", 4, 4, 4), ("R2", 3, 3, 3), ("R3", 15, 15, 15), ("R4", 30, 30, 30),
                                   (T, 52, 52, 52)])
    out = appliquer_secret(frame, RESIDENCES)
    assert masquees(out, "residence") == {"R1", "R2", "R3"}  # 4 + 3 + 15 = 22 ≥ 11


def test_a_zero_is_never_the_complement_the_total_is_when_it_is_not_institutional():
    """Motif × ancienneté of the label: G_VIOLENCES (6–12 mois) = 4 is masked; the only other member of
    its row is a zero, which hides nothing (the masked sum would still be 4): its row total — a motif,
    not an institution — is masked instead, and then a second cell of the TOTAL column."""
    motifs = indicateur("ind_motifs", ("motif", "anciennete_label"), motifs_sensibles=True)
    frame = table(("motif", "anciennete_label"), [
        ("G_VIOLENCES", "MOINS_6_MOIS", 0, None, 0), ("G_VIOLENCES", "6_12_MOIS", 4, None, 4),
        ("G_VIOLENCES", T, 4, None, 4),
        ("DALO", "MOINS_6_MOIS", 20, None, 20), ("DALO", "6_12_MOIS", 30, None, 30), ("DALO", T, 50, None, 50),
        ("C_DEFAVORISE", "MOINS_6_MOIS", 25, None, 25), ("C_DEFAVORISE", "6_12_MOIS", 12, None, 12),
        ("C_DEFAVORISE", T, 37, None, 37),
        (T, "MOINS_6_MOIS", 45, None, 45), (T, "6_12_MOIS", 46, None, 46), (T, T, 91, None, 91),
    ])
    resultat = appliquer_regle([(motifs, frame)], None, SEUIL)
    out = resultat.tables["ind_motifs"][0]
    caches = masquees(out, "motif", "anciennete_label")
    assert ("G_VIOLENCES", "MOINS_6_MOIS") not in caches
    assert {("G_VIOLENCES", "6_12_MOIS"), ("G_VIOLENCES", T)} <= caches
    assert (T, T) not in caches  # the EPCI total stays published
    assert resultat.audit.reussi and resultat.audit.plus_etroite.largeur >= SEUIL


def test_a_second_cell_is_chosen_among_non_zero_members_even_when_the_sum_is_reached():
    """A masked cell of 15 alone in its group needs a partner: a masked zero would add nothing a reader
    does not guess, so the partner is the smallest non-zero member (30), never the zero."""
    from pipeline.publication.secret import _choisir

    valeurs, fine = np.array([15.0, 0.0, 30.0, 45.0]), np.ones(4, dtype=bool)
    assert _choisir(np.array([1, 2, 3]), valeurs, fine, manque=0.0, un_de_plus=True) == ([2], True)
    assert _choisir(np.array([1]), valeurs, fine, manque=0.0, un_de_plus=True) == ([], False)


def test_institutional_totals_are_never_masked_for_secondary_reasons():
    """A bailleur's total (published by the CIA) stays, even when its only résidence is masked: the
    cell is then as hidden as that total allows, and the audit says so."""
    refus = indicateur("ind_refus", ("bailleur", "residence"), unite="part")
    frame = table(("bailleur", "residence"), [
        ("ICF", "R1", 3, 9, 3 / 9), ("ICF", T, 3, 9, 3 / 9),
        ("GDH", "R2", 5, 20, 0.25), ("GDH", "R3", 30, 90, 1 / 3), ("GDH", "R4", 40, 100, 0.4), ("GDH", T, 75, 210, 75 / 210),
        (T, T, 78, 219, 78 / 219),
    ])
    resultat = appliquer_regle([(refus, frame)], None, SEUIL)
    out = resultat.tables["ind_refus"][0]
    assert masquees(out, "bailleur", "residence") == {("ICF", "R1"), ("GDH", "R2"), ("GDH", "R3")}
    assert resultat.audit.reussi
    limitees = {(c.cle[1][1], c.cle[2][1], c.colonne) for c in resultat.audit.limitees}
    assert ("ICF", "R1", "numerateur") in limitees  # pinned by ICF's published total of 3


def test_a_three_way_table_is_protected_along_every_dimension():
    """Résidence × quartile × statut with every margin: a masked cell's row, column and pillar all
    need a second masked cell; the audit checks the 3-way relations at once."""
    dims = ("residence", "quartile", "statut_prioritaire")
    cube = indicateur("ind_cube", dims)
    valeurs = {("R1", "Q1", "P"): 3, ("R1", "Q1", "N"): 14, ("R1", "Q2", "P"): 12, ("R1", "Q2", "N"): 20,
               ("R2", "Q1", "P"): 16, ("R2", "Q1", "N"): 25, ("R2", "Q2", "P"): 18, ("R2", "Q2", "N"): 30,
               ("R3", "Q1", "P"): 22, ("R3", "Q1", "N"): 17, ("R3", "Q2", "P"): 19, ("R3", "Q2", "N"): 40}
    lignes = []
    for r in ("R1", "R2", "R3", T):
        for q in ("Q1", "Q2", T):
            for s in ("P", "N", T):
                v = sum(x for (rr, qq, ss), x in valeurs.items()
                        if r in (rr, T) and q in (qq, T) and s in (ss, T))
                lignes.append((r, q, s, v, None, v))
    resultat = appliquer_regle([(cube, table(dims, lignes))], None, SEUIL)
    out = resultat.tables["ind_cube"][0]
    caches = masquees(out, *dims)
    assert ("R1", "Q1", "P") in caches and len(caches) >= 4
    assert resultat.audit.reussi and not resultat.audit.limitees
    systeme = construire([(cube, table(dims, lignes))])
    cachee = np.array([k in caches for k in table(dims, lignes)[list(dims)].itertuples(index=False, name=None)])
    protegee = np.zeros(len(cachee), dtype=bool)
    assert auditer(systeme, cachee, protegee, SEUIL).plus_etroite.largeur >= SEUIL
    # masking the small cell alone leaves it exactly recomputable from any of its three margins
    seule = np.array([k == ("R1", "Q1", "P") for k in table(dims, lignes)[list(dims)].itertuples(index=False, name=None)])
    rapport = auditer(systeme, seule, protegee, SEUIL)
    assert not rapport.reussi and rapport.echecs[0].largeur == 0


def test_sensitive_motifs_are_masked_at_any_geography_institutional_tables_never():
    motifs = indicateur("ind_26", ("motif",), motifs_sensibles=True)
    frame = table(("motif",), [
        ("DALO", 3, 60, 3),             # small, but not a sensitive motif
        ("G_VIOLENCES", 4, 60, 4),      # sensitive and small: masked
        ("H_PROSTITUTION", 0, 60, 0),   # sensitive, but zero households
        ("C_DEFAVORISE", 25, 60, 25),
        ("A_HANDICAP", 28, 60, 28),
        (T, 60, 60, 60),
    ])
    # secondary: the smallest non-zero member that brings the masked sum to 11 is C_DEFAVORISE (25)
    assert masquees(appliquer_secret(frame, motifs), "motif") == {"G_VIOLENCES", "C_DEFAVORISE"}
    assert [m for m in ("G_VIOLENCES", "A_HANDICAP", "L_EXPULSION", "I_TRAITE", "VIOLENCES", "HANDICAP")
            if not motif_sensible(m)] == []
    assert not any(map(motif_sensible, ("DALO", "C_DEFAVORISE", "LOYER_TROP_CHER", None)))
    par_bailleur = indicateur("ind_23", ("bailleur",))
    frame = table(("bailleur",), [("ICF", 2, 2, 2), ("GDH", 40, 40, 40), (T, 42, 42, 42)])
    assert not appliquer_secret(frame, par_bailleur)["secret"].any()


# ---------------------------------------------------------------------------------------------
# Household survey (OPS): fragility classes, linked tables
# ---------------------------------------------------------------------------------------------

FRAGILITE_CHIFFRES = ("c1", "c2", "c3", "nb_criteres", "classe", "nb_menages")


def fragilite_residence(lignes: list[tuple]) -> tuple[Indicateur, pd.DataFrame]:
    ind = indicateur("fragilite_residence", ("commune", "residence"), famille="fragilite", unite="part",
                     enquete_menages=True)
    frame = table(("commune", "residence"), [l[:8] for l in lignes], figures=FRAGILITE_CHIFFRES)
    frame["c1_denominateur"] = [l[7] for l in lignes]
    frame["c2_denominateur"] = [l[8] for l in lignes]
    frame["c3_denominateur"] = [l[9] for l in lignes]
    return ind, frame


def test_a_small_residence_has_no_row_and_a_criterion_on_few_households_is_not_published():
    ind, frame = fragilite_residence([
        # commune, résidence, c1, c2, c3, nb_criteres, classe, nb_menages, base C2, base C3
        ("21231", "R1", 0.5, 0.6, 0.3, 3, "très fragile", 40, 20, 70),
        ("21231", "R2", 0.5, 0.75, 0.1, 2, "fragile", 30, 4, 50),    # C2 on 4 recent movers: not published
        ("21231", "R3", None, None, None, None, None, 5, 2, 8),       # 5 households: no class, no row
    ])
    out = appliquer_regle([(ind, frame)], None, SEUIL).tables["fragilite_residence"][0].set_index("residence")
    assert list(out.index) == ["R1", "R2"]
    assert out.loc["R1", "classe"] == "très fragile" and not out.loc["R1", "secret"]
    assert pd.isna(out.loc["R2", "c2"]) and out.loc["R2", "secret"]
    assert out.loc["R2", "c1"] == 0.5 and out.loc["R2", "classe"] == "fragile"


def _commune_d_un_iris():
    """Commune 21105 is one IRIS of 8 surveyed households; 21231 has two IRIS of 30 and 40."""
    iris = indicateur("fragilite_iris", ("commune", "iris"), famille="fragilite", unite="part", enquete_menages=True)
    frame_iris = table(("commune", "iris"), [
        ("21105", "211050000", None, None, None, None, None, 8),
        ("21231", "212310101", 0.5, 0.4, 0.2, 2, "fragile", 30),
        ("21231", "212310102", 0.2, 0.1, 0.1, 0, "non fragile", 40),
    ], figures=FRAGILITE_CHIFFRES)
    occupation = indicateur("ind_06", ("commune", "mesure"), unite="part", enquete_menages=True)
    frame_communes = table(("commune", "mesure"), [
        ("21105", "MAJEURS_CHOMAGE", 3, 12, 0.25), ("21231", "MAJEURS_CHOMAGE", 20, 120, 1 / 6),
        (T, "MAJEURS_CHOMAGE", 23, 132, 23 / 132),
    ])
    frame_communes["nb_menages"] = [8, 70, 78]
    lien = Lien(nom="menages_des_iris_de_la_commune", description="test", relation="egal",
                detail=CoteLien("fragilite_iris", ("commune",), ("nb_menages",)),
                ensemble=CoteLien("ind_06", ("commune",), ("nb_menages",), {"mesure": "MAJEURS_CHOMAGE"}))
    catalogue = Catalogue(chemin=Path("test.yaml"), indicateurs=(iris, occupation), marts_hors_catalogue={},
                          liens=(lien,))
    return [(iris, frame_iris), (occupation, frame_communes)], catalogue


def test_a_commune_made_of_one_iris_does_not_give_its_iris_back():
    """The IRIS of 8 households has no row; the commune's own row of the occupation table describes the
    same 8 households: it is masked too (household survey: under 11 at any scale)."""
    tables, catalogue = _commune_d_un_iris()
    resultat = appliquer_regle(tables, catalogue, SEUIL)
    iris = resultat.tables["fragilite_iris"][0]
    communes = resultat.tables["ind_06"][0]
    assert "211050000" not in set(iris["iris"])
    assert masquees(communes, "commune") == {"21105"}
    assert resultat.audit.reussi
    # the relation is used: the commune's households are tied to its IRIS in the system
    assert any(r.origine == "lien menages_des_iris_de_la_commune" for r in resultat.systeme.relations)


def test_the_audit_sees_through_linked_tables():
    """Published, the commune's row would give the withdrawn IRIS back exactly: the audit fails."""
    tables, catalogue = _commune_d_un_iris()
    systeme = construire(tables, catalogue)
    cachee = np.zeros(systeme.nb_lignes, dtype=bool)
    cachee[0] = True  # the IRIS of 21105 withdrawn, its commune published
    rapport = auditer(systeme, cachee, np.zeros_like(cachee), SEUIL)
    assert not rapport.reussi
    assert rapport.echecs[0].table == "fragilite_iris" and rapport.echecs[0].largeur == 0
    assert "commune = 21105" in rapport.message()


# ---------------------------------------------------------------------------------------------
# Large groups: audited block by block, then on the whole group where the blocks do not suffice
# ---------------------------------------------------------------------------------------------

def _communes_par_bailleur(valeurs: np.ndarray) -> tuple[Indicateur, pd.DataFrame]:
    """A commune × bailleur table with every margin, from a communes × bailleurs array of counts."""
    lignes = []
    for c in range(valeurs.shape[0] + 1):
        for b in range(valeurs.shape[1] + 1):
            commune = f"C{c:02d}" if c < valeurs.shape[0] else T
            bailleur = f"B{b}" if b < valeurs.shape[1] else T
            v = int(valeurs[c if c < valeurs.shape[0] else slice(None), b if b < valeurs.shape[1] else slice(None)].sum())
            lignes.append((commune, bailleur, v, None, v))
    return indicateur("ind_cb", ("commune", "bailleur")), table(("commune", "bailleur"), lignes)


def _resume(rapport) -> tuple:
    return ({(c.ligne, c.colonne): c.largeur for c in rapport.echecs},
            {(c.ligne, c.colonne): (c.largeur, c.requis) for c in rapport.limitees},
            {code: (t.plus_etroite and t.plus_etroite.largeur, t.plus_etroite_limitee and t.plus_etroite_limitee.largeur)
             for code, t in rapport.tables.items()})


@pytest.mark.parametrize("graine", [1, 2, 3])
def test_a_group_audited_in_blocks_gives_the_same_report_as_its_whole_programme(graine):
    """30 communes × 3 bailleurs, a third of the cells masked at random, the bailleurs' totals
    institutional: one connected group of dozens of cells. Audited in blocks of 6 cells — the bailleurs'
    totals split between blocks — the failures, their widths, the cells limited by an institutional
    total and each table's narrowest interval are exactly those of the whole programme."""
    rng = np.random.default_rng(graine)
    ind, frame = _communes_par_bailleur(rng.integers(0, 25, size=(30, 3)))
    systeme = construire([(ind, frame)])
    interieur = ((frame["commune"] != T) & (frame["bailleur"] != T)).to_numpy()
    cachee = interieur & (rng.random(len(frame)) < 0.35)
    protegee = (frame["commune"] == T).to_numpy()
    entier = auditer(systeme, cachee, protegee, SEUIL, entier=10_000)
    en_blocs = auditer(systeme, cachee, protegee, SEUIL, entier=6, bloc=6)
    assert entier.echecs and entier.cellules_auditees > 20  # a case with failures and passes
    assert _resume(en_blocs) == _resume(entier)


@pytest.mark.parametrize("graine", [1, 2, 3, 4])
def test_every_interval_a_block_proves_is_inside_the_readers(graine):
    """Soundness of the blocks: each cell's interval known from its block's solutions lies inside its
    exact feasible interval on the whole group (a block that dropped the part of a total it does not
    hold would let its cells move further than a reader's tables allow)."""
    from pipeline.publication import audit

    rng = np.random.default_rng(graine)
    ind, frame = _communes_par_bailleur(rng.integers(0, 25, size=(20, 4)))
    systeme = construire([(ind, frame)])
    interieur = ((frame["commune"] != T) & (frame["bailleur"] != T)).to_numpy()
    modele = audit._Modele(systeme, interieur & (rng.random(len(frame)) < 0.5))
    compares = 0
    for variables, contraintes in modele.groupes().values():
        if len(variables) <= 6:
            continue
        groupe = audit._auditer_groupe(modele, variables, contraintes, SEUIL, entier=6, bloc=6)
        programme = audit._Programme(modele, variables, contraintes)
        bas, haut, exact = audit._intervalles(programme, np.full(len(variables), np.inf))
        assert exact.all() and not groupe.entier
        assert (groupe.bas >= bas - 1e-6).all() and (groupe.haut <= haut + 1e-6).all()
        compares += len(variables)
    assert compares > 20


def test_a_large_group_is_solved_in_blocks_and_reports_the_interval_they_prove(monkeypatch):
    """60 communes whose B0 and B1 counts (15 each) are all masked: one group of 120 cells tied by the
    bailleurs' totals. In blocks of 8 cells every cell reaches the threshold inside its block, so no
    programme of the whole group is solved; the narrowest interval reported is the one the blocks prove
    (C00's B0, 15, moves at least from 15 to 30; the reader's interval, 0 to 30, contains it)."""
    from pipeline.publication import audit

    valeurs = np.full((60, 3), 15)
    ind, frame = _communes_par_bailleur(valeurs)
    systeme = construire([(ind, frame)])
    interieur = ((frame["commune"] != T) & (frame["bailleur"].isin(["B0", "B1"]))).to_numpy()
    tailles = []
    extreme = audit._Programme.extreme
    monkeypatch.setattr(audit._Programme, "extreme",
                        lambda self, i, maximum: tailles.append(len(self.variables)) or extreme(self, i, maximum))
    rapport = auditer(systeme, interieur, np.zeros_like(interieur), SEUIL, entier=8, bloc=8)
    assert rapport.reussi and rapport.cellules_auditees == 120
    assert max(tailles) == 8 and len(tailles) < 120
    etroite = rapport.plus_etroite
    assert etroite.largeur == 15 and not etroite.exacte and etroite.libelle().endswith(" : au moins de 15 à 30")
    entier = auditer(systeme, interieur, np.zeros_like(interieur), SEUIL, entier=10_000)
    assert entier.plus_etroite.largeur == 30 and entier.plus_etroite.exacte


def test_the_metadata_the_workbook_and_the_atlas_say_au_moins_before_a_width_proven_in_blocks(tmp_path):
    """A width the blocks proved is a floor of the reader's interval: the metadata mark it not exact, the
    workbook's « Lisez-moi » and the atlas's annex say « au moins » (and « ≥ » in the annex's table); an
    exact width is printed bare."""
    from types import SimpleNamespace

    from openpyxl import load_workbook

    from pipeline.publication.ecriture import ecrire_classeur, resume_audit
    from pipeline.publication.tampon import Tampon
    from pipeline.publication.tables import Preparation, StatistiquesSecret, TablePubliee
    from pipeline.reports.sections import Atlas

    ind, frame = _communes_par_bailleur(np.full((60, 3), 15))
    systeme = construire([(ind, frame)])
    interieur = ((frame["commune"] != T) & (frame["bailleur"].isin(["B0", "B1"]))).to_numpy()
    publiee = TablePubliee(ind, frame.assign(secret=interieur), secret=StatistiquesSecret(lignes=len(frame), masquees=120))
    textes, lisez_moi = {}, {}
    tampon = Tampon(annee=2021, epci="242100410", sources={}, run_id="r" * 36, code_version="v", date="03/12/2026",
                    demo=True)
    for taille in (8, 10_000):
        rapport = auditer(systeme, interieur, np.zeros_like(interieur), SEUIL, entier=taille, bloc=taille)
        resume = resume_audit(Preparation((publiee,), (), rapport, SEUIL))
        textes[taille] = (resume["audit"], Atlas.secret(SimpleNamespace(d=SimpleNamespace(metadonnees={"secret": resume}))))
        classeur = tmp_path / f"{taille}.xlsx"
        ecrire_classeur(Preparation((publiee,), (), rapport, SEUIL), tampon, classeur)
        lisez_moi[taille] = " ".join(str(c) for ligne in load_workbook(classeur)["Lisez-moi"].iter_rows(values_only=True)
                                     for c in ligne if c is not None)
    assert "intervalle le plus étroit d'une cellule masquée : au moins 15." in lisez_moi[8]
    assert "intervalle le plus étroit d'une cellule masquée : 30." in lisez_moi[10_000]
    (en_blocs, atlas_blocs), (entier, atlas_entier) = textes[8], textes[10_000]
    assert en_blocs["intervalle_le_plus_etroit"]["exact"] is False and en_blocs["par_table"][0]["intervalle_le_plus_etroit_exact"] is False
    assert "cellule masquée : au moins 15." in atlas_blocs and "| ≥ 15" in atlas_blocs
    assert entier["intervalle_le_plus_etroit"]["exact"] is True
    assert "cellule masquée : 30." in atlas_entier and "| 30" in atlas_entier and "≥" not in atlas_entier


def test_cells_a_block_leaves_too_narrow_are_solved_in_larger_blocks_before_the_whole_group(monkeypatch):
    """60 communes of 2 refusals each, all masked, their total of 120 published: in blocks of 4 a cell
    moves by 8 at most (its block's part of the total); in blocks of 16 by 32. The audit settles every
    cell there, never solving the group's whole programme of 60 cells."""
    from pipeline.publication import audit

    communes = indicateur("ind_c", ("commune",))
    frame = table(("commune",), [(f"C{c:02d}", 2, None, 2) for c in range(60)] + [(T, 120, None, 120)])
    systeme = construire([(communes, frame)])
    cachee = (frame["commune"] != T).to_numpy()
    tailles = []
    extreme = audit._Programme.extreme
    monkeypatch.setattr(audit._Programme, "extreme",
                        lambda self, i, maximum: tailles.append(len(self.variables)) or extreme(self, i, maximum))
    rapport = auditer(systeme, cachee, np.zeros_like(cachee), SEUIL, entier=4, bloc=4)
    assert rapport.reussi and min(tailles) == 4 and max(tailles) == 16  # blocks of 16 (the last one, 12)
    assert rapport.plus_etroite.largeur >= 16 and not rapport.plus_etroite.exacte


@pytest.mark.parametrize("graine", [1, 2, 3])
def test_the_bound_of_the_institutional_totals_decides_as_the_widest_interval_would(graine, monkeypatch):
    """Bailleurs of a few small résidences, every résidence masked, the bailleurs' totals institutional
    (several under 11): many cells can only be as hidden as their bailleur's total allows. Where the
    bound from the published totals (:func:`_plafonds`) settles a cell without a programme, the report
    — failures, limited cells and what each had to reach — is the one the widest intervals computed by
    linear programming give."""
    from pipeline.publication import audit

    rng = np.random.default_rng(graine)
    lignes, total = [], 0
    for b in range(8):
        valeurs = rng.integers(0, 6, size=3)
        lignes += [(f"B{b}", f"R{b}{r}", int(v), None, int(v)) for r, v in enumerate(valeurs)]
        lignes.append((f"B{b}", T, int(valeurs.sum()), None, int(valeurs.sum())))
        total += int(valeurs.sum())
    lignes.append((T, T, total, None, total))
    ind = indicateur("ind_br", ("bailleur", "residence"))
    frame = table(("bailleur", "residence"), lignes)
    systeme = construire([(ind, frame)])
    cachee = (frame["residence"] != T).to_numpy()
    protegee = ~cachee

    def resume(rapport):
        return (sorted((c.ligne, c.largeur, c.requis) for c in rapport.echecs),
                sorted((c.ligne, c.largeur, c.requis) for c in rapport.limitees))

    resolus = []
    largeurs = audit._largeurs_maximales
    monkeypatch.setattr(audit, "_largeurs_maximales", lambda *a: resolus.append(len(a[-1])) or largeurs(*a))
    avec_la_borne = auditer(systeme, cachee, protegee, SEUIL)
    assert avec_la_borne.limitees and not resolus  # every limited cell settled by the bound
    monkeypatch.setattr(audit, "_plafonds", lambda modele, cibles: {c: np.inf for c in cibles})
    par_programmes = auditer(systeme, cachee, protegee, SEUIL)
    assert resolus and resume(avec_la_borne) == resume(par_programmes)


def test_a_global_row_is_found_in_its_table_whatever_empty_tables_lie_between():
    """``Systeme.table_de`` (by bisection on the tables' first rows): empty tables share their first row
    with the next one and never hold a row; a row outside the system is an error."""
    from pipeline.publication.systeme import Systeme, TableSysteme

    vide = pd.DataFrame({"annee": []})
    tables = [TableSysteme(indicateur(code, ()), frame, debut) for code, frame, debut in [
        ("a", vide, 0), ("b", pd.DataFrame({"annee": [2021] * 3}), 0), ("c", vide, 3), ("d", vide, 3),
        ("e", pd.DataFrame({"annee": [2021] * 2}), 3)]]
    systeme = Systeme(tables)
    assert [systeme.table_de(ligne).code for ligne in range(5)] == ["b", "b", "b", "e", "e"]
    for dehors in (-1, 5):
        with pytest.raises(IndexError):
            systeme.table_de(dehors)
