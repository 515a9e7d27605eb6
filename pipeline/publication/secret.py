"""The statistical disclosure rule of the published tables (indicators.md, section F), applied to all
the tables of a publication at once.

The threshold is a referential value (``dbt_project/seeds/ref_secret_statistique.csv``, ``SEUIL``:
11), the same one dbt reads to leave a unit of too few surveyed households without a fragility class.
Each row of an indicator table is one cell of the statistical table; a row is published, masked (its
figures print ``s``) or, in the fragility tables, withdrawn (no row at all).

**Primary suppression** — a row is masked by itself when:

- *fine geography* (a dimension ``iris``, ``residence`` or ``adresse`` holds a unit, not ``TOTAL``):
  one of its counts (``numerateur``, ``denominateur``, ``nb_menages``, ``valeur`` of a count) is
  between 1 and SEUIL − 1 — the GIP SNE rule;
- *sensitive priority motifs* (violences, prostitution, traite, handicap, expulsion): its count of
  households is between 1 and SEUIL − 1, at any geography;
- *household survey* (``enquete_menages``, the OPS tables): its base — the surveyed households of the
  unit (``nb_menages``) or the base of its share (``denominateur``) — is between 1 and SEUIL − 1, at any
  scale: the occupation profile of a commune of 5 surveyed households is as identifying as an IRIS's.
  A unit (IRIS, résidence) of fewer than SEUIL surveyed households has no row in the fragility tables
  (dbt gives it no class, so no table listing fragile units has it either); a criterion whose own base
  is under SEUIL (C2 on a few recent movers) is not published (the cell prints ``s``).

**Institutional rows** — a row is institutional when each of its dimensions holds ``TOTAL``, or an
institutional code (bailleur, réservataire, QPV, commune), or is not additive in the table (mesure,
statistique…): the totals of bailleurs, réservataires, QPV, communes and of the EPCI. They are
published as counts and never masked to protect another cell.

**Secondary suppression** — :mod:`pipeline.publication.systeme` lists what a reader can add up: the
members of a dimension and their ``TOTAL``, and the catalogue's links between tables describing the
same households. In every relation whose total is published, the masked members must be none, or at
least two that together count at least SEUIL (a masked zero does not count); where they are not, the
rule masks more members — fine cells first, the smallest that closes the gap, never an institutional
row — or, when no member is left, the total if it is not institutional. Masking a row puts it in the
relations of its other dimensions and tables, so the pass repeats until nothing changes. Then the audit
(:mod:`pipeline.publication.audit`) computes each masked cell's feasible interval by linear
programming; where one is narrower than required, the rule masks one more cell of its relations and
audits again.
"""

from __future__ import annotations

import csv
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline.publication.catalogue import DIMENSIONS_FINES, DIMENSIONS_INSTITUTIONNELLES, Catalogue, Indicateur
from pipeline.publication.systeme import TOTAL, Systeme, TableSysteme, construire
from pipeline.settings import DBT_PROJECT_DIR

if TYPE_CHECKING:
    from pipeline.publication.audit import RapportAudit

#: The referential of the rule's parameters (one home for the threshold: dbt reads it too).
REFERENTIEL = DBT_PROJECT_DIR / "seeds" / "ref_secret_statistique.csv"
#: Words of the sensitive priority motifs (section F), matched on the ``_``-separated words of the
#: motif code: SYPLO's ``G_VIOLENCES``, ``A_HANDICAP``, ``L_EXPULSION``…, the demand's ``VIOLENCES``.
MOTS_SENSIBLES = frozenset({"VIOLENCE", "VIOLENCES", "PROSTITUTION", "TRAITE", "HANDICAP", "EXPULSION"})
#: Mart columns the rule reads besides the published ones: the bases of the fragility criteria and
#: the surveyed households of the OPS tables.
COLONNES_DE_LA_REGLE = ("nb_menages", "c1_denominateur", "c2_denominateur", "c3_denominateur")
#: The criteria of the fragility tables and the column holding each one's base.
BASES_DES_CRITERES = {"c1": "c1_denominateur", "c2": "c2_denominateur", "c3": "c3_denominateur"}
#: How many rounds of « audit, then mask one more cell per narrow interval » before giving up.
TOURS_MAX = 60


