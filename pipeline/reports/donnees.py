"""What the documents read: the published tables of a year (the folder the readers get), with each
figure masked by the disclosure rule standing as :data:`pipeline.reports.formats.MASQUE`.

The documents select published rows and format them; they never add, divide or otherwise compute an
indicator (atlas.md: « the document formats published tables »).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.publication.catalogue import Catalogue, Indicateur, charger
from pipeline.publication.lecture import PublicationLue
from pipeline.reports.formats import MASQUE, fr_unite

TOTAL = "TOTAL"


class Donnees:
    """The published folder of a year, read for a document."""

    def __init__(self, dossier: Path | str, catalogue: Catalogue | None = None):
        self.publication = PublicationLue(Path(dossier))
        self.catalogue = catalogue or charger()
        self.indicateurs = self.catalogue.par_code()
        self.annee = self.publication.annee
        self._tables: dict[str, pd.DataFrame | None] = {}

    # -- tables ---------------------------------------------------------------------------------

    def table(self, code: str) -> pd.DataFrame | None:
        """The published table (its figures: numbers, ``MASQUE``, or missing), None if not published."""
        if code not in self._tables:
            lue = self.publication.table(code)
            if lue is None:
                self._tables[code] = None
            else:
                frame = lue.donnees.copy()
                for colonne in lue.masque.columns:
                    if lue.masque[colonne].any():
                        frame[colonne] = frame[colonne].astype(object).where(~lue.masque[colonne], MASQUE)
                self._tables[code] = frame
        return self._tables[code]

    def publiee(self, code: str) -> bool:
        return self.table(code) is not None

    def lignes(self, code: str, annee: int | None = None, **filtre: Any) -> pd.DataFrame:
        """The rows of ``code`` for ``annee`` (default: the publication's year; 0 = every year) whose
        dimensions hold the values of ``filtre`` (a list for several values)."""
        frame = self.table(code)
        if frame is None:
            return pd.DataFrame()
        annee = self.annee if annee is None else annee
        masque = pd.Series(True, index=frame.index)
        if annee:
            masque &= frame["annee"].eq(annee)
        for dimension, valeur in filtre.items():
            valeurs = valeur if isinstance(valeur, (list, tuple, set)) else [valeur]
            masque &= frame[dimension].astype(str).isin([str(v) for v in valeurs])
        return frame[masque]

    def chiffre(self, code: str, colonne: str = "valeur", annee: int | None = None, **filtre: Any) -> Any:
        """One published figure (a number, ``MASQUE``) or None (table or row not published)."""
        lignes = self.lignes(code, annee, **filtre)
        if len(lignes) != 1:
            return None
        return lignes.iloc[0][colonne]

    def serie(self, code: str, colonne: str = "valeur", **filtre: Any) -> pd.Series:
        """The figure of every year the table carries (index: year)."""
        lignes = self.lignes(code, annee=0, **filtre)
        if lignes.empty:
            return pd.Series(dtype=object)
        return lignes.set_index("annee")[colonne].sort_index()

    def annees(self, code: str) -> list[int]:
        frame = self.table(code)
        return [] if frame is None else sorted(int(a) for a in frame["annee"].unique())

    # -- catalogue and labels -----------------------------------------------------------------------

    def indicateur(self, code: str) -> Indicateur:
        return self.indicateurs[code]

    def raison(self, code: str) -> str | None:
        """Why ``code`` is « non renseigné » for the year (None when it is published)."""
        return self.publication.raison_non_renseigne(code)

    def libelle(self, dimension: str, code: Any) -> str:
        return self.publication.libelle(dimension, str(code))

    def chiffre_cle(self, code: str, annee: int | None = None) -> tuple[Any, str]:
        """The key figure of an indicator (catalogue ``chiffre_cle``) and its formatted text."""
        indicateur = self.indicateur(code)
        cle = indicateur.chiffre_cle
        if cle is None or not self.publiee(code):
            return None, "–"
        valeur = self.chiffre(code, cle.colonne, annee, **cle.ligne)
        unite = "nombre" if cle.colonne in ("numerateur", "denominateur") else indicateur.unite
        return valeur, ("–" if valeur is None else fr_unite(valeur, unite))

    def source(self, code: str) -> str:
        """The sources of a published table (the marts' ``source`` texts), from the metadata."""
        fichier = self.publication.fichier(code)
        return ", ".join(fichier.get("source", [])) if fichier else ""

    @property
    def metadonnees(self) -> dict:
        return self.publication.metadonnees

    def couche(self, nom: str):
        return self.publication.couche(nom)
