"""The statistical disclosure rule of the published tables (indicators.md, section F).

One pure function, :func:`appliquer_secret`, takes an indicator table as published (``annee``, the
catalogue's dimensions, the family's figure columns) and its catalogue entry, and returns the same
table with ``secret`` set and the figures of the masked rows emptied. The writers print those
figures as ``s``. Each row of an indicator table is one cell of the statistical table (one
combination of the dimensions), so masking is per row.

Primary suppression — a row is masked when:

- **fine geography** (``granularite_fine``: a dimension at the IRIS, the résidence or the address):
  one of its counts (``numerateur``, ``denominateur``, ``nb_menages``, and ``valeur`` when the unit
  is ``nombre``) is between 1 and :data:`SEUIL` − 1: the cell describes fewer than 11 dwellings or
  households (the GIP SNE rule). A zero describes no one and is published;
- **fragility** (family ``fragilite``): fewer than :data:`SEUIL` surveyed households
  (``nb_menages``; unknown counts as none): no class, criterion or count is published for it;
- **sensitive priority motifs** (``motifs_sensibles``): the row's motif is one of violences,
  prostitution, traite, handicap, expulsion and its count of households (``numerateur``, and
  ``valeur`` when the unit is ``nombre``) is between 1 and 10 — at any geography.

Institutional tables (by bailleur, réservataire, QPV, commune, EPCI) carry none of these flags and
are published as counts, as the CIA itself does.

Secondary suppression — along each dimension, the rows that differ only by that dimension form a
group; when the group has a ``TOTAL`` row, its other members add up to it, so a single masked
member could be recomputed as the total minus the others. Wherever exactly one member is masked,
the smallest other member (by ``numerateur``, else ``nb_menages``, ``denominateur``) is masked too
— a non-zero one first: a masked zero hides little from a reader who guesses it. The total row
never counts as that second cell — it may be printed in another table or in the atlas — and is
masked only when the group has no other member. Masking a cell changes the groups it belongs to
along the other dimensions, so the pass repeats until nothing changes. Dimensions without a
``TOTAL`` row (``mesure``, ``statistique``, ``mois``…) are not additive and form no group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.publication.catalogue import Indicateur

#: Below this number of dwellings or households a cell is not published (indicators.md, section F).
SEUIL = 11
#: The value of a dimension on its total row (indicators.md, section E).
TOTAL = "TOTAL"
#: Words of the sensitive priority motifs (section F), matched on the ``_``-separated words of the
#: motif code: SYPLO's ``G_VIOLENCES``, ``A_HANDICAP``, ``L_EXPULSION``…, the demand's ``VIOLENCES``.
MOTS_SENSIBLES = frozenset({"VIOLENCE", "VIOLENCES", "PROSTITUTION", "TRAITE", "HANDICAP", "EXPULSION"})


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


def _sous_le_seuil(frame: pd.DataFrame, colonnes: list[str]) -> pd.Series:
    """Rows where one of ``colonnes`` is a count between 1 and SEUIL − 1."""
    petit = pd.Series(False, index=frame.index)
    for colonne in colonnes:
        valeurs = pd.to_numeric(frame[colonne], errors="coerce")
        petit |= ((valeurs > 0) & (valeurs < SEUIL)).fillna(False).astype(bool)
    return petit


def masque_primaire(frame: pd.DataFrame, indicateur: Indicateur) -> pd.Series:
    """The rows that the rules of section F mask by themselves (before secondary suppression)."""
    masque = pd.Series(False, index=frame.index)
    if "secret" in frame:  # a row a mart already declares secret stays secret
        masque |= frame["secret"].fillna(False).astype(bool)
    if indicateur.granularite_fine:
        masque |= _sous_le_seuil(frame, colonnes_de_comptes(indicateur))
    if indicateur.famille == "fragilite":
        menages = pd.to_numeric(frame["nb_menages"], errors="coerce").fillna(0)
        masque |= menages < SEUIL
    if indicateur.motifs_sensibles:
        comptes = [c for c in colonnes_de_comptes(indicateur) if c != "denominateur"]
        masque |= frame["motif"].map(motif_sensible).astype(bool) & _sous_le_seuil(frame, comptes)
    return masque


def _taille(frame: pd.DataFrame, indicateur: Indicateur) -> pd.Series:
    """What a cell counts, to pick the smallest one: its first known count, ``numerateur`` first —
    the figure whose members add up to the total in every family (a share's ``denominateur`` is
    often the same for every member)."""
    comptes = colonnes_de_comptes(indicateur)
    taille = pd.Series(float("nan"), index=frame.index)
    for colonne in ("numerateur", "nb_menages", "denominateur", "valeur"):
        if colonne in comptes:
            taille = taille.fillna(pd.to_numeric(frame[colonne], errors="coerce").astype(float))
    return taille


def _groupes(frame: pd.DataFrame, dimensions: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(member positions, total positions) of every group that has a TOTAL row, along each dimension."""
    groupes = []
    for dimension in dimensions:
        autres = [c for c in ["annee", *dimensions] if c in frame and c != dimension]
        codes = (frame.groupby(autres, dropna=False, sort=False).ngroup().to_numpy() if autres
                 else np.zeros(len(frame), dtype=int))
        est_total = frame[dimension].eq(TOTAL).fillna(False).to_numpy(dtype=bool)
        ordre = np.argsort(codes, kind="stable")
        coupures = np.flatnonzero(np.diff(codes[ordre])) + 1
        for positions in np.split(ordre, coupures):
            totaux = positions[est_total[positions]]
            if len(totaux):
                groupes.append((positions[~est_total[positions]], totaux))
    return groupes


def secret_secondaire(frame: pd.DataFrame, indicateur: Indicateur, masque: pd.Series) -> pd.Series:
    """``masque`` extended so that no masked cell can be recomputed from a ``TOTAL`` row."""
    masques = masque.to_numpy(dtype=bool).copy()
    taille = _taille(frame, indicateur).to_numpy()
    # Rank of each row as a candidate: non-zero known sizes first, smallest first, then row order.
    rang = np.empty(len(frame), dtype=int)
    rang[np.lexsort((np.arange(len(frame)), np.nan_to_num(taille, nan=0.0), ~(taille > 0)))] = np.arange(len(frame))
    groupes = _groupes(frame, [d for d in indicateur.dimensions if d in frame])

    change = True
    while change:
        change = False
        for membres, totaux in groupes:
            if np.count_nonzero(masques[membres]) != 1:
                continue
            libres = membres[~masques[membres]]
            if len(libres):
                masques[libres[np.argmin(rang[libres])]] = True
                change = True
            elif not masques[totaux].all():
                # the masked member is the whole group: its total would give it away
                masques[totaux] = True
                change = True
    return pd.Series(masques, index=frame.index)


def appliquer_secret(frame: pd.DataFrame, indicateur: Indicateur) -> pd.DataFrame:
    """``frame`` (published columns of ``indicateur``) with ``secret`` set by section F and the
    figures of the masked rows emptied (the writers print them as ``s``). ``frame`` is not modified."""
    manquantes = [c for c in ("annee", *indicateur.dimensions, *indicateur.colonnes_chiffres) if c not in frame]
    if manquantes:
        raise KeyError(f"{indicateur.code}: colonnes absentes de la table à publier : {', '.join(manquantes)}")
    resultat = frame.copy()
    masque = secret_secondaire(resultat, indicateur, masque_primaire(resultat, indicateur))
    for colonne in indicateur.colonnes_chiffres:
        if masque.any():
            resultat[colonne] = resultat[colonne].mask(masque)
    resultat["secret"] = masque.astype(bool)
    return resultat