class SecretError(RuntimeError):
    """The rule cannot be applied (a referential or a table is malformed)."""


def seuil_du_referentiel(chemin: Path = REFERENTIEL) -> int:
    """The disclosure threshold (``SEUIL``) of the referential."""
    try:
        with chemin.open(encoding="utf-8", newline="") as handle:
            lignes = {ligne["parametre"]: ligne for ligne in csv.DictReader(handle)}
        return int(lignes["SEUIL"]["valeur"])
    except (OSError, KeyError, ValueError) as err:
        raise SecretError(f"{chemin}: le paramètre SEUIL (entier) du secret statistique est introuvable "
                          f"({err}). Attendu une ligne « SEUIL,11,… » (indicators.md, section F).") from err


def regle_en_clair(seuil: int) -> str:
    """The rule in plain French, for the readers (workbook, metadata, atlas annex)."""
    return (
        f"Secret statistique (indicators.md, section F ; seuil du référentiel ref_secret_statistique : {seuil}). "
        f"Géographie fine (IRIS, résidence, adresse) : une cellule qui décrit moins de {seuil} logements ou "
        f"ménages est masquée. Motifs de priorité sensibles (violences, prostitution, traite, handicap, "
        f"expulsion) : à toute échelle, les effectifs de moins de {seuil} ménages sont masqués. Enquête OPS : "
        f"une ligne dont la base compte moins de {seuil} ménages enquêtés est masquée à toute échelle ; un IRIS "
        f"ou une résidence de moins de {seuil} ménages enquêtés n'a ni classe de fragilité ni ligne publiée, "
        f"et un critère calculé sur moins de {seuil} ménages n'est pas publié. Tables institutionnelles "
        f"(bailleur, réservataire, QPV, commune, EPCI) : publiées en effectifs ; leurs totaux ne sont jamais "
        f"masqués pour en protéger d'autres. Secret secondaire : partout où un total est publié, les cellules "
        f"masquées qu'il contient sont au moins deux et comptent ensemble au moins {seuil}, y compris d'une "
        f"table à l'autre (IRIS et commune, résidence et commune ou QPV) ; un audit par programmation "
        f"linéaire vérifie qu'aucune cellule masquée ne peut être recalculée à moins de {seuil} près (ou, "
        f"quand un total institutionnel de moins de {seuil} la borne, à moins que ce total ne le permet). Une "
        f"cellule masquée s'affiche « s »."
    )


def motif_sensible(motif: object) -> bool:
    """True when ``motif`` names a sensitive priority motif (violences, prostitution, traite, handicap,
    expulsion)."""
    if not isinstance(motif, str):
        return False
    return bool(set(motif.upper().replace("-", "_").replace(" ", "_").split("_")) & MOTS_SENSIBLES)


def colonnes_de_comptes(indicateur: Indicateur) -> list[str]:
    """The published columns of ``indicateur`` that count dwellings or households."""
    comptes = [c for c in ("denominateur", "nb_menages", "numerateur") if c in indicateur.colonnes_chiffres]
    if indicateur.unite == "nombre" and "valeur" in indicateur.colonnes_chiffres:
        comptes.append("valeur")
    return comptes


def _petit(frame: pd.DataFrame, colonnes: list[str], seuil: int) -> np.ndarray:
    """Rows where one of ``colonnes`` (present in ``frame``) is a count between 1 and seuil − 1."""
    petit = np.zeros(len(frame), dtype=bool)
    for colonne in colonnes:
        if colonne in frame:
            valeurs = pd.to_numeric(frame[colonne], errors="coerce").to_numpy(dtype=float)
            petit |= np.nan_to_num((valeurs > 0) & (valeurs < seuil), nan=0).astype(bool)
    return petit


def _vaut_total(frame: pd.DataFrame, dimension: str) -> np.ndarray:
    return frame[dimension].astype("string").eq(TOTAL).fillna(False).to_numpy(dtype=bool)


def lignes_fines(frame: pd.DataFrame, indicateur: Indicateur) -> np.ndarray:
    """Rows describing a unit of fine geography (an IRIS, a résidence, an address: not their TOTAL)."""
    fines = np.zeros(len(frame), dtype=bool)
    for dimension in indicateur.dimensions:
        if dimension in DIMENSIONS_FINES and dimension in frame:
            fines |= ~_vaut_total(frame, dimension)
    return fines


