"""The maps of the documents: the layers of the published GeoPackage drawn with matplotlib.

Every map has its legend (classes with readable bounds), the commune outlines, the QPV outlines with
their names, and a source line that says where the contours come from (« contours réels, données
fictives » on the demo). A zone whose figure is masked by the disclosure rule is hatched « s »; a zone
without a figure is « non renseigné ». The maps draw published figures only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from pipeline.reports.formats import MASQUE, fr_entier, manquant

ROUGE_QPV = "#b3261e"
GRIS_CONTOURS = "#4d4d4d"
GRIS_VIDE = "#f2f2f2"
GRIS_SECRET = "#d9d9d9"
DPI = 150


@dataclass
class Fond:
    """The geography of a map: communes, IRIS and QPV layers of the published GeoPackage."""

    communes: Any
    iris: Any | None
    qpv: Any | None
    #: qpv code → name printed on the maps
    noms_qpv: dict[str, str]
    #: the publication is built from the demo data
    donnees_fictives: bool = False

    @property
    def mention(self) -> str:
        """What the contours and the figures are (printed on every map and in its caption)."""
        reels = not bool(self.communes["fictif"].astype(bool).any())
        zones_fictives = any(c is not None and bool(c["fictif"].astype(bool).any()) for c in (self.iris, self.qpv))
        if reels and self.donnees_fictives:
            details = "communes IGN Admin Express" + (", IRIS et QPV fictifs" if zones_fictives else "")
            return f"contours réels, données fictives ({details})"
        if reels:
            return "contours des fichiers géographiques du territoire"
        return "contours fictifs, données fictives" if self.donnees_fictives else "contours fictifs"


def fond_de_carte(donnees) -> Fond | None:
    """The layers of the year, or None when the publication has no GeoPackage (no geography ingested)."""
    communes = donnees.couche("communes")
    if communes is None:
        return None
    qpv = donnees.couche("qpv")
    noms = {} if qpv is None else {str(c): _nom_court(donnees.libelle("qpv", c)) for c in qpv["code"]}
    return Fond(communes=communes, iris=donnees.couche("iris"), qpv=qpv, noms_qpv=noms,
                donnees_fictives=bool(donnees.metadonnees.get("donnees_fictives")))


def _nom_court(nom: str) -> str:
    return nom.replace(" (fictif)", "")


def bornes_lisibles(valeurs: pd.Series, classes: int = 5) -> list[float]:
    """Class breaks at the quantiles of the values, rounded to two significant digits."""
    positives = np.array([v for v in valeurs if v is not None and not manquant(v) and v > 0], dtype=float)
    if positives.size == 0:
        return []
    bornes = set()
    for q in np.quantile(positives, np.linspace(0, 1, classes + 1)[1:-1]):
        if q > 0:
            puissance = 10 ** (math.floor(math.log10(q)) - 1)
            bornes.add(round(q / puissance) * puissance)
    return sorted(bornes)


def _figure(largeur: float = 7.0, hauteur: float = 6.2):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(largeur, hauteur), dpi=DPI)
    # geopandas asks for a redraw after every layer it plots (``canvas.draw_idle``), which the Agg
    # canvas does at once: the whole map drawn again per layer, ~1/6 of the atlas's render for nothing
    # (``savefig`` draws it once, complete)
    fig.canvas.draw_idle = lambda *args, **kwargs: None
    ax.set_axis_off()
    ax.set_aspect("equal")
    return fig, ax


def _habiller(ax, fond: Fond, qpv: bool = True, etiquettes_communes: Any = None) -> None:
    """Commune outlines (and names), QPV outlines and names."""
    from matplotlib import patheffects

    fond.communes.boundary.plot(ax=ax, color=GRIS_CONTOURS, linewidth=0.5)
    halo = [patheffects.withStroke(linewidth=1.8, foreground="white")]
    if etiquettes_communes is not None:
        for geometrie, texte in zip(fond.communes.geometry, etiquettes_communes):
            point = geometrie.representative_point()
            ax.annotate(texte, (point.x, point.y), ha="center", va="center", fontsize=4.8, color="#222222",
                        path_effects=halo)
    if qpv and fond.qpv is not None:
        fond.qpv.boundary.plot(ax=ax, color=ROUGE_QPV, linewidth=0.9, linestyle=(0, (3, 1.5)))
        for code, geometrie in zip(fond.qpv["code"], fond.qpv.geometry):
            point = geometrie.representative_point()
            ax.annotate(fond.noms_qpv.get(str(code), str(code)), (point.x, point.y), xytext=(0, 7),
                        textcoords="offset points", ha="center", fontsize=5.2, color=ROUGE_QPV,
                        fontweight="bold", path_effects=halo)


def _conclure(fig, ax, handles: list, titre: str, source: str, chemin: Path) -> Path:
    ax.legend(handles=handles, title=titre, loc="lower left", fontsize=6.5, title_fontsize=7,
              frameon=True, framealpha=0.92, borderaxespad=0.4)
    fig.text(0.01, 0.008, source, fontsize=6, color="#5f6368", ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.025, 1, 1))
    chemin.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(chemin, dpi=DPI)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return chemin


def _patch(couleur: str, libelle: str, hachures: str | None = None):
    from matplotlib.patches import Patch

    return Patch(facecolor=couleur, edgecolor="#999999", hatch=hachures, label=libelle)


def _qpv_legende(fond: Fond) -> list:
    from matplotlib.lines import Line2D

    if fond.qpv is None:
        return []
    return [Line2D([0], [0], color=ROUGE_QPV, linewidth=1, linestyle=(0, (3, 1.5)), label="quartier prioritaire (QPV)")]


def carte_valeurs(fond: Fond, zones, valeurs: pd.Series, titre: str, source: str, chemin: Path,
                  format_borne: Callable[[float], str] = fr_entier, palette: str = "Blues",
                  bornes: list[float] | None = None, etiquettes: bool = False) -> Path:
    """A choropleth of ``valeurs`` (aligned on ``zones``: numbers, ``MASQUE`` or missing) in classes."""
    import matplotlib.pyplot as plt

    fig, ax = _figure()
    nombres = pd.Series([None if (v is MASQUE or manquant(v)) else float(v) for v in valeurs], index=zones.index)
    bornes = bornes if bornes is not None else bornes_lisibles(nombres)
    limites = [0.0, *bornes, math.inf]
    couleurs = plt.get_cmap(palette)(np.linspace(0.18, 0.92, len(limites) - 1))
    secret = pd.Series([v is MASQUE for v in valeurs], index=zones.index)
    absent = nombres.isna() & ~secret
    zero = nombres.eq(0)
    handles = []
    for i, couleur in enumerate(couleurs):
        dans = nombres.gt(0) & nombres.ge(limites[i]) & nombres.lt(limites[i + 1])
        if i == 0:
            dans = nombres.gt(0) & nombres.lt(limites[1])
        if dans.any():
            zones[dans.to_numpy()].plot(ax=ax, color=couleur, edgecolor="white", linewidth=0.3)
        bas, haut = limites[i], limites[i + 1]
        libelle = (f"moins de {format_borne(haut)}" if i == 0 else f"{format_borne(bas)} et plus" if math.isinf(haut)
                   else f"{format_borne(bas)} à moins de {format_borne(haut)}")
        handles.append(_patch(couleur, libelle))
    if zero.any():
        zones[zero.to_numpy()].plot(ax=ax, color=GRIS_VIDE, edgecolor="white", linewidth=0.3)
        handles.insert(0, _patch(GRIS_VIDE, "aucun"))
    if secret.any():
        zones[secret.to_numpy()].plot(ax=ax, color=GRIS_SECRET, edgecolor="#aaaaaa", linewidth=0.3, hatch="////")
        handles.append(_patch(GRIS_SECRET, "s : secret statistique", "////"))
    if absent.any():
        zones[absent.to_numpy()].plot(ax=ax, color="white", edgecolor="#bbbbbb", linewidth=0.3)
        handles.append(_patch("white", "non renseigné"))
    _habiller(ax, fond, etiquettes_communes=fond.communes["nom"] if etiquettes else None)
    return _conclure(fig, ax, handles + _qpv_legende(fond), titre, source, chemin)


def carte_categories(fond: Fond, zones, categories: pd.Series, couleurs: dict[str, str], titre: str, source: str,
                     chemin: Path, absent: str = "non publié (moins de 11 ménages enquêtés, secret, ou sans enquête)"
                     ) -> Path:
    """A map of categories (``couleurs``: category → colour, in legend order); other zones « absent »."""
    fig, ax = _figure()
    handles = []
    for categorie, couleur in couleurs.items():
        dans = categories.astype(object).eq(categorie).to_numpy()
        if dans.any():
            zones[dans].plot(ax=ax, color=couleur, edgecolor="white", linewidth=0.3)
        handles.append(_patch(couleur, categorie))
    reste = ~categories.astype(object).isin(list(couleurs)).to_numpy()
    if reste.any():
        zones[reste].plot(ax=ax, color="white", edgecolor="#bbbbbb", linewidth=0.3, hatch="....")
        handles.append(_patch("white", absent, "...."))
    _habiller(ax, fond)
    return _conclure(fig, ax, handles + _qpv_legende(fond), titre, source, chemin)


def carte_symboles(fond: Fond, zones, valeurs: pd.Series, titre: str, source: str, chemin: Path,
                   format_valeur: Callable[[float], str] = fr_entier) -> Path:
    """Proportional circles at the zones (areas ∝ values); masked zones marked « s »."""
    from matplotlib.lines import Line2D

    fig, ax = _figure()
    fond.communes.plot(ax=ax, color="#fafafa", edgecolor="none")
    nombres = [None if (v is MASQUE or manquant(v)) else float(v) for v in valeurs]
    maximum = max([n for n in nombres if n] or [1.0])
    points = zones.geometry.representative_point()
    for point, nombre, valeur in zip(points, nombres, valeurs):
        if valeur is MASQUE:
            ax.annotate("s", (point.x, point.y), ha="center", va="center", fontsize=6, color="#555555")
        elif nombre:
            ax.scatter([point.x], [point.y], s=12 + 500 * nombre / maximum, color="#1f4e79", alpha=0.55,
                       edgecolor="white", linewidth=0.5, zorder=3)
    _habiller(ax, fond, etiquettes_communes=fond.communes["nom"])
    exemples = sorted({maximum, maximum / 4, maximum / 16})
    handles = [Line2D([0], [0], marker="o", linestyle="", markersize=math.sqrt(12 + 500 * e / maximum),
                      markerfacecolor="#1f4e79", alpha=0.55, markeredgecolor="white", label=format_valeur(e))
               for e in exemples]
    return _conclure(fig, ax, handles + _qpv_legende(fond), titre, source, chemin)


def carte_situation(fond: Fond, code_qpv: str, chemin: Path, source: str) -> Path:
    """Where a QPV lies: the EPCI's communes, the QPV's commune shaded, the QPV in red."""
    fig, ax = _figure(4.2, 3.8)
    fond.communes.plot(ax=ax, color="#fafafa", edgecolor=GRIS_CONTOURS, linewidth=0.4)
    if fond.qpv is not None:
        qpv = fond.qpv[fond.qpv["code"].astype(str).eq(code_qpv)]
        autres = fond.qpv[~fond.qpv["code"].astype(str).eq(code_qpv)]
        autres.plot(ax=ax, color="#f4c7c3", edgecolor="none")
        if not qpv.empty:
            hote = fond.communes[fond.communes.intersects(qpv.geometry.iloc[0].representative_point())]
            hote.plot(ax=ax, color="#dbe7f3", edgecolor=GRIS_CONTOURS, linewidth=0.4)
            qpv.plot(ax=ax, color=ROUGE_QPV, edgecolor=ROUGE_QPV)
    handles = [_patch("#dbe7f3", "commune du quartier"), _patch(ROUGE_QPV, "le quartier"),
               _patch("#f4c7c3", "autres QPV")]
    return _conclure(fig, ax, handles, "Situation", source, chemin)
