"""Calibration of the demo: each published figure the demo is shaped on, and what the files give.

Every line is computed **from the generated files, read back through the project's own readers**
(:func:`lire`), never from the generator's internal state: the report proves what a newcomer's
pipeline will see. Each generator module contributes its lines through a ``cibles(data_dir)``
function; :func:`rapport` gathers them in a fixed order.

A line with ``tolerance = None`` is *informative*: its published target is inconsistent with other
targets of the same source (the note says why), so no generated value can meet both; it is printed
but not asserted.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.sources.extract import SourceSpec, period_of, read_extract

#: Modules with a ``cibles(data_dir) -> list[Cible]`` function, in report order.
MODULES = (
    "pipeline.demo.rpls",
    "pipeline.demo.demande",
    "pipeline.demo.occupation",
)


@dataclass(frozen=True)
class Cible:
    """One calibration target: the published value, the generated one and the accepted gap."""

    theme: str
    libelle: str
    attendu: float
    obtenu: float
    tolerance: float | None
    unite: str = ""
    source: str = ""
    note: str = ""

    @property
    def ok(self) -> bool | None:
        """Within tolerance (None for an informative line)."""
        if self.tolerance is None:
            return None
        return abs(self.obtenu - self.attendu) <= self.tolerance + 1e-9

    def formate(self, valeur: float) -> str:
        """French formatting of a value in this line's unit."""
        if self.unite == "%":
            return f"{valeur * 100:.1f} %".replace(".", ",")
        if self.unite == "ratio":
            return f"{valeur:.2f}".replace(".", ",")
        return f"{valeur:,.0f}".replace(",", "\u202f")

    def tolerance_texte(self) -> str:
        if self.tolerance is None:
            return "info"
        if self.tolerance == 0:
            return "exact"
        if self.unite == "%":
            return f"± {self.tolerance * 100:.1f} pt".replace(".", ",")
        return f"± {self.formate(self.tolerance)}"


def lire(data_dir: Path, source: str, dossier: str, prefixe: str, annees: set[int] | None = None,
         periodes: set[tuple[int, int]] | None = None) -> pd.DataFrame:
    """Every file ``<dossier>/<prefixe>_<période>.*`` of ``data_dir`` read with the ``source`` reader
    (only the years ``annees``, or the months ``periodes`` as (year, month), when given).

    Adds ``_ANNEE`` and ``_MOIS`` (the period of the file). Raises when a file has a rejected row:
    a calibration on partly read files would prove nothing.
    """
    spec = SourceSpec.load(source)
    frames = []
    for path in sorted((data_dir / dossier).glob(f"{prefixe}_*")):
        annee, mois = period_of(path)
        if annees is not None and annee not in annees:
            continue
        if periodes is not None and (annee, mois) not in periodes:
            continue
        result = read_extract(path, spec)
        if result.rows_rejected:
            first = result.rejets.iloc[0]["message"]
            raise ValueError(f"{path}: {result.rows_rejected} rejected rows, e.g. {first}")
        frame = result.data
        frame["_ANNEE"] = annee
        frame["_MOIS"] = mois
        frames.append(frame)
    if not frames:
        raise FileNotFoundError(f"no {dossier}/{prefixe}_* file in {data_dir}")
    return pd.concat(frames, ignore_index=True)


def rapport(data_dir: Path) -> list[Cible]:
    """All calibration lines for the demo in ``data_dir``."""
    lignes: list[Cible] = []
    for name in MODULES:
        module = importlib.import_module(name)
        lignes.extend(module.cibles(data_dir))
    return lignes


def texte(lignes: list[Cible]) -> str:
    """The report as a fixed-width text table (what ``observatoire demo calibration`` prints)."""
    out = []
    theme = None
    for ligne in lignes:
        if ligne.theme != theme:
            theme = ligne.theme
            out.append(f"\n{theme}")
        statut = {True: "ok", False: "HORS TOLÉRANCE", None: "info"}[ligne.ok]
        out.append(f"  {ligne.libelle:<62} cible {ligne.formate(ligne.attendu):>10}  "
                   f"obtenu {ligne.formate(ligne.obtenu):>10}  {ligne.tolerance_texte():>11}  {statut}")
        if ligne.note:
            out.append(f"      ↳ {ligne.note}")
    n_ok = sum(1 for l in lignes if l.ok)
    n_ko = sum(1 for l in lignes if l.ok is False)
    n_info = sum(1 for l in lignes if l.ok is None)
    out.append(f"\n{len(lignes)} lignes : {n_ok} dans la tolérance, {n_ko} hors tolérance, {n_info} informatives.")
    return "\n".join(out).lstrip("\n")