def lignes_institutionnelles(frame: pd.DataFrame, indicateur: Indicateur) -> np.ndarray:
    """Rows that are totals of institutions or territories (never masked for secondary reasons)."""
    institutionnelles = np.ones(len(frame), dtype=bool)
    for dimension in indicateur.dimensions:
        if dimension not in frame or dimension in DIMENSIONS_INSTITUTIONNELLES:
            continue
        est_total = _vaut_total(frame, dimension)
        if est_total.any():  # an additive dimension: only its TOTAL is institutional
            institutionnelles &= est_total
    return institutionnelles


def masque_primaire(frame: pd.DataFrame, indicateur: Indicateur, seuil: int) -> np.ndarray:
    """The rows that the rules of section F mask by themselves (before secondary suppression)."""
    masque = np.zeros(len(frame), dtype=bool)
    if indicateur.enquete_menages:
        if indicateur.famille == "fragilite":
            menages = pd.to_numeric(frame["nb_menages"], errors="coerce").fillna(0).to_numpy(dtype=float)
            masque |= menages < seuil  # no class, no row (0 surveyed households included)
        else:
            masque |= _petit(frame, ["nb_menages", "denominateur"], seuil)
    elif indicateur.granularite_fine:
        masque |= lignes_fines(frame, indicateur) & _petit(frame, colonnes_de_comptes(indicateur), seuil)
    if indicateur.motifs_sensibles:
        comptes = [c for c in colonnes_de_comptes(indicateur) if c not in ("denominateur", "nb_menages")]
        sensibles = frame["motif"].map(motif_sensible).fillna(False).to_numpy(dtype=bool)
        masque |= sensibles & _petit(frame, comptes, seuil)
    return masque


def criteres_masques(frame: pd.DataFrame, indicateur: Indicateur, seuil: int) -> dict[str, np.ndarray]:
    """Fragility criteria whose own base is under the threshold: column → rows where it is masked."""
    if indicateur.famille != "fragilite":
        return {}
    masques = {}
    for critere, base in BASES_DES_CRITERES.items():
        if critere in frame and base in frame:
            masques[critere] = _petit(frame, [base], seuil)
    return masques


# --------------------------------------------------------------------------------------------
# The state of the rule over the system
# --------------------------------------------------------------------------------------------

@dataclass
class Etat:
    """What the rule decided for every row of the system."""

    seuil: int
    masquee: np.ndarray    # masked or withdrawn
    primaire: np.ndarray   # masked by a primary rule
    protegee: np.ndarray   # institutional: never masked for secondary reasons
    fine: np.ndarray       # a unit of fine geography
    retrait: np.ndarray    # a masked row of this table is withdrawn (fragility tables)
    #: global row → criteria masked alone (their base is under the threshold)
    criteres: dict[int, list[str]] = field(default_factory=dict)

    @property
    def secondaire(self) -> np.ndarray:
        return self.masquee & ~self.primaire

    def copie(self) -> "Etat":
        return Etat(self.seuil, self.masquee.copy(), self.primaire.copy(), self.protegee.copy(), self.fine.copy(),
                    self.retrait.copy(), dict(self.criteres))


def etat_initial(systeme: Systeme, seuil: int) -> Etat:
    """Primary suppression and the classification of every row of the system."""
    n = systeme.nb_lignes
    etat = Etat(seuil, np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool))
    for table in systeme.tables:
        tranche = slice(table.debut, table.debut + len(table.donnees))
        frame, indicateur = table.donnees, table.indicateur
        etat.primaire[tranche] = masque_primaire(frame, indicateur, seuil)
        etat.protegee[tranche] = lignes_institutionnelles(frame, indicateur)
        etat.fine[tranche] = lignes_fines(frame, indicateur)
        etat.retrait[tranche] = indicateur.famille == "fragilite"
        for critere, lignes in criteres_masques(frame, indicateur, seuil).items():
            for position in np.flatnonzero(lignes):
                etat.criteres.setdefault(table.debut + int(position), []).append(critere)
    etat.masquee = etat.primaire.copy()
    return etat


