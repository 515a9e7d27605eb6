"""What the atlas cells use: format numbers in French, draw maps and tables.

The atlas computes no indicator: it reads the published tables of the year
(:class:`pipeline.publication.lecture.PublicationLue`) and lays them out.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely


NBSP = "\u202f"  # espace fine insécable, the French thousands separator


def fr_entier(value: float | int | None) -> str:
    """``12345`` → ``12 345`` (French thousands separator); missing → ``–``."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    return f"{round(value):,}".replace(",", NBSP)


def fr_pct(value: float | None, decimales: int = 1) -> str:
    """``0.128`` → ``12,8 %``; missing → ``–``."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    return f"{value * 100:.{decimales}f}".replace(".", ",") + NBSP + "%"


def table_markdown(frame: pd.DataFrame, alignements: str, legende: str | None = None) -> str:
    """A pandoc pipe table (``alignements``: one ``l``/``r``/``c`` per column) with a caption."""
    # Dashes proportional to the widest cell: pandoc sizes wrapped columns by them.
    widths = [max([len(str(c))] + [len(str(v)) for v in frame[c]]) for c in frame.columns]
    def rule(align: str, width: int) -> str:
        dashes = "-" * max(3, width)
        return {"l": ":" + dashes, "r": dashes + ":", "c": ":" + dashes + ":"}[align]
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + "|".join(rule(a, w) for a, w in zip(alignements, widths)) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |")
    if legende:
        lines += ["", f": {legende}"]
    return "\n".join(lines) + "\n"


def bornes_lisibles(values: pd.Series, classes: int = 5) -> list[float]:
    """Class breaks from the quantiles of the positive values, rounded to 1, 2 or 5 × 10ⁿ."""
    positive = values[values > 0]
    if positive.empty:
        return [0.0]
    quantiles = np.quantile(positive, np.linspace(0, 1, classes + 1)[1:-1])
    bornes = set()
    for q in quantiles:
        if q <= 0:
            continue
        puissance = 10 ** math.floor(math.log10(q))
        bornes.add(min((m * puissance for m in (1, 2, 5, 10)), key=lambda b: abs(b - q)))
    return sorted(bornes)


def carte_choroplethe(
    communes: gpd.GeoDataFrame, valeurs: pd.Series, titre_legende: str, chemin: Path,
    etiquettes: pd.Series | None = None,
) -> Path:
    """Choropleth of ``valeurs`` (indexed like ``communes``) with a class legend, outlines and labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    bornes = bornes_lisibles(valeurs)
    limites = [0.0] + bornes + [float("inf")]
    couleurs = plt.get_cmap("Blues")(np.linspace(0.15, 0.95, len(limites) - 1))
    classe = np.searchsorted(np.array(bornes), valeurs.to_numpy(), side="right")
    fig, ax = plt.subplots(figsize=(7.2, 6.4), dpi=200)
    for i, couleur in enumerate(couleurs):
        part = communes[(classe == i) & (valeurs.to_numpy() > 0)]
        if not part.empty:
            part.plot(ax=ax, color=couleur, edgecolor="white", linewidth=0.8)
    vides = communes[valeurs.to_numpy() <= 0]
    if not vides.empty:
        vides.plot(ax=ax, color="#eeeeee", edgecolor="white", linewidth=0.8, hatch="///")
    communes.boundary.plot(ax=ax, color="#555555", linewidth=0.4)
    if etiquettes is not None:
        from matplotlib import patheffects

        halo = [patheffects.withStroke(linewidth=1.6, foreground="white")]
        for geom, texte in zip(communes.geometry, etiquettes):
            p = geom.representative_point()
            ax.annotate(texte, (p.x, p.y), ha="center", va="center", fontsize=5.2, color="#111111",
                        path_effects=halo)
    handles = []
    if not vides.empty:
        handles.append(Patch(facecolor="#eeeeee", edgecolor="#999999", hatch="///", label="aucun"))
    for i, couleur in enumerate(couleurs):
        bas, haut = limites[i], limites[i + 1]
        if i == 0:
            label = f"moins de {fr_entier(haut)}"
        elif math.isinf(haut):
            label = f"{fr_entier(bas)} et plus"
        else:
            label = f"{fr_entier(bas)} à {fr_entier(haut - 1)}"
        handles.append(Patch(facecolor=couleur, edgecolor="#999999", label=label))
    ax.legend(handles=handles, title=titre_legende, loc="lower left", fontsize=7, title_fontsize=7.5,
              frameon=True, framealpha=0.9)
    ax.set_axis_off()
    ax.set_aspect("equal")
    fig.tight_layout()
    chemin.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(chemin, dpi=200)
    plt.close(fig)
    return chemin
