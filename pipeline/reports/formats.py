"""French formatting of published figures, and the tables of the documents.

A figure read from a published table (:mod:`pipeline.publication.lecture`) is a number, missing (not
computable: printed « – »), or masked by the disclosure rule — the sentinel :data:`MASQUE`, printed
« s » like in the CSV. Nothing here computes an indicator: the documents format published figures.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

NBSP = "\u202f"  # espace fine insécable: the French thousands separator and the space before « % »
VIDE = "–"


class _Masque:
    """A figure masked by the disclosure rule: prints « s », is never a number."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "s"

    def __str__(self) -> str:
        return "s"


#: The one masked figure (``valeur is MASQUE``).
MASQUE = _Masque()


def manquant(valeur: Any) -> bool:
    return valeur is None or valeur is pd.NA or (isinstance(valeur, float) and math.isnan(valeur))


def nombre(valeur: Any) -> float | None:
    """The figure as a number, None when masked or missing (for charts and maps)."""
    if valeur is MASQUE or manquant(valeur):
        return None
    return float(valeur)


def _avec(valeur: Any, texte) -> str:
    if valeur is MASQUE:
        return "s"
    if manquant(valeur):
        return VIDE
    return texte(float(valeur))


def fr_entier(valeur: Any) -> str:
    """``12345`` → ``12 345``; masked → ``s``; missing → ``–``."""
    return _avec(valeur, lambda v: f"{round(v):,}".replace(",", NBSP))


def fr_decimal(valeur: Any, decimales: int = 1) -> str:
    """``3.617`` → ``3,6``."""
    return _avec(valeur, lambda v: f"{v:,.{decimales}f}".replace(",", " ").replace(".", ",").replace(" ", NBSP))


def fr_pct(valeur: Any, decimales: int = 1) -> str:
    """A share ``0.128`` → ``12,8 %``."""
    return _avec(valeur, lambda v: f"{v * 100:.{decimales}f}".replace(".", ",") + NBSP + "%")


def fr_euros_m2(valeur: Any) -> str:
    """``5.1`` → ``5,10 €``."""
    return _avec(valeur, lambda v: f"{v:.2f}".replace(".", ",") + NBSP + "€")


def fr_mois(valeur: Any) -> str:
    return _avec(valeur, lambda v: f"{v:.1f}".replace(".", ",") + NBSP + "mois")


MOIS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre")


def fr_mois_annee(mois: str) -> str:
    """A month ``AAAA-MM`` in words: ``2024-03`` → ``mars 2024``."""
    return f"{MOIS_FR[int(mois[5:7]) - 1]} {mois[:4]}"


#: How a figure of each catalogue unit prints.
PAR_UNITE = {"part": fr_pct, "nombre": fr_entier, "ratio": fr_decimal, "mois": fr_mois, "euros_m2": fr_euros_m2}


def fr_unite(valeur: Any, unite: str) -> str:
    """A figure in the unit of its catalogue entry (part, nombre, ratio, mois, euros_m2)."""
    return PAR_UNITE.get(unite, fr_decimal)(valeur)


def fr_points(valeur: Any) -> str:
    """A change of share in points: ``0.012`` → ``+1,2 pt``."""
    return _avec(valeur, lambda v: f"{v * 100:+.1f}".replace(".", ",") + NBSP + "pt")


def echapper(texte: Any) -> str:
    """Text safe in a pandoc pipe table cell."""
    return str(texte).replace("|", "\\|").replace("\n", " ")


def table_markdown(frame: pd.DataFrame, alignements: str, legende: str | None = None) -> str:
    """A pandoc pipe table (``alignements``: one ``l``/``r``/``c`` per column) with a caption."""
    # Dashes proportional to the widest cell: pandoc sizes wrapped columns by them. A header counts
    # two more characters than it has, so a short column keeps its header on one line when the long
    # ones are shrunk to fit the page (« Valeur » broke as « Va-leur »).
    largeurs = [max([len(str(c)) + 2] + [len(str(v)) for v in frame[c]]) for c in frame.columns]

    def regle(alignement: str, largeur: int) -> str:
        tirets = "-" * max(3, min(largeur, 40))
        return {"l": ":" + tirets, "r": tirets + ":", "c": ":" + tirets + ":"}[alignement]

    lignes = ["| " + " | ".join(echapper(c) for c in frame.columns) + " |",
              "|" + "|".join(regle(a, w) for a, w in zip(alignements, largeurs)) + "|"]
    for ligne in frame.itertuples(index=False):
        lignes.append("| " + " | ".join(echapper(v) for v in ligne) + " |")
    if legende:
        lignes += ["", f": {legende}"]
    return "\n".join(lignes) + "\n"


def brut(typst: str, html: str) -> str:
    """A passage written for each output: raw Typst for the PDF, raw HTML for its twin (pandoc keeps
    the raw block of the format it writes and drops the other)."""
    return f"\n```{{=typst}}\n{typst}\n```\n\n```{{=html}}\n{html}\n```\n"