class _Valeurs:
    """The true values of the system's columns, computed once."""

    def __init__(self, systeme: Systeme):
        self._systeme, self._cache = systeme, {}

    def __call__(self, colonne: str) -> np.ndarray:
        if colonne not in self._cache:
            self._cache[colonne] = np.nan_to_num(self._systeme.valeurs(colonne), nan=0.0)
        return self._cache[colonne]


def _choisir(candidats: np.ndarray, valeurs: np.ndarray, fine: np.ndarray, manque: float,
             un_de_plus: bool) -> tuple[list[int], bool]:
    """Members to mask so that the masked ones are at least two and count at least ``manque`` more —
    fine cells first; the smallest that closes the gap, else the largest and go on; never a zero — and
    whether they suffice."""
    restants = [int(c) for c in candidats if valeurs[c] > 0]
    choisis: list[int] = []
    while restants and (manque > 0 or un_de_plus):
        classe = [c for c in restants if fine[c]] or restants
        suffisants = [c for c in classe if valeurs[c] >= manque]
        choix = (min(suffisants, key=lambda c: (valeurs[c], c)) if suffisants
                 else max(classe, key=lambda c: (valeurs[c], -c)))
        choisis.append(choix)
        restants.remove(choix)
        manque -= valeurs[choix]
        un_de_plus = False
    return choisis, manque <= 0 and not un_de_plus


def passe_relations(systeme: Systeme, etat: Etat, a_voir: list[int] | None = None,
                    valeurs: _Valeurs | None = None) -> int:
    """Secondary suppression relation by relation until nothing changes; return the rows it masked."""
    valeurs = valeurs or _Valeurs(systeme)
    par_ligne = systeme.relations_par_ligne()
    file = deque(range(len(systeme.relations)) if a_voir is None else a_voir)
    en_file = set(file)
    masquees = 0

    def masquer(ligne: int) -> None:
        nonlocal masquees
        etat.masquee[ligne] = True
        masquees += 1
        for numero in par_ligne.get(ligne, []):
            if numero not in en_file:
                file.append(numero)
                en_file.add(numero)

    while file:
        numero = file.popleft()
        en_file.discard(numero)
        relation = systeme.relations[numero]
        if etat.masquee[relation.marge]:
            continue  # an unknown total: the audit judges what the other relations give away
        membres = relation.membres
        caches = membres[etat.masquee[membres]]
        if len(caches) == 0:
            continue
        v = valeurs(relation.colonne_membres)
        somme = float(v[caches].sum())
        if relation.inclus:  # the reader only knows an upper bound: the slack protects too
            somme += max(0.0, float(valeurs(relation.colonne_marge)[relation.marge] - v[membres].sum()))
            un_de_plus = False
        else:
            un_de_plus = len(caches) < 2
        manque = etat.seuil - somme
        if manque <= 0 and not un_de_plus:
            continue
        libres = membres[~etat.masquee[membres] & ~etat.protegee[membres]]
        choisis, suffit = _choisir(libres, v, etat.fine, max(manque, 0.0), un_de_plus)
        if not suffit and not etat.protegee[relation.marge]:
            masquer(relation.marge)  # the members cannot hide the cell: hide the total they add up to
        else:
            # enough members; or an institutional total: hide what can be, the audit says how far
            # the institutional figures pin the cell
            for ligne in choisis:
                masquer(ligne)
    return masquees


def masquer_autour(systeme: Systeme, etat: Etat, ligne: int, colonne: str, valeurs: _Valeurs) -> int | None:
    """One more row to mask so that the masked cell (``ligne``, ``colonne``) widens: among the rows of
    its relations, not masked, not institutional — fine first, then the smallest non-zero."""
    candidats: set[int] = set()
    for numero in systeme.relations_par_ligne().get(ligne, []):
        relation = systeme.relations[numero]
        lignes = (*relation.membres.tolist(), relation.marge)
        candidats.update(int(c) for c in lignes if not etat.masquee[c] and not etat.protegee[c])
    if not candidats:
        return None
    v = valeurs(colonne)
    choix = min(candidats, key=lambda c: (not etat.fine[c], v[c] <= 0, v[c], c))
    etat.masquee[choix] = True
    return choix


# --------------------------------------------------------------------------------------------
# Applying the rule
# --------------------------------------------------------------------------------------------

