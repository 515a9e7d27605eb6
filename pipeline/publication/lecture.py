"""Reading a published folder: what the atlas, the dashboard and the audit check read — the files the
readers get, never the marts.

A figure printed ``s`` (masked by the disclosure rule) is read as missing and flagged in the table's
``masque``; an empty figure (not computable) is missing and not flagged. So a document built on these
tables can print ``s`` where the CSV does, and has no way to print the masked number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.publication.catalogue import CHIFFRES_PAR_FAMILLE
from pipeline.publication.ecriture import LIBELLES, MASQUE, METADONNEES, NON_RENSEIGNES

#: Figure columns that hold text (the fragility class).
TEXTES = frozenset({"classe"})
TOUS_LES_CHIFFRES = frozenset(c for colonnes in CHIFFRES_PAR_FAMILLE.values() for c in colonnes)


class LectureError(RuntimeError):
    """The folder is not a publication of the observatoire (the message says what is missing)."""


@dataclass(frozen=True)
class TableLue:
    """A published table: its rows (masked figures missing) and which figures are masked."""

    code: str
    donnees: pd.DataFrame
    masque: pd.DataFrame

    def masquee(self, position: int, colonne: str) -> bool:
        return colonne in self.masque and bool(self.masque.iloc[position][colonne])


class PublicationLue:
    """A folder written by :func:`pipeline.publication.exports.construire_publication`."""

    def __init__(self, dossier: Path):
        self.dossier = Path(dossier)
        if not (self.dossier / METADONNEES).is_file():
            raise LectureError(f"{self.dossier}: pas de {METADONNEES} — ce n'est pas un dossier publié par "
                               f"l'observatoire (lancez d'abord la publication de l'année).")
        self._tables: dict[str, TableLue] = {}

    @cached_property
    def metadonnees(self) -> dict[str, Any]:
        return json.loads((self.dossier / METADONNEES).read_text(encoding="utf-8"))

    @property
    def annee(self) -> int:
        return int(self.metadonnees["annee"])

    @property
    def mentions(self) -> list[str]:
        return list(self.metadonnees.get("mentions", []))

    @property
    def codes(self) -> list[str]:
        """The codes of the published tables, in catalogue order."""
        return [f["code"] for f in self.metadonnees["fichiers"] if "code" in f]

    def fichier(self, code: str) -> dict[str, Any] | None:
        return next((f for f in self.metadonnees["fichiers"] if f.get("code") == code), None)

    def table(self, code: str) -> TableLue | None:
        """The published table ``code``, or None when it is « non renseigné » for the year."""
        if code not in self._tables:
            chemin = self.dossier / f"{code}.csv"
            if not chemin.is_file():
                return None
            brut = pd.read_csv(chemin, dtype=str, keep_default_na=False, encoding="utf-8")
            donnees = brut.copy()
            masque = pd.DataFrame(index=brut.index)
            for colonne in brut.columns:
                if colonne in TOUS_LES_CHIFFRES:
                    masque[colonne] = brut[colonne].eq(MASQUE)
                    texte = brut[colonne].mask(masque[colonne] | brut[colonne].eq(""))
                    donnees[colonne] = texte if colonne in TEXTES else pd.to_numeric(texte)
            donnees["annee"] = pd.to_numeric(donnees["annee"]).astype(int)
            donnees["secret"] = brut["secret"].eq("true")
            self._tables[code] = TableLue(code, donnees, masque)
        return self._tables[code]

    @cached_property
    def non_renseignes(self) -> pd.DataFrame:
        return pd.read_csv(self.dossier / NON_RENSEIGNES, dtype=str, keep_default_na=False, encoding="utf-8")

    def raison_non_renseigne(self, code: str) -> str | None:
        lignes = self.non_renseignes[self.non_renseignes["code"].eq(code)]
        return None if lignes.empty else str(lignes.iloc[0]["raison"])

    @cached_property
    def libelles(self) -> dict[str, dict[str, str]]:
        chemin = self.dossier / LIBELLES
        if not chemin.is_file():
            return {}
        frame = pd.read_csv(chemin, dtype=str, keep_default_na=False, encoding="utf-8")
        return {d: dict(zip(g["code"], g["libelle"])) for d, g in frame.groupby("dimension")}

    def libelle(self, dimension: str, code: str) -> str:
        """The name of ``code`` (« TOTAL » reads « Ensemble »), or the code itself."""
        if code == "TOTAL":
            return "Ensemble"
        return self.libelles.get(dimension, {}).get(code, code)

    @property
    def geopackage(self) -> Path | None:
        chemins = sorted(self.dossier.glob("*.gpkg"))
        return chemins[0] if chemins else None

    def couche(self, nom: str):
        """A layer of the GeoPackage (communes, iris, qpv) as a GeoDataFrame, or None."""
        import geopandas as gpd
        import pyogrio

        if self.geopackage is None or nom not in [c[0] for c in pyogrio.list_layers(self.geopackage)]:
            return None
        return gpd.read_file(self.geopackage, layer=nom)

    @property
    def secret(self) -> dict[str, Any]:
        return self.metadonnees.get("secret", {})
