"""The audit of the disclosure rule: how precisely a reader can recompute each masked cell.

A reader of the published tables knows every published figure, the relations between the tables
(:mod:`pipeline.publication.systeme`: members add up to their total; linked tables describe the same
households) and that counts are not negative (and a share's numerator not above its denominator). For
every masked count, the audit computes its **feasible interval** — the smallest and the largest value
consistent with all of that — by linear programming with HiGHS (``highspy``, the solver's own Python
API: the programme of a group is built once and re-solved warm for each bound), one connected group of
masked cells at a time. A masked cell is protected when its interval is at least as
wide as the threshold; where the institutional totals published by the rule (a bailleur's, a commune's,
the EPCI's) leave less room whatever else is masked — a bailleur whose résidences together count 6
refusals — the interval must be as wide as they allow, and the report lists the cell as « limitée par
un total institutionnel ».

Fewer programmes than cells: each solution of a programme is a feasible table, so it widens the known
interval of every cell of the group at once; a cell is solved for only while its known interval is too
narrow. The narrowest interval reported is exact (solved both ways).

Large groups (more than :data:`TAILLE_ENTIER` cells: a publication of hundreds of communes, whose
totals tie every table together into groups of tens of thousands of cells) are solved in **blocks**
of :data:`TAILLE_BLOC` cells: a constraint spanning several blocks is split into one per block, each
part held at its true sum — the split constraints imply the whole ones, so every block's solution is
a feasible table of the whole group and its known intervals are sound (never wider than the
reader's). The cells a block leaves too narrow are solved again in blocks four times larger, up to
the whole group's programme (a failure, or a cell limited by an institutional total, is always
decided exactly). The narrowest interval of such a group is reported as what it is: the
reader's interval contains it (« au moins »). Where a cell cannot reach the threshold, a bound from the
published institutional totals (:func:`_plafonds`) often shows without any programme that it is as wide
as they allow.

The audit does not model what a reader could infer from the suppression method itself (that a cell
masked for being small is between 1 and 10), nor integrality: the linear relaxation is the standard
measure of protection.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from pipeline.publication.systeme import Relation, Systeme

#: Widths are counts: a tolerance for the solver's arithmetic.
EPS = 1e-6
#: HiGHS's ``simplex_strategy`` for the primal simplex (``kSimplexStrategyPrimal``).
SIMPLEXE_PRIMAL = 4


@dataclass(frozen=True)
class Cellule:
    """One masked count and its feasible interval."""

    ligne: int
    table: str
    colonne: str
    #: The row's year and dimensions, to name the cell in a report.
    cle: tuple[tuple[str, str], ...]
    valeur: float
    bas: float
    haut: float
    requis: float
    #: The interval is the feasible interval itself (solved both ways); else an interval the reader's
    #: contains (two feasible tables reach its ends): the cell is at least that well hidden.
    exacte: bool = True

    @property
    def largeur(self) -> float:
        return self.haut - self.bas

    def libelle(self) -> str:
        cle = ", ".join(f"{k} = {v}" for k, v in self.cle)
        haut = "∞" if math.isinf(self.haut) else f"{self.haut:g}"
        if self.exacte:
            return f"{self.table} ({cle}), {self.colonne} : entre {self.bas:g} et {haut}"
        return f"{self.table} ({cle}), {self.colonne} : au moins de {self.bas:g} à {haut}"


@dataclass
class AuditTable:
    """What the audit found in one table: its masked rows, the narrowest interval of a cell held to the
    threshold, and the narrowest of a cell limited by an institutional total."""

    code: str
    cellules_masquees: int = 0
    plus_etroite: Cellule | None = None
    plus_etroite_limitee: Cellule | None = None

    def voir(self, cellule: Cellule, seuil: int) -> None:
        attribut = "plus_etroite" if cellule.requis >= seuil - EPS else "plus_etroite_limitee"
        actuelle = getattr(self, attribut)
        if actuelle is None or cellule.largeur < actuelle.largeur:
            setattr(self, attribut, cellule)


@dataclass
class RapportAudit:
    """The audit of a publication: per table, the masked cells and the narrowest interval; the cells too
    narrow (a failed audit refuses the publication); the cells limited by an institutional total."""

    seuil: int
    tables: dict[str, AuditTable] = field(default_factory=dict)
    echecs: list[Cellule] = field(default_factory=list)
    limitees: list[Cellule] = field(default_factory=list)
    programmes: int = 0
    duree_s: float = 0.0

    @property
    def reussi(self) -> bool:
        return not self.echecs

    @property
    def cellules_auditees(self) -> int:
        return sum(t.cellules_masquees for t in self.tables.values())

    @property
    def plus_etroite(self) -> Cellule | None:
        """The narrowest interval of a masked cell held to the full threshold."""
        cellules = [t.plus_etroite for t in self.tables.values() if t.plus_etroite is not None]
        return min(cellules, key=lambda c: c.largeur) if cellules else None

    @property
    def plus_etroite_limitee(self) -> Cellule | None:
        """The narrowest interval of a masked cell limited by an institutional total."""
        cellules = [t.plus_etroite_limitee for t in self.tables.values() if t.plus_etroite_limitee is not None]
        return min(cellules, key=lambda c: c.largeur) if cellules else None

    def message(self, limite: int = 10) -> str:
        """The failure in plain words: the cells a reader can recompute, with their interval."""
        if self.reussi:
            return "audit du secret réussi"
        lignes = [f"{len(self.echecs)} cellule(s) masquée(s) recalculable(s) à moins de {self.seuil} près "
                  f"à partir des chiffres publiés :"]
        lignes += [f"  {c.libelle()} (largeur {c.largeur:g}, requis {c.requis:g})" for c in self.echecs[:limite]]
        if len(self.echecs) > limite:
            lignes.append(f"  … et {len(self.echecs) - limite} autre(s)")
        return "\n".join(lignes)


class _Ensembles:
    """Union-find over the masked cells."""

    def __init__(self) -> None:
        self.parent: list[int] = []

    def ajouter(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def racine(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def unir(self, i: int, j: int) -> None:
        ri, rj = self.racine(i), self.racine(j)
        if ri != rj:
            self.parent[rj] = ri


@dataclass
class _Contrainte:
    variables: list[int]
    coefficients: list[float]
    second_membre: float
    egalite: bool


class _Modele:
    """The masked cells of a publication as LP variables, with every constraint a reader knows."""

    def __init__(self, systeme: Systeme, cachee: np.ndarray):
        self.systeme, self.cachee = systeme, cachee
        self.valeurs_colonnes: dict[str, np.ndarray] = {}
        self.index: dict[tuple[int, str], int] = {}
        self.variables: list[tuple[int, str]] = []
        self.ensembles = _Ensembles()
        self.contraintes: list[_Contrainte] = []
        for relation in systeme.relations:
            self._relation(relation)
        self._numerateurs_sous_denominateurs()

    def valeurs(self, colonne: str) -> np.ndarray:
        if colonne not in self.valeurs_colonnes:
            self.valeurs_colonnes[colonne] = np.nan_to_num(self.systeme.valeurs(colonne), nan=0.0)
        return self.valeurs_colonnes[colonne]

    def variable(self, ligne: int, colonne: str) -> int:
        cle = (int(ligne), colonne)
        if cle not in self.index:
            self.index[cle] = len(self.variables)
            self.variables.append(cle)
            self.ensembles.ajouter()
        return self.index[cle]

    def _relation(self, relation: Relation) -> None:
        membres = relation.membres
        caches = membres[self.cachee[membres]]
        marge_cachee = bool(self.cachee[relation.marge])
        if len(caches) == 0 and not marge_cachee:
            return
        v = self.valeurs(relation.colonne_membres)
        publies = membres[~self.cachee[membres]]
        second = (0.0 if marge_cachee else float(self.valeurs(relation.colonne_marge)[relation.marge])) \
            - float(v[publies].sum())
        variables = [self.variable(m, relation.colonne_membres) for m in caches]
        coefficients = [1.0] * len(variables)
        if marge_cachee:
            variables.append(self.variable(relation.marge, relation.colonne_marge))
            coefficients.append(-1.0)
        for autre in variables[1:]:
            self.ensembles.unir(variables[0], autre)
        self.contraintes.append(_Contrainte(variables, coefficients, second, egalite=not relation.inclus))

    def _numerateurs_sous_denominateurs(self) -> None:
        """A share's numerator is not above its denominator (where that holds on the true figures)."""
        for table in self.systeme.tables:
            if table.indicateur.unite != "part":
                continue
            for position in range(len(table.donnees)):
                ligne = table.debut + position
                cle_n, cle_d = (ligne, "numerateur"), (ligne, "denominateur")
                if cle_n in self.index and cle_d in self.index:
                    if self.valeurs("numerateur")[ligne] <= self.valeurs("denominateur")[ligne] + EPS:
                        n, d = self.index[cle_n], self.index[cle_d]
                        self.ensembles.unir(n, d)
                        self.contraintes.append(_Contrainte([n, d], [1.0, -1.0], 0.0, egalite=False))

    def groupes(self) -> dict[int, tuple[list[int], list[_Contrainte]]]:
        """Connected groups of variables, each with its constraints."""
        groupes: dict[int, tuple[list[int], list[_Contrainte]]] = {}
        for variable in range(len(self.variables)):
            groupes.setdefault(self.ensembles.racine(variable), ([], []))[0].append(variable)
        for contrainte in self.contraintes:
            groupes[self.ensembles.racine(contrainte.variables[0])][1].append(contrainte)
        return groupes

    def vraie_valeur(self, variable: int) -> float:
        ligne, colonne = self.variables[variable]
        return float(self.valeurs(colonne)[ligne])


