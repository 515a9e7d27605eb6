"""Geography: commune contours in any CRS and with the usual field names, to Lambert-93 and COG.

Known field names (data-contract.md, "Geography"): IGN/Admin Express ``INSEE_COM``/``NOM`` or
``code``/``nom``. Communes older than the current COG are re-coded with the communes referential
(``code_actuel``: 21213 Crimolois → 21452 Neuilly-Crimolois) and dissolved (:func:`read_communes`);
:func:`read_contours` gives the polygons before dissolution, with the file's own codes.
"""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import pandas as pd

from pipeline.settings import DBT_PROJECT_DIR
from pipeline.sources.extract import ExtractError

LAMBERT_93 = "EPSG:2154"
CODE_FIELDS = ("INSEE_COM", "code_insee", "CODE_INSEE", "insee", "code", "CODE")
NAME_FIELDS = ("NOM", "nom", "NOM_COM", "nom_com", "libelle", "LIBELLE")
COMMUNE_FILES = ("communes.geojson", "communes.gpkg", "communes.shp")


def find_communes_file(geo_dir: Path) -> Path:
    """The commune contour file of a ``geo/`` folder."""
    for name in COMMUNE_FILES:
        if (geo_dir / name).exists():
            return geo_dir / name
    raise ExtractError(
        f"{geo_dir}: pas de contours de communes. Attendu : un des fichiers {', '.join(COMMUNE_FILES)}."
    )


def code_actuel(referentiel: Path | None = None) -> dict[str, tuple[str, str]]:
    """Every commune code of the referential → (current code, current name)."""
    referentiel = referentiel or DBT_PROJECT_DIR / "seeds" / "ref_communes.csv"
    with referentiel.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    names = {r["code_insee"]: r["nom"] for r in rows if not r["date_fin"]}
    return {r["code_insee"]: (r["code_actuel"], names.get(r["code_actuel"], r["nom"])) for r in rows}


def read_contours(path: Path, epci_codes: dict[str, tuple[str, str]] | None = None) -> gpd.GeoDataFrame:
    """The commune polygons of a contour file that belong to the EPCI, in Lambert-93, not dissolved.

    Columns: ``CODE_COG`` and ``NOM_COG`` (code and name as the file has them, e.g. 21213 Crimolois
    in a file older than 2019), ``CODE_INSEE`` and ``NOM`` (current code and name), ``FICTIF`` (the
    file's field, false when it has none), ``geometry``. Communes outside the referential are left
    out (a contour file may cover a whole département).
    """
    epci_codes = epci_codes or code_actuel()
    try:
        frame = gpd.read_file(path)
    except Exception as err:  # pyogrio raises several types for unreadable files
        raise ExtractError(f"{path.name}: contours illisibles ({err}). Attendu : GeoJSON, GeoPackage ou Shapefile.") from err
    code_field = next((f for f in CODE_FIELDS if f in frame.columns), None)
    if code_field is None:
        raise ExtractError(
            f"{path.name}: pas de colonne de code commune. Colonnes attendues : une de {', '.join(CODE_FIELDS)} ; "
            f"lues : {', '.join(map(str, frame.columns))}."
        )
    if frame.crs is None:
        raise ExtractError(f"{path.name}: système de coordonnées absent. Attendu : un CRS déclaré (EPSG).")
    frame = frame.to_crs(LAMBERT_93)
    codes = frame[code_field].astype(str).str.zfill(5)
    frame = frame.assign(CODE_COG=codes)[codes.isin(list(epci_codes))].copy()
    name_field = next((f for f in NAME_FIELDS if f in frame.columns), None)
    current = frame["CODE_COG"].map(epci_codes)
    frame["NOM_COG"] = frame[name_field].astype(str) if name_field else current.str[1]
    frame["CODE_INSEE"] = current.str[0]
    frame["NOM"] = current.str[1]
    frame["FICTIF"] = frame["FICTIF"].astype(bool) if "FICTIF" in frame.columns else pd.Series(False, index=frame.index)
    return frame[["CODE_COG", "NOM_COG", "CODE_INSEE", "NOM", "FICTIF", "geometry"]].reset_index(drop=True)


def dissolve_contours(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Polygons of :func:`read_contours` dissolved on the current code, one per commune, by code.

    Columns: ``CODE_INSEE``, ``NOM``, ``FICTIF`` (true for synthetic contours), ``geometry``.
    """
    dissolved = frame[["CODE_INSEE", "NOM", "FICTIF", "geometry"]].dissolve(
        by="CODE_INSEE", aggfunc={"NOM": "first", "FICTIF": "max"}
    ).reset_index()
    dissolved["geometry"] = dissolved.geometry.make_valid()
    return dissolved.sort_values("CODE_INSEE").reset_index(drop=True)


def read_communes(path: Path, epci_codes: dict[str, tuple[str, str]] | None = None) -> gpd.GeoDataFrame:
    """Commune contours of the EPCI, in Lambert-93, on the current COG, one polygon per commune.

    Columns: ``CODE_INSEE``, ``NOM``, ``FICTIF``, ``geometry`` (:func:`dissolve_contours`).
    """
    return dissolve_contours(read_contours(path, epci_codes))
