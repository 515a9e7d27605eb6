"""The demo territory: a fictitious Dijon métropole (geography and the figures it is shaped on).

Positions are the project's own rough approximations of each commune's centre (WGS84), good enough
to place the communes at their real relative positions; the polygons built from them are Voronoi
cells, visibly not the real contours, and every geographic file written from them says
``FICTIF = true``. Nothing here is an official figure unless a comment gives its source.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from pipeline.settings import DBT_PROJECT_DIR

#: Approximate centres (lat, lon) — the project's own approximations, not surveyed coordinates.
CENTRES: dict[str, tuple[float, float]] = {
    "21003": (47.369, 5.021), "21105": (47.307, 5.183), "21106": (47.240, 5.108),
    "21166": (47.292, 5.007), "21171": (47.301, 5.135), "21192": (47.301, 4.941),
    "21223": (47.350, 4.999), "21231": (47.322, 5.041), "21263": (47.237, 5.060),
    "21270": (47.290, 4.937), "21278": (47.343, 5.021), "21315": (47.366, 4.994),
    "21355": (47.288, 5.064), "21370": (47.284, 5.174), "21390": (47.272, 4.988),
    "21452": (47.270, 5.120), "21473": (47.262, 5.074), "21481": (47.265, 5.007),
    "21485": (47.338, 4.967), "21515": (47.314, 5.106), "21540": (47.333, 5.085),
    "21605": (47.290, 5.103), "21617": (47.338, 5.006),
}

#: Demo parc of 1 January 2021 per commune (demo values). The total, 27 008 dwellings, is the
#: figure of the CIA (2022); the split between communes is the demo's own.
PARC_2021: dict[str, int] = {
    "21231": 16105, "21166": 3300, "21617": 1650, "21355": 1550, "21515": 1250,
    "21171": 800, "21540": 650, "21278": 620, "21390": 400, "21485": 180, "21605": 100,
    "21473": 90, "21452": 80, "21481": 60, "21223": 50, "21003": 40, "21315": 25,
    "21106": 20, "21263": 15, "21370": 12, "21105": 10, "21192": 1, "21270": 0,
}

#: The five QPV with fictitious demo codes (the official codes are not known here: see
#: data-contract.md). Dwellings per QPV in 2021: demo split of the CIA's 7 532.
QPV_DEMO: dict[str, dict] = {
    "QPDEMO01": {"nom": "Le Mail (fictif)", "code_insee": "21166", "logements_2021": 2050, "anru": True},
    "QPDEMO02": {"nom": "Fontaine d'Ouche (fictif)", "code_insee": "21231", "logements_2021": 2300, "anru": True},
    "QPDEMO03": {"nom": "Les Grésilles (fictif)", "code_insee": "21231", "logements_2021": 1900, "anru": False},
    "QPDEMO04": {"nom": "Le Bief du Moulin (fictif)", "code_insee": "21355", "logements_2021": 582, "anru": False},
    "QPDEMO05": {"nom": "Le Belvédère (fictif)", "code_insee": "21617", "logements_2021": 700, "anru": False},
}

#: Offsets (m, Lambert-93) of each demo QPV from its commune centre, so QPV sit inside the commune.
QPV_OFFSETS: dict[str, tuple[float, float]] = {
    "QPDEMO01": (-300.0, -200.0), "QPDEMO02": (-1500.0, -900.0), "QPDEMO03": (900.0, 1100.0),
    "QPDEMO04": (200.0, 300.0), "QPDEMO05": (-200.0, 100.0),
}

_TO_L93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)


@dataclass(frozen=True)
class Commune:
    """One commune of the communes referential (dbt seed ``ref_communes``)."""

    code_insee: str
    nom: str
    epci_siren: str
    sru: bool


def communes_actuelles(seed: Path | None = None) -> list[Commune]:
    """The current communes of the EPCI, read from the referential seed (one source of truth)."""
    seed = seed or DBT_PROJECT_DIR / "seeds" / "ref_communes.csv"
    with seed.open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if not r["date_fin"]]
    return [Commune(r["code_insee"], r["nom"], r["epci_siren"], r["sru"] == "true") for r in rows]


def centres_l93() -> dict[str, tuple[float, float]]:
    """Commune centres in Lambert-93 (EPSG:2154), rounded to the metre."""
    out = {}
    for code, (lat, lon) in CENTRES.items():
        x, y = _TO_L93.transform(lon, lat)
        out[code] = (round(x), round(y))
    return out


def communes_fictives() -> gpd.GeoDataFrame:
    """Fictitious commune polygons (Voronoi cells around the centres, clipped to a rounded hull)."""
    communes = communes_actuelles()
    centres = centres_l93()
    points = shapely.MultiPoint([centres[c.code_insee] for c in communes])
    hull = points.convex_hull.buffer(2500, quad_segs=8)
    cells = shapely.voronoi_polygons(points, extend_to=hull)
    geoms = []
    for commune in communes:
        point = shapely.Point(centres[commune.code_insee])
        cell = next(g for g in cells.geoms if g.contains(point))
        geoms.append(shapely.set_precision(cell.intersection(hull), 1.0))
    return gpd.GeoDataFrame(
        {
            "INSEE_COM": [c.code_insee for c in communes],
            "NOM": [c.nom for c in communes],
            "FICTIF": [True] * len(communes),
        },
        geometry=geoms,
        crs="EPSG:2154",
    )


def qpv_centres() -> dict[str, tuple[float, float]]:
    """Centre (Lambert-93) of each demo QPV."""
    centres = centres_l93()
    out = {}
    for code, qpv in QPV_DEMO.items():
        cx, cy = centres[qpv["code_insee"]]
        dx, dy = QPV_OFFSETS[code]
        out[code] = (cx + dx, cy + dy)
    return out


def points_in(polygon: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points drawn uniformly inside ``polygon`` (rejection sampling), as an (n, 2) array."""
    minx, miny, maxx, maxy = polygon.bounds
    shapely.prepare(polygon)
    found: list[np.ndarray] = []
    missing = n
    while missing > 0:
        batch = max(16, int(missing * 1.6))
        xs = rng.uniform(minx, maxx, batch)
        ys = rng.uniform(miny, maxy, batch)
        inside = shapely.contains_xy(polygon, xs, ys)
        pts = np.column_stack([xs[inside], ys[inside]])[:missing]
        found.append(pts)
        missing -= len(pts)
    return np.vstack(found) if found else np.empty((0, 2))