@dataclass
class Resultat:
    """The published tables of a year and what the rule did."""

    #: code → (published table, which of its figures the rule masked)
    tables: dict[str, tuple[pd.DataFrame, pd.DataFrame]]
    systeme: Systeme
    etat: Etat
    audit: "RapportAudit"


def appliquer(systeme: Systeme, seuil: int, auditer_: bool = True) -> tuple[Etat, "RapportAudit | None"]:
    """Primary then secondary suppression on ``systeme``, audited until every masked cell is protected
    (or no cell is left to mask: the audit then reports the failure)."""
    from pipeline.publication.audit import auditer

    etat = etat_initial(systeme, seuil)
    valeurs = _Valeurs(systeme)
    passe_relations(systeme, etat, valeurs=valeurs)
    if not auditer_:
        return etat, None
    memoire: dict = {}  # the groups the new masks do not touch are not solved again
    rapport = auditer(systeme, etat.masquee, etat.protegee, seuil, memoire)
    programmes, duree = rapport.programmes, rapport.duree_s
    for _ in range(TOURS_MAX):
        if rapport.reussi:
            break
        nouvelles = []
        for cellule in rapport.echecs:
            ligne = masquer_autour(systeme, etat, cellule.ligne, cellule.colonne, valeurs)
            if ligne is not None:
                nouvelles.append(ligne)
        if not nouvelles:
            break
        par_ligne = systeme.relations_par_ligne()
        passe_relations(systeme, etat, sorted({n for ligne in nouvelles for n in par_ligne.get(ligne, [])}), valeurs)
        rapport = auditer(systeme, etat.masquee, etat.protegee, seuil, memoire)
        programmes, duree = programmes + rapport.programmes, duree + rapport.duree_s
    rapport.programmes, rapport.duree_s = programmes, duree  # what the rule's audits took in all
    return etat, rapport


def tables_publiees(systeme: Systeme, etat: Etat) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Each table with ``secret`` set, the masked figures emptied and the withdrawn rows left out —
    only the published columns (``annee``, dimensions, figures, ``secret``) — and which figures the rule
    masked (a boolean frame over the figure columns, same rows)."""
    publiees = {}
    for table in systeme.tables:
        indicateur, frame = table.indicateur, table.donnees.copy()
        tranche = slice(table.debut, table.debut + len(frame))
        chiffres = list(indicateur.colonnes_chiffres)
        masque = pd.DataFrame(np.repeat(etat.masquee[tranche][:, None], len(chiffres), axis=1),
                              columns=chiffres, index=frame.index)
        for ligne, criteres in etat.criteres.items():
            if table.debut <= ligne < table.debut + len(frame):
                for critere in criteres:
                    masque.at[ligne - table.debut, critere] = True
        for colonne in chiffres:
            frame[colonne] = frame[colonne].astype(object).mask(masque[colonne])
        frame["secret"] = masque.any(axis=1)
        garder = ~(etat.masquee[tranche] & etat.retrait[tranche])
        publiees[table.code] = (frame.loc[garder, list(indicateur.colonnes_publiees)].reset_index(drop=True),
                                masque.loc[garder].reset_index(drop=True))
    return publiees


def appliquer_regle(tables: list[tuple[Indicateur, pd.DataFrame]], catalogue: Catalogue | None,
                    seuil: int | None = None) -> Resultat:
    """The disclosure rule on the tables of a publication (true figures, published columns and the
    rule's extra columns): the published tables, the system, the decisions and the audit."""
    seuil = seuil_du_referentiel() if seuil is None else seuil
    systeme = construire(tables, catalogue)
    etat, rapport = appliquer(systeme, seuil)
    return Resultat(tables_publiees(systeme, etat), systeme, etat, rapport)


def appliquer_secret(frame: pd.DataFrame, indicateur: Indicateur, seuil: int | None = None) -> pd.DataFrame:
    """The rule on one table alone (no link to other tables): ``frame`` with ``secret`` set, the masked
    figures emptied, the withdrawn rows left out. ``frame`` is not modified."""
    manquantes = [c for c in ("annee", *indicateur.dimensions, *indicateur.colonnes_chiffres) if c not in frame]
    if manquantes:
        raise KeyError(f"{indicateur.code}: colonnes absentes de la table à publier : {', '.join(manquantes)}")
    return appliquer_regle([(indicateur, frame.reset_index(drop=True))], None, seuil).tables[indicateur.code][0]

