"""The audit of a built publication, from its files: what the blocking check ``audit_secret`` runs.

It reads the published CSV back (a figure ``s`` or a withdrawn row is hidden from the reader), the
true figures from the marts, rebuilds the relations a reader can use (:mod:`pipeline.publication.systeme`)
and computes every hidden cell's feasible interval (:mod:`pipeline.publication.audit`). It judges the
files as written, not the rule's intentions: a CSV edited by hand, or a rule that forgot a cell, fails.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.publication.audit import RapportAudit, auditer
from pipeline.publication.catalogue import Catalogue, charger
from pipeline.publication.lecture import PublicationLue
from pipeline.publication.secret import lignes_institutionnelles, seuil_du_referentiel
from pipeline.publication.systeme import colonnes_additives, construire
from pipeline.publication.tables import colonnes_de_la_regle, lire_mart
from pipeline.warehouse import connect_read_only


def _cles(frame: pd.DataFrame, colonnes: list[str]) -> pd.Series:
    """Each row's key: its ``colonnes`` as text, joined by a separator no value holds (column by
    column, vectorised: a row-wise join took seconds on the larger tables)."""
    texte = frame[colonnes].astype(str).fillna("")
    cles = texte.iloc[:, 0]
    for colonne in texte.columns[1:]:
        cles = cles + "\x1f" + texte[colonne]
    return cles


def auditer_dossier(dossier: Path, warehouse: Path, catalogue: Catalogue | None = None,
                    seuil: int | None = None) -> RapportAudit:
    """The audit of the publication in ``dossier`` against the marts of ``warehouse`` (read-only)."""
    catalogue = catalogue or charger()
    seuil = seuil_du_referentiel() if seuil is None else seuil
    publication = PublicationLue(dossier)
    par_code = catalogue.par_code()
    tables, caches = [], []
    with connect_read_only(warehouse) as conn:
        for code in publication.codes:
            indicateur = par_code[code]
            vraie, _, _ = lire_mart(conn, indicateur, publication.annee, colonnes_de_la_regle(catalogue, indicateur))
            lue = publication.table(code)
            cle = ["annee", *indicateur.dimensions]
            comptes = [c for c in colonnes_additives(indicateur, vraie) if c in lue.masque]
            masquees = lue.masque[comptes].any(axis=1) if comptes else pd.Series(False, index=lue.donnees.index)
            publiees = dict(zip(_cles(lue.donnees, cle), masquees))
            cles_vraies = _cles(vraie, cle)
            # a row absent from the file (withdrawn) or with a masked count is hidden from the reader
            caches.append(np.array([publiees.get(k, True) for k in cles_vraies], dtype=bool))
            tables.append((indicateur, vraie))
    systeme = construire(tables, catalogue)
    cachee = np.concatenate(caches) if caches else np.zeros(0, dtype=bool)
    protegee = np.concatenate([lignes_institutionnelles(t.donnees, t.indicateur) for t in systeme.tables]) \
        if systeme.tables else np.zeros(0, dtype=bool)
    return auditer(systeme, cachee, protegee, seuil)