def _highs_silencieux(highspy):
    """A HiGHS instance that prints nothing: the first one of a process writes HiGHS's banner straight
    to the standard output's file descriptor (not through Python), so it is built with that descriptor
    pointed at /dev/null."""
    sys.stdout.flush()
    sauvegarde = os.dup(1)
    try:
        with open(os.devnull, "w") as nul:
            os.dup2(nul.fileno(), 1)
            highs = highspy.Highs()
    finally:
        os.dup2(sauvegarde, 1)
        os.close(sauvegarde)
    highs.setOptionValue("output_flag", False)
    return highs


class _Programme:
    """The linear programme of one group, built once in HiGHS and re-solved warm for each bound."""

    def __init__(self, modele: _Modele, variables: list[int], contraintes: list[_Contrainte]):
        import highspy

        self.variables = variables
        local = {v: i for i, v in enumerate(variables)}
        self.vraies = np.array([modele.vraie_valeur(v) for v in variables])
        self.highs = _highs_silencieux(highspy)
        # Every bound re-solves the same programme with another objective: the last optimal basis is
        # still feasible, where the primal simplex starts (the dual simplex, HiGHS's default, begins
        # again with its phase 1); one thread, no pool set up at each run. The demo's verification:
        # 2.1 s of solving with the defaults, 1.0 s so (the same intervals where they are exact).
        self.highs.setOptionValue("simplex_strategy", SIMPLEXE_PRIMAL)
        self.highs.setOptionValue("threads", 1)
        infini = highspy.kHighsInf
        n = len(variables)
        self.highs.addVars(n, np.zeros(n), np.full(n, infini))
        for contrainte in contraintes:  # equality: both bounds; inclusion: an upper bound only
            indices = np.array([local[v] for v in contrainte.variables], dtype=np.int32)
            bas = contrainte.second_membre if contrainte.egalite else -infini
            self.highs.addRow(bas, contrainte.second_membre, len(indices), indices,
                              np.array(contrainte.coefficients, dtype=float))
        self._highspy = highspy
        self.resolus = 0

    def extreme(self, i: int, maximum: bool) -> tuple[float, np.ndarray | None]:
        """The largest (or smallest) value of variable ``i``, and a feasible point reaching it."""
        highspy = self._highspy
        self.highs.changeObjectiveSense(highspy.ObjSense.kMaximize if maximum else highspy.ObjSense.kMinimize)
        self.highs.changeColCost(i, 1.0)
        try:
            self.highs.run()
            statut = self.highs.getModelStatus()
            self.resolus += 1
            if statut == highspy.HighsModelStatus.kUnbounded:  # nothing caps it
                return (math.inf if maximum else 0.0), None
            if statut != highspy.HighsModelStatus.kOptimal:
                raise RuntimeError(f"audit du secret : le programme linéaire n'a pas abouti "
                                   f"({self.highs.modelStatusToString(statut)}) ; les chiffres vrais devraient "
                                   f"pourtant le satisfaire.")
            point = np.array(self.highs.getSolution().col_value)
            return float(point[i]), point
        finally:
            self.highs.changeColCost(i, 0.0)


