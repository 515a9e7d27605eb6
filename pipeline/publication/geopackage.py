"""The GeoPackage of a publication, for the partners' GIS teams (QGIS): one layer per geography —
``communes``, ``iris``, ``qpv`` — carrying the published indicators of that geography, after the
disclosure rule (a masked figure is NULL and the table's ``<code>_secret`` field is 1).

A published table gives fields to a layer when it has the layer's dimension. Its rows of the
publication year are taken where that dimension holds a unit (not ``TOTAL``, not ``HORS_QPV``) and every
other additive dimension holds ``TOTAL`` (the IRIS layer keeps the IRIS's commune); a dimension that is
not additive (``mesure``, ``statistique``) spreads into one field per value. A field is named
``<code>_<colonne>`` or ``<code>_<valeur>_<colonne>``. Tables describing finer units than the layer
(résidences) give no field. Geometries are the contours of the year (Lambert-93, EPSG:2154).
docs/indicateurs.md lists the layers and their fields.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import geopandas as gpd
import pandas as pd
import shapely

from pipeline.publication.catalogue import DIMENSIONS_FINES
from pipeline.publication.tables import Preparation, TablePubliee
from pipeline.publication.tampon import Tampon
from pipeline.warehouse import tables_of_schema

TOTAL = "TOTAL"
HORS_QPV = "HORS_QPV"
#: layer → (contour mart, its code column, the dimension of the tables)
COUCHES = {
    "communes": ("geo_communes", "code_insee", "commune"),
    "iris": ("geo_iris", "iris", "iris"),
    "qpv": ("geo_qpv", "code_qpv", "qpv"),
}
#: dimensions a layer's rows may hold any value of (the IRIS's commune)
PARENTS = {"iris": {"commune"}}
#: figure columns given to the layers (the others — a share's numerator… — stay in the CSV)
CHIFFRES_COUCHE = {
    "objectif": ("valeur", "cible", "ecart", "numerateur", "denominateur"),
    "fragilite": ("classe", "nb_criteres", "c1", "c2", "c3", "nb_menages"),
}
CHIFFRES_DEFAUT = ("valeur", "numerateur", "denominateur")
#: figure columns that hold text
TEXTES = frozenset({"classe"})


def _nom(*parties: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", "_".join(parties).lower()).strip("_")


def champs_de_table(table: TablePubliee, dimension: str, annee: int) -> pd.DataFrame | None:
    """The fields ``table`` gives the layer of ``dimension``: one row per unit (index = its code)."""
    indicateur, frame = table.indicateur, table.donnees
    if dimension not in indicateur.dimensions:
        return None
    frame = frame[frame["annee"].eq(annee)]
    garder = ~frame[dimension].astype("string").isin([TOTAL, HORS_QPV]).fillna(True)
    etaler = []
    for autre in indicateur.dimensions:
        if autre == dimension or autre in PARENTS.get(dimension, set()):
            continue
        additive = table.donnees[autre].astype("string").eq(TOTAL).any()
        if additive:
            garder &= frame[autre].astype("string").eq(TOTAL).fillna(False)
        elif autre in DIMENSIONS_FINES:
            return None  # a finer unit than the layer's
        else:
            etaler.append(autre)
    frame = frame[garder]
    if frame.empty:
        return None
    colonnes = [c for c in CHIFFRES_COUCHE.get(indicateur.famille, CHIFFRES_DEFAUT)
                if c in frame and not (frame[c].isna() & ~frame["secret"]).all()]
    cles = [dimension, *etaler]
    if frame.duplicated(cles).any():
        return None
    champs = {}
    for valeurs, groupe in frame.groupby(etaler, dropna=False, sort=True) if etaler else [((), frame)]:
        valeurs = valeurs if isinstance(valeurs, tuple) else (valeurs,)
        groupe = groupe.set_index(dimension)
        for colonne in colonnes:
            serie = groupe[colonne] if colonne in TEXTES else pd.to_numeric(groupe[colonne], errors="coerce")
            champs[_nom(indicateur.code, *map(str, valeurs), colonne)] = serie
    resultat = pd.DataFrame(champs)
    resultat[_nom(indicateur.code, "secret")] = frame.groupby(dimension)["secret"].any().astype(int)
    return resultat


def _contours(conn: duckdb.DuckDBPyConnection, mart: str, code: str, annee: int) -> gpd.GeoDataFrame | None:
    if mart not in tables_of_schema(conn, "marts"):
        return None
    frame = conn.execute(f'select "{code}" as code, nom, fictif, geometry_wkb from marts.{mart} where annee = ?',
                         [annee]).df()
    if frame.empty:
        return None
    geometrie = shapely.from_wkb(frame.pop("geometry_wkb").map(bytes).to_numpy())
    return gpd.GeoDataFrame(frame.astype({"code": str}), geometry=geometrie, crs="EPSG:2154")


def ecrire_geopackage(conn: duckdb.DuckDBPyConnection, preparation: Preparation, tampon: Tampon,
                      chemin: Path) -> Path | None:
    """Write the layers of the year that have contours; None when no geography was ingested."""
    ecrites = 0
    description = " · ".join([*tampon.mentions, f"Indicateurs publiés {tampon.annee} (secret statistique appliqué)"
                              if preparation.audit is not None else f"Indicateurs {tampon.annee}",
                              f"run {tampon.run_id}", f"code {tampon.code_version}", tampon.date])
    for couche, (mart, code, dimension) in COUCHES.items():
        contours = _contours(conn, mart, code, tampon.annee)
        if contours is None:
            continue
        couche_frame = contours.set_index("code")
        for table in preparation.tables:
            champs = champs_de_table(table, dimension, tampon.annee)
            if champs is not None:
                couche_frame = couche_frame.join(champs, how="left")
        couche_frame = couche_frame.reset_index()
        secret = [c for c in couche_frame.columns if c.endswith("_secret")]
        couche_frame[secret] = couche_frame[secret].fillna(0).astype(int)
        couche_frame.to_file(chemin, layer=couche, driver="GPKG", layer_options={"DESCRIPTION": description})
        ecrites += 1
    return chemin if ecrites else None
