"""The charts of the documents: evolutions over the years a published table carries, and bars.

Charts draw published figures only: a masked one (``MASQUE``) is left out of the line and marked « s »;
a missing one leaves a gap. The years are those the published tables carry (up to five).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pandas as pd

from pipeline.reports.formats import MASQUE, fr_entier, manquant

DPI = 150
COULEURS = ["#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#a5a5a5", "#843c0c"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _enregistrer(fig, chemin: Path, source: str) -> Path:
    fig.text(0.01, 0.01, source, fontsize=6, color="#5f6368", ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    chemin.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(chemin, dpi=DPI)
    _plt().close(fig)
    return chemin


def courbes(series: dict[str, pd.Series], chemin: Path, titre_y: str, source: str,
            format_y: Callable[[Any], str] = fr_entier, cibles: dict[str, float] | None = None,
            hauteur: float = 2.9) -> Path:
    """One line per series (index: year); ``cibles``: label → a horizontal target line."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.8, hauteur), dpi=DPI)
    annees = sorted({int(a) for s in series.values() for a in s.index})
    for couleur, (libelle, serie) in zip(COULEURS * 3, series.items()):
        points = [(int(a), float(v)) for a, v in serie.items() if v is not MASQUE and not manquant(v)]
        if points:
            ax.plot(*zip(*points), marker="o", markersize=3.5, linewidth=1.6, color=couleur, label=libelle)
            derniere = points[-1]
            ax.annotate(format_y(derniere[1]), derniere, xytext=(4, 0), textcoords="offset points", fontsize=6.5,
                        color=couleur, va="center")
        for annee, valeur in serie.items():
            if valeur is MASQUE:
                ax.annotate("s", (int(annee), 0), fontsize=7, color="#777777", ha="center")
    for (libelle, cible), style in zip((cibles or {}).items(), ["--", ":", "-."]):
        ax.axhline(cible, color="#b3261e", linestyle=style, linewidth=1.1, label=libelle)
    ax.set_xticks(annees)
    ax.set_xticklabels([str(a) for a in annees], fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.yaxis.set_major_formatter(lambda v, _: format_y(v))
    ax.set_ylabel(titre_y, fontsize=7)
    ax.grid(axis="y", color="#e6e6e6", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_ylim(bottom=0)
    if len(annees) == 1:
        ax.set_xlim(annees[0] - 1, annees[0] + 1)
    ax.legend(fontsize=6.5, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _enregistrer(fig, chemin, source)


def barres(valeurs: pd.Series, chemin: Path, titre: str, source: str,
           format_valeur: Callable[[Any], str] = fr_entier) -> Path:
    """Horizontal bars (index: label), in the given order; a masked bar is « s »."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.8, 0.32 * len(valeurs) + 0.9), dpi=DPI)
    libelles = list(valeurs.index)[::-1]
    nombres = [0.0 if (v is MASQUE or manquant(v)) else float(v) for v in list(valeurs.values)[::-1]]
    ax.barh(range(len(libelles)), nombres, color="#2e75b6", height=0.65)
    maximum = max(nombres or [1.0]) or 1.0
    for i, valeur in enumerate(list(valeurs.values)[::-1]):
        ax.annotate(format_valeur(valeur), (nombres[i], i), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=6.5)
    ax.set_yticks(range(len(libelles)))
    ax.set_yticklabels(libelles, fontsize=7)
    ax.set_xlim(0, maximum * 1.18)
    ax.xaxis.set_visible(False)
    ax.spines[["top", "right", "bottom"]].set_visible(False)
    ax.set_title(titre, fontsize=8, loc="left")
    return _enregistrer(fig, chemin, source)
