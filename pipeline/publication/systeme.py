"""What a reader can add up: the linear relations between the cells of the tables published for a year.

The disclosure rule (:mod:`pipeline.publication.secret`) and its audit (:mod:`pipeline.publication.audit`)
reason on one system of relations, built here once from the true figures:

- **within a table**: along each dimension that has a ``TOTAL`` row, the rows that differ only by that
  dimension add up to it (``membres`` = ``marge``), count column by count column;
- **across tables**: the catalogue's ``liens`` — two tables describing the same households or dwellings
  (the IRIS of a commune and the commune; a résidence in two tables).

A relation is kept only where it holds on the true figures (a share's ``denominateur`` repeated on every
member does not add up; a total that leaves out a category is not the sum of the others): a relation that
does not hold tells a reader nothing for sure, and one that holds is exactly what he can use.

Every row of every table is a *row* of the system (a global index); a row is masked or published as a
whole, and each relation names, for its members and its margin, the column it adds up.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.publication.catalogue import Catalogue, CoteLien, Indicateur, Lien

TOTAL = "TOTAL"
#: Tolerance when checking that a relation holds (the counts are integers stored as numbers).
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Relation:
    """``sum(membres[colonne_membres]) = marge[colonne_marge]`` (``inclus``: ``≤``), on global rows."""

    membres: np.ndarray
    marge: int
    colonne_membres: str
    colonne_marge: str
    inclus: bool = False
    #: Where the relation comes from: « <code> par <dimension> » or « lien <nom> ».
    origine: str = ""


@dataclass
class TableSysteme:
    """One table as the system sees it: its rows (published columns and the rule's extra columns)."""

    indicateur: Indicateur
    donnees: pd.DataFrame
    debut: int  # global index of its first row

    @property
    def code(self) -> str:
        return self.indicateur.code

    def globales(self, positions: np.ndarray | Sequence[int]) -> np.ndarray:
        return np.asarray(positions, dtype=int) + self.debut


@dataclass
class Systeme:
    """Every row of the year's published tables, and the relations between them."""

    tables: list[TableSysteme]
    relations: list[Relation] = field(default_factory=list)
    _debuts: list[int] | None = field(default=None, repr=False, compare=False)
    _par_ligne: tuple[int, dict[int, list[int]]] | None = field(default=None, repr=False, compare=False)

    @property
    def nb_lignes(self) -> int:
        return sum(len(t.donnees) for t in self.tables)

    def table_de(self, ligne: int) -> TableSysteme:
        if self._debuts is None or len(self._debuts) != len(self.tables):
            self._debuts = [t.debut for t in self.tables]
        table = self.tables[bisect.bisect_right(self._debuts, ligne) - 1] if ligne >= 0 and self.tables else None
        if table is None or not table.debut <= ligne < table.debut + len(table.donnees):
            raise IndexError(ligne)
        return table

    def par_code(self) -> dict[str, TableSysteme]:
        return {t.code: t for t in self.tables}

    def valeurs(self, colonne: str) -> np.ndarray:
        """The true values of ``colonne`` for every global row (NaN where a table lacks it)."""
        morceaux = []
        for table in self.tables:
            if colonne in table.donnees:
                morceaux.append(pd.to_numeric(table.donnees[colonne], errors="coerce").to_numpy(dtype=float))
            else:
                morceaux.append(np.full(len(table.donnees), np.nan))
        return np.concatenate(morceaux) if morceaux else np.empty(0)

    def colonnes(self) -> set[str]:
        return {c for r in self.relations for c in (r.colonne_membres, r.colonne_marge)}

    def relations_par_ligne(self) -> dict[int, list[int]]:
        """Global row → the indices of the relations it is a member or the margin of (computed once
        for the relations the system has; do not modify it)."""
        if self._par_ligne is None or self._par_ligne[0] != len(self.relations):
            index: dict[int, list[int]] = {}
            for numero, relation in enumerate(self.relations):
                for ligne in (*relation.membres.tolist(), relation.marge):
                    index.setdefault(int(ligne), []).append(numero)
            self._par_ligne = (len(self.relations), index)
        return self._par_ligne[1]


def colonnes_additives(indicateur: Indicateur, donnees: pd.DataFrame) -> list[str]:
    """The count columns of a table whose members may add up to a total: ``numerateur``,
    ``denominateur``, ``nb_menages`` and, for a count, ``valeur`` — unless it repeats ``numerateur``."""
    colonnes = [c for c in ("numerateur", "denominateur", "nb_menages") if c in donnees]
    if indicateur.unite == "nombre" and "valeur" in donnees:
        valeur = pd.to_numeric(donnees["valeur"], errors="coerce")
        numerateur = pd.to_numeric(donnees["numerateur"], errors="coerce") if "numerateur" in donnees else None
        if numerateur is None or not valeur.fillna(-1).equals(numerateur.fillna(-1)):
            colonnes.append("valeur")
    return colonnes


def _groupes(donnees: pd.DataFrame, cles: list[str]) -> list[np.ndarray]:
    """Positions of the rows of each group of equal ``cles`` (all rows when ``cles`` is empty)."""
    if donnees.empty:
        return []
    if not cles:
        return [np.arange(len(donnees))]
    codes = donnees.groupby(cles, dropna=False, sort=False).ngroup().to_numpy()
    ordre = np.argsort(codes, kind="stable")
    coupures = np.flatnonzero(np.diff(codes[ordre])) + 1
    return np.split(ordre, coupures)


def _tient(membres: np.ndarray, marge: float, inclus: bool) -> bool:
    if np.isnan(marge) or np.isnan(membres).any():
        return False
    somme = float(membres.sum())
    return somme <= marge + TOLERANCE if inclus else abs(somme - marge) <= TOLERANCE


def relations_internes(table: TableSysteme) -> list[Relation]:
    """Along each dimension with ``TOTAL`` rows: members add up to their total, where they do."""
    donnees, indicateur = table.donnees, table.indicateur
    dimensions = [d for d in indicateur.dimensions if d in donnees]
    colonnes = colonnes_additives(indicateur, donnees)
    valeurs = {c: pd.to_numeric(donnees[c], errors="coerce").to_numpy(dtype=float) for c in colonnes}
    relations = []
    for dimension in dimensions:
        est_total = donnees[dimension].astype("string").eq(TOTAL).fillna(False).to_numpy(dtype=bool)
        if not est_total.any():
            continue  # not additive along it (mesure, statistique…)
        autres = [c for c in ("annee", *dimensions) if c in donnees and c != dimension]
        for positions in _groupes(donnees, autres):
            totaux = positions[est_total[positions]]
            membres = positions[~est_total[positions]]
            if len(totaux) != 1 or len(membres) == 0:
                continue
            for colonne in colonnes:
                if _tient(valeurs[colonne][membres], valeurs[colonne][totaux[0]], inclus=False):
                    relations.append(Relation(table.globales(membres), int(table.globales([totaux[0]])[0]),
                                              colonne, colonne, origine=f"{table.code} par {dimension}"))
    return relations


def _filtrees(table: TableSysteme, cote: CoteLien) -> pd.Series:
    masque = pd.Series(True, index=table.donnees.index)
    for dimension, valeur in cote.filtre.items():
        masque &= table.donnees[dimension].astype("string").eq(valeur).fillna(False)
    return masque


def relations_du_lien(lien: Lien, tables: Mapping[str, TableSysteme]) -> list[Relation]:
    """The relations of one catalogue link between two published tables, where they hold."""
    detail, ensemble = tables.get(lien.detail.table), tables.get(lien.ensemble.table)
    if detail is None or ensemble is None:
        return []
    manquantes = [c for t, cote in ((detail, lien.detail), (ensemble, lien.ensemble))
                  for c in cote.colonnes if c not in t.donnees]
    if manquantes:
        raise KeyError(f"lien {lien.nom} : colonnes absentes des tables lues : {', '.join(manquantes)}")
    # detail rows: the leaves (no TOTAL in the dimensions outside « par » and the filter)
    d = detail.donnees
    feuilles = _filtrees(detail, lien.detail)
    for dimension in detail.indicateur.dimensions:
        if dimension not in lien.detail.filtre:
            feuilles &= ~d[dimension].astype("string").eq(TOTAL).fillna(False)
    e = ensemble.donnees
    candidates = _filtrees(ensemble, lien.ensemble)
    autres = [x for x in ensemble.indicateur.dimensions if x not in lien.ensemble.par and x not in lien.ensemble.filtre]
    relations = []
    inclus = lien.relation == "inclus"
    # each column as text and as numbers once (not once per group: a link by commune has hundreds)
    textes = {dimension: d[dimension].astype("string").to_numpy(dtype=object, na_value=None)
              for dimension in lien.detail.par}
    membres_de = {c: pd.to_numeric(d[c], errors="coerce").to_numpy(dtype=float) for c in lien.detail.colonnes}
    marges_de = {c: pd.to_numeric(e[c], errors="coerce").to_numpy(dtype=float) for c in lien.ensemble.colonnes}
    feuilles = feuilles.to_numpy(dtype=bool)
    annees_d = d["annee"].to_numpy()
    for annee in sorted(set(d.loc[feuilles, "annee"]) & set(e.loc[candidates, "annee"])):
        feuilles_annee = feuilles & (annees_d == annee)
        lignes = e[candidates & e["annee"].eq(annee)]
        for cle, groupe in lignes.groupby(list(lien.ensemble.par), dropna=False, sort=False):
            cle = cle if isinstance(cle, tuple) else (cle,)
            if len(groupe) > 1 and autres:  # prefer the row totalling the other dimensions
                tous_totaux = groupe[autres].astype("string").eq(TOTAL).all(axis=1)
                groupe = groupe[tous_totaux] if tous_totaux.any() else groupe
            if len(groupe) != 1:
                continue
            choisies = feuilles_annee.copy()
            for dimension, valeur in zip(lien.detail.par, cle):
                if str(valeur) != TOTAL:
                    choisies &= textes[dimension] == str(valeur)  # a missing value (None) is no member
            positions = np.flatnonzero(choisies)
            if len(positions) == 0:
                continue
            position_marge = int(e.index.get_loc(groupe.index[0]))
            for colonne_detail, colonne_ensemble in zip(lien.detail.colonnes, lien.ensemble.colonnes):
                membres = membres_de[colonne_detail][positions]
                marge = float(marges_de[colonne_ensemble][position_marge])
                if _tient(membres, marge, inclus):
                    relations.append(Relation(detail.globales(positions), int(ensemble.globales([position_marge])[0]),
                                              colonne_detail, colonne_ensemble, inclus=inclus,
                                              origine=f"lien {lien.nom}"))
    return relations


def construire(tables: Sequence[tuple[Indicateur, pd.DataFrame]], catalogue: Catalogue | None = None) -> Systeme:
    """The system of the year's tables (each frame: published columns and the rule's extra columns,
    index 0..n−1) with every relation that holds."""
    systeme, debut = Systeme(tables=[]), 0
    for indicateur, donnees in tables:
        systeme.tables.append(TableSysteme(indicateur, donnees.reset_index(drop=True), debut))
        debut += len(donnees)
    for table in systeme.tables:
        systeme.relations.extend(relations_internes(table))
    if catalogue is not None:
        par_code = systeme.par_code()
        for lien in catalogue.liens:
            systeme.relations.extend(relations_du_lien(lien, par_code))
    return systeme