def _intervalles(programme: _Programme, requis: np.ndarray, bas: np.ndarray | None = None,
                 haut: np.ndarray | None = None, indices: Iterable[int] | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Known intervals of every variable, widened until each reaches ``requis`` (or is exact) — only the
    variables ``indices`` are solved for (all by default), from the known intervals ``bas``/``haut``
    (the true values by default)."""
    bas = programme.vraies.copy() if bas is None else bas
    haut = programme.vraies.copy() if haut is None else haut
    exact = np.zeros(len(bas), dtype=bool)
    for i in range(len(bas)) if indices is None else indices:
        for maximum in (True, False):
            if haut[i] - bas[i] >= requis[i] - EPS:
                break
            valeur, point = programme.extreme(i, maximum)
            if point is not None:
                np.minimum(bas, point, out=bas)
                np.maximum(haut, point, out=haut)
            if maximum:
                haut[i] = max(haut[i], valeur)
            else:
                bas[i] = min(bas[i], valeur)
        else:
            exact[i] = True
    return bas, haut, exact


def _exactes(programme: _Programme, bas: np.ndarray, haut: np.ndarray, exact: np.ndarray,
             indices: Iterable[int]) -> None:
    for i in indices:
        if not exact[i]:
            haut[i] = programme.extreme(i, True)[0]
            bas[i] = programme.extreme(i, False)[0]
            exact[i] = True


def _cle(systeme: Systeme, ligne: int) -> tuple[tuple[str, str], ...]:
    table = systeme.table_de(ligne)
    rang = table.donnees.iloc[ligne - table.debut]
    return tuple((c, str(rang[c])) for c in ("annee", *table.indicateur.dimensions) if c in rang.index)


def _largeurs_maximales(modele: _Modele, cibles: list[tuple[int, str]]) -> dict[tuple[int, str], float]:
    """Each target cell's widest interval in ``modele``, the programme where every row that may be
    masked is masked: what the institutional totals published by the rule leave at most."""
    groupes = modele.groupes()
    largeurs, programmes = {}, {}
    for cible in cibles:
        variable = modele.index.get(cible)
        if variable is None:  # in no relation once everything is masked
            largeurs[cible] = math.inf
            continue
        racine = modele.ensembles.racine(variable)
        if racine not in programmes:
            programmes[racine] = _Programme(modele, *groupes[racine])
        programme = programmes[racine]
        i = programme.variables.index(variable)
        largeurs[cible] = programme.extreme(i, True)[0] - programme.extreme(i, False)[0]
    return largeurs


#: A connected group of more masked cells than this is audited block by block (:func:`_auditer_groupe`):
#: up to it, one programme whose every narrowest interval is exact (an EPCI's publication: ≈ 1 000).
TAILLE_ENTIER = 1500
#: The first blocks' size (then × 4 for the cells still too narrow): at national size (173 k masked
#: cells in groups up to 63 k), blocks of 100 audit in 27 s, of 300 in 40 s, of 1 500 in 133 s.
TAILLE_BLOC = 100


def _blocs(variables: list[int], contraintes: list[_Contrainte], taille: int) -> list[list[int]]:
    """The variables of a group in blocks of at most ``taille``: the constraints taken smallest first,
    each joins the blocks of its variables while they fit in one; then the blocks a larger constraint
    spans are packed together, in its order, while they fit — so a block holds whole small relations
    (a row of a table) and pieces of the large ones (a total over many communes) side by side."""
    local = {v: i for i, v in enumerate(variables)}
    parent = list(range(len(variables)))
    taille_de = [1] * len(variables)

    def racine(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def unir(i: int, j: int) -> int:  # two roots
        if taille_de[i] < taille_de[j]:
            i, j = j, i
        parent[j] = i
        taille_de[i] += taille_de[j]
        return i

    ecartees = []
    for contrainte in sorted(contraintes, key=lambda c: len(c.variables)):
        racines = list(dict.fromkeys(racine(local[v]) for v in contrainte.variables))
        if sum(taille_de[r] for r in racines) <= taille:
            r0 = racines[0]
            for r in racines[1:]:
                r0 = unir(r0, r)
        else:
            ecartees.append(contrainte)
    for contrainte in ecartees:
        courante = None
        for v in contrainte.variables:
            r = racine(local[v])
            if courante is not None:
                courante = racine(courante)
                if r == courante:
                    continue
                if taille_de[courante] + taille_de[r] <= taille:
                    r = unir(courante, r)
            courante = r
    blocs: dict[int, list[int]] = {}
    for v in variables:
        blocs.setdefault(racine(local[v]), []).append(v)
    return list(blocs.values())


def _restreintes(contraintes: list[_Contrainte], bloc_de: dict[int, int], vraies: dict[int, float]
                 ) -> dict[int, list[_Contrainte]]:
    """Each block's constraints once every constraint spanning several blocks is split into one per
    block, its part of the sum held at the true figures (an inclusion shares its slack between the
    parts). The split constraints imply the whole ones: every point they allow is a point a reader must
    consider, and each block's programme is independent of the others'."""
    parts: dict[int, list[_Contrainte]] = {}
    for contrainte in contraintes:
        morceaux: dict[int, tuple[list[int], list[float]]] = {}
        for v, a in zip(contrainte.variables, contrainte.coefficients):
            vs, cs = morceaux.setdefault(bloc_de[v], ([], []))
            vs.append(v)
            cs.append(a)
        if len(morceaux) == 1:
            parts.setdefault(next(iter(morceaux)), []).append(contrainte)
            continue
        jeu = 0.0 if contrainte.egalite else max(0.0, contrainte.second_membre - sum(
            a * vraies[v] for v, a in zip(contrainte.variables, contrainte.coefficients))) / len(morceaux)
        for bloc, (vs, cs) in morceaux.items():
            second = sum(a * vraies[v] for v, a in zip(vs, cs)) + jeu
            parts.setdefault(bloc, []).append(_Contrainte(vs, cs, second, contrainte.egalite))
    return parts


@dataclass
class _Groupe:
    """One connected group of masked cells, audited: its cells (row, column), their known intervals,
    which are exact, and the width each must reach. Its whole programme is built when first needed."""

    modele: _Modele | None
    variables: list[int]
    contraintes: list[_Contrainte]
    cles: list[tuple[int, str]]
    bas: np.ndarray
    haut: np.ndarray
    exact: np.ndarray
    requis: np.ndarray
    #: Solved as one programme (else in blocks: only its too narrow cells were solved whole).
    entier: bool = True
    resolus: int = 0
    _programme: _Programme | None = None

    @property
    def programme(self) -> _Programme:
        if self._programme is None:
            self._programme = _Programme(self.modele, self.variables, self.contraintes)
        return self._programme

    @property
    def vraies(self) -> np.ndarray:
        return np.array([self.modele.vraie_valeur(v) for v in self.variables])

    def compter(self) -> int:
        """The programmes solved since the last count."""
        resolus = self.resolus + (self._programme.resolus if self._programme is not None else 0)
        self.resolus = 0
        if self._programme is not None:
            self._programme.resolus = 0
        return resolus

    def liberer(self) -> None:
        """Keep the intervals only (a group kept between audits holds no programme nor model)."""
        self._programme, self.modele, self.contraintes = None, None, []


def _auditer_groupe(modele: _Modele, variables: list[int], contraintes: list[_Contrainte], seuil: int,
                    entier: int = TAILLE_ENTIER, bloc: int = TAILLE_BLOC) -> _Groupe:
    """The known intervals of a group's cells, each widened until it reaches ``seuil`` or is exact.

    A group of at most ``entier`` cells is one programme. A larger one (a publication of many
    communes whose totals tie every table together) is solved block by block (:func:`_blocs`,
    :func:`_restreintes`): each block's solutions are feasible tables of the whole group, so they
    widen the known intervals soundly. The cells a block leaves too narrow are solved again in blocks
    four times larger, and so on up to the whole group's programme (where a failure is decided)."""
    cles = [modele.variables[v] for v in variables]
    requis = np.full(len(variables), float(seuil))
    groupe = _Groupe(modele, variables, contraintes, cles, *([None] * 3), requis)
    if len(variables) <= entier:
        groupe.bas, groupe.haut, groupe.exact = _intervalles(groupe.programme, requis)
        return groupe
    groupe.entier = False
    position = {v: i for i, v in enumerate(variables)}
    vraies = groupe.vraies
    groupe.bas, groupe.haut = vraies.copy(), vraies.copy()
    groupe.exact = np.zeros(len(variables), dtype=bool)
    taille = bloc
    while True:
        etroites = groupe.haut - groupe.bas < requis - EPS
        if not etroites.any():
            break
        if taille >= len(variables):
            _, _, exact = _intervalles(groupe.programme, requis, groupe.bas, groupe.haut, np.flatnonzero(etroites))
            groupe.exact |= exact
            break
        blocs = _blocs(variables, contraintes, taille)
        bloc_de = {v: k for k, b in enumerate(blocs) for v in b}
        restreintes = _restreintes(contraintes, bloc_de, {v: vraies[i] for v, i in position.items()})
        for k, b in enumerate(blocs):
            indices = np.array([position[v] for v in b])
            a_voir = np.flatnonzero(etroites[indices])
            if k not in restreintes or not len(a_voir):
                continue  # nothing too narrow here, or cells in no constraint of their own
            programme = _Programme(modele, b, restreintes[k])
            bas, haut, _ = _intervalles(programme, requis[indices], groupe.bas[indices], groupe.haut[indices], a_voir)
            groupe.resolus += programme.resolus
            groupe.bas[indices], groupe.haut[indices] = bas, haut
        taille *= 4
    return groupe


def _plafonds(modele: _Modele, cibles: list[tuple[int, str]]) -> dict[tuple[int, str], float]:
    """A bound on each target cell's widest interval, without solving: in ``modele`` (every row that may
    be masked is masked), a constraint whose coefficients are all 1 — members of a published total —
    bounds each of its cells by its right-hand side, counts being non-negative. The widest interval is
    no wider; where a cell's known interval is already as wide, both are exact and equal."""
    plafonds = dict.fromkeys(cibles, math.inf)
    visees = {modele.index[c]: c for c in cibles if c in modele.index}
    for contrainte in modele.contraintes:
        if all(a == 1.0 for a in contrainte.coefficients):
            for variable in contrainte.variables:
                if variable in visees:
                    cible = visees[variable]
                    plafonds[cible] = min(plafonds[cible], contrainte.second_membre)
    return plafonds


def auditer(systeme: Systeme, cachee: np.ndarray, protegee: np.ndarray, seuil: int,
            memoire: dict | None = None, entier: int = TAILLE_ENTIER, bloc: int = TAILLE_BLOC) -> RapportAudit:
    """The feasible interval of every masked count of ``systeme`` (rows ``cachee`` masked or withdrawn);
    a cell narrower than ``seuil`` — or than the institutional totals allow — fails the audit.

    ``memoire`` (a dict the caller keeps between audits of the same system while it masks more rows):
    a group whose masked cells are the same as at the previous audit has the same programme, so its
    result is taken back instead of solved again."""
    debut = time.perf_counter()
    rapport = RapportAudit(seuil=seuil, tables={t.code: AuditTable(t.code) for t in systeme.tables})
    modele = _Modele(systeme, cachee)
    groupes, nouveaux = [], []
    for variables, contraintes in modele.groupes().values():
        signature = tuple(sorted(modele.variables[v] for v in variables))
        if memoire is not None and signature in memoire:
            groupes.append(memoire[signature])
            continue
        groupe = _auditer_groupe(modele, variables, contraintes, seuil, entier, bloc)
        groupes.append(groupe)
        nouveaux.append(groupe)
        if memoire is not None:
            memoire[signature] = groupe
    # where a cell cannot reach the threshold, it must reach what the institutional totals allow: a
    # bound first (often already reached), the widest interval by linear programming where it is not
    trop_etroites = [(g, i) for g in nouveaux for i in np.flatnonzero(g.haut - g.bas < g.requis - EPS)]
    if trop_etroites:
        large = _Modele(systeme, cachee | ~protegee)  # the widest case: every row that may be, masked
        plafonds = _plafonds(large, [g.cles[i] for g, i in trop_etroites])
        a_resoudre = []
        for groupe, i in trop_etroites:
            plafond = plafonds[groupe.cles[i]]
            if groupe.haut[i] - groupe.bas[i] >= plafond - EPS:
                groupe.requis[i], groupe.exact[i] = plafond, True
            else:
                a_resoudre.append((groupe, i))
        if a_resoudre:
            cibles = [g.cles[i] for g, i in a_resoudre]
            maximales = _largeurs_maximales(large, cibles)
            for (groupe, i), cible in zip(a_resoudre, cibles):
                groupe.requis[i] = min(float(seuil), maximales[cible])
    for groupe in nouveaux:
        if not groupe.entier:  # too large to solve every cell whole: its known intervals are reported
            rapport.programmes += groupe.compter()
            groupe.liberer()
            continue
        tables = np.array([systeme.table_de(ligne).code for ligne, _ in groupe.cles])
        # each table's narrowest interval is reported exactly (among the cells held to the threshold,
        # and among those limited by an institutional total): solve its cells in order of known width
        # until the narrowest exact one is below every other known width
        limitee = groupe.requis < seuil - EPS
        for code in np.unique(tables):
            for classe in (False, True):
                plus_etroite = math.inf
                cellules = np.flatnonzero((tables == code) & (limitee == classe))
                for i in sorted(cellules, key=lambda k: groupe.haut[k] - groupe.bas[k]):
                    if groupe.haut[i] - groupe.bas[i] >= plus_etroite:
                        break
                    if not groupe.exact[i]:
                        _exactes(groupe.programme, groupe.bas, groupe.haut, groupe.exact, [i])
                    plus_etroite = min(plus_etroite, groupe.haut[i] - groupe.bas[i])
        rapport.programmes += groupe.compter()
        groupe.liberer()
    for groupe in groupes:
        for i, (ligne, colonne) in enumerate(groupe.cles):
            cellule = Cellule(ligne=ligne, table=systeme.table_de(ligne).code, colonne=colonne, cle=(),
                              valeur=float(modele.valeurs(colonne)[ligne]), bas=float(groupe.bas[i]),
                              haut=float(groupe.haut[i]), requis=float(groupe.requis[i]),
                              exacte=bool(groupe.exact[i]))
            if cellule.largeur < cellule.requis - EPS:
                rapport.echecs.append(_nommee(systeme, cellule))
            elif cellule.requis < seuil - EPS:
                rapport.limitees.append(_nommee(systeme, cellule))
            if groupe.exact[i] or not groupe.entier:
                rapport.tables[cellule.table].voir(cellule, seuil)
    for table in systeme.tables:
        audit_table = rapport.tables[table.code]
        audit_table.cellules_masquees = int(cachee[table.debut:table.debut + len(table.donnees)].sum())
        # named once chosen (a cell's name reads its row: seconds for the 173 k cells of a national year)
        for attribut in ("plus_etroite", "plus_etroite_limitee"):
            if getattr(audit_table, attribut) is not None:
                setattr(audit_table, attribut, _nommee(systeme, getattr(audit_table, attribut)))
    rapport.duree_s = time.perf_counter() - debut
    return rapport


def _nommee(systeme: Systeme, cellule: Cellule) -> Cellule:
    return dataclasses.replace(cellule, cle=_cle(systeme, cellule.ligne))
