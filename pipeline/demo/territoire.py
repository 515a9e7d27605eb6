"""The demo territory: Dijon métropole's real commune outlines, fictitious IRIS, QPV and figures.

The **communes are real**: the 24 polygons of IGN Admin Express COG 2018 the project carries in
``contours/`` (Licence Ouverte, via the france-geojson project: ``contours/SOURCE.md``), Crimolois
(21213) apart as in any contour file older than 2019. The demo writes them as ``geo/communes.geojson``
with ``FICTIF = false`` and their ``SOURCE``; the ingestion re-codes and dissolves them into the 23
communes of the current COG, like a user's file.

Everything else is fictitious. :func:`geographie` builds inside the real communes ~113 fictitious
IRIS (Voronoi cells of seeds drawn inside each commune, about one per 265 dwellings; a commune with
one IRIS gets the code ``<INSEE>0000``) and the five demo QPV (irregular blobs around
:func:`qpv_centres`, clipped to their commune), written with ``FICTIF = true``. When ``geo/`` already
holds the user's own commune contours (a file without the ``FICTIF`` field), the IRIS and QPV are
built inside those instead, and :func:`ecrire_geographie` never overwrites them. Town centres and
QPV positions are the project's own approximations; nothing here is an official figure unless a
comment gives its source. Everything is in Lambert-93 and deterministic (the geography does not
depend on the RPLS seed).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
import shapely.ops
from pyproj import Transformer

from pipeline.settings import DBT_PROJECT_DIR
from pipeline.sources.extract import ExtractError
from pipeline.sources.geo import LAMBERT_93, dissolve_contours, find_communes_file, read_contours

#: The real commune outlines the demo carries (24 polygons, COG 2018; origin and licence in
#: ``contours/SOURCE.md``).
CONTOURS_REELS = Path(__file__).with_name("contours") / "dijon_metropole_communes_cog2018.geojson"
#: The ``SOURCE`` property of the demo's communes file (the attribution the licence asks for).
SOURCE_CONTOURS = "IGN Admin Express COG 2018, via france-geojson (Licence Ouverte)"

#: Approximate town centres (lat, lon) — the project's own approximations, not surveyed coordinates:
#: they place the demo QPV and draw the IRIS (and the dwellings) towards the centre of each commune.
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


def fichier_communes(contours: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The demo's ``geo/communes`` layer: the polygons of :func:`~pipeline.sources.geo.read_contours`
    with the file's own codes and names (COG 2018: Crimolois apart), ``FICTIF`` false (real
    outlines) and their ``SOURCE``, in Lambert-93, by code."""
    frame = gpd.GeoDataFrame(
        {"INSEE_COM": contours["CODE_COG"], "NOM": contours["NOM_COG"], "FICTIF": False,
         "SOURCE": SOURCE_CONTOURS},
        geometry=contours.geometry.to_numpy(), crs=contours.crs,
    )
    return frame.sort_values("INSEE_COM").reset_index(drop=True)


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

#: Dwellings per IRIS the demo aims at when it cuts a commune into IRIS (demo value: Dijon's
#: 16 105 dwellings of 2021 give about 60 IRIS, about 115 over the métropole).
LOGEMENTS_PAR_IRIS = 265
#: Decimal digits of the Lambert-93 coordinates written in the GeoJSON files (metres).
COORDINATE_PRECISION = 1
#: Seed of the geography: it does not depend on the RPLS seed (one geography, many parcs).
GRAINE_GEOGRAPHIE = 2154
#: Crimolois (21213), merged into Neuilly-Crimolois (21452) on 2019-01-01: its dwellings carry 21213 in
#: the RPLS up to 2018. Its real polygon, when the contours have it (COG older than 2019), is
#: :attr:`Geographie.ancienne_commune`.
ANCIENNE_COMMUNE = {"code": "21213", "nom": "Crimolois", "commune_nouvelle": "21452", "fin": 2018}

GEO_FILES = ("communes", "iris", "qpv")


@dataclass(frozen=True, eq=False)
class Geographie:
    """The demo geography, in Lambert-93 (EPSG:2154).

    - ``communes``: the 23 current communes, ``INSEE_COM``, ``NOM``, ``FICTIF`` (false: real
      outlines, the demo's or the user's);
    - ``iris``: ``CODE_IRIS``, ``NOM_IRIS``, ``INSEE_COM``, ``FICTIF`` (always fictitious);
    - ``qpv``: ``code_qp``, ``lib_qp``, ``INSEE_COM``, ``FICTIF`` (always fictitious, codes QPDEMO0x);
    - ``ancienne_commune``: the real polygon of Crimolois (21213) when the contours have it;
    - ``fichier_communes``: the layer the demo writes as ``geo/communes`` (:func:`fichier_communes`),
      ``None`` when the communes are the user's own file (never rewritten).
    """

    communes: gpd.GeoDataFrame
    iris: gpd.GeoDataFrame
    qpv: gpd.GeoDataFrame
    ancienne_commune: shapely.Geometry | None = None
    fichier_communes: gpd.GeoDataFrame | None = None

    def commune(self, code: str) -> shapely.Geometry:
        return self.communes.geometry[self.communes["INSEE_COM"] == code].iloc[0]

    def zone_ancienne_commune(self) -> shapely.Geometry:
        """The part of Neuilly-Crimolois that was the commune Crimolois (21213) before 2019.

        The real polygon of Crimolois when the contours have it; otherwise (contours of the current
        COG only) a demo rule: the part of the commune east of its centroid (Crimolois lies east of
        Neuilly-lès-Dijon).
        """
        poly = self.commune(ANCIENNE_COMMUNE["commune_nouvelle"])
        if self.ancienne_commune is not None:
            return _polygonal(poly.intersection(self.ancienne_commune))
        cx = shapely.centroid(poly).x
        minx, miny, maxx, maxy = poly.bounds
        return poly.intersection(shapely.box(cx, miny - 1, maxx + 1, maxy + 1))


def nombre_iris(code_insee: str) -> int:
    """IRIS of a commune in the demo: one per ~265 dwellings of 2021, at least one."""
    return max(1, round(PARC_2021.get(code_insee, 0) / LOGEMENTS_PAR_IRIS))


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a geometry (a clipped Voronoi cell may carry slivers of lines)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
    if not parts:
        return shapely.Polygon()
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def _plus_grande_partie(geom: shapely.Geometry) -> shapely.Geometry:
    parts = shapely.get_parts(geom)
    return max(parts, key=lambda p: p.area) if len(parts) else geom


def _qpv_polygone(index: int, code: str, commune: shapely.Geometry) -> shapely.Geometry:
    """A blob around the demo QPV centre, clipped to (a 5 m inner buffer of) its commune."""
    centre = shapely.Point(qpv_centres()[code])
    interieur = commune.buffer(-400)
    if not interieur.contains(centre):  # real contours: keep the blob well inside the commune
        interieur = interieur if not interieur.is_empty else commune
        centre = shapely.ops.nearest_points(interieur, centre)[0]
    rng = np.random.default_rng([GRAINE_GEOGRAPHIE, index])
    rayon = 260 + 0.11 * QPV_DEMO[code]["logements_2021"]
    phases = rng.uniform(0, 2 * np.pi, 3)
    theta = np.linspace(0, 2 * np.pi, 72, endpoint=False)
    r = rayon * (1 + 0.18 * np.sin(2 * theta + phases[0]) + 0.10 * np.sin(3 * theta + phases[1])
                 + 0.05 * np.sin(5 * theta + phases[2]))
    blob = shapely.Polygon(np.column_stack([centre.x + r * np.cos(theta), centre.y + r * np.sin(theta)]))
    clipped = _plus_grande_partie(_polygonal(blob.intersection(commune.buffer(-5))))
    return shapely.set_precision(clipped, 1.0)


def _germes(zone: shapely.Geometry, n: int, centre: tuple[float, float], rng: np.random.Generator,
            concentre: bool) -> list[tuple[float, float]]:
    """``n`` IRIS seeds in ``zone``, kept apart from each other, denser near ``centre`` if asked."""
    if n <= 0 or zone.is_empty:
        return []
    candidats = points_in(zone, 40 * n, rng)
    if concentre:
        sigma = 0.35 * np.sqrt(zone.area)
        proches = np.column_stack([rng.normal(centre[0], sigma, 60 * n), rng.normal(centre[1], sigma, 60 * n)])
        proches = proches[shapely.contains_xy(zone, proches[:, 0], proches[:, 1])][: 20 * n]
        # interleave: half of the candidates near the centre, half uniform
        mix = np.empty((len(proches) + len(candidats), 2))
        k = min(len(proches), len(candidats))
        mix[: 2 * k : 2], mix[1 : 2 * k : 2] = proches[:k], candidats[:k]
        mix[2 * k :] = np.vstack([proches[k:], candidats[k:]])
        candidats = mix
    distance = 0.55 * np.sqrt(zone.area / n)
    for _ in range(8):
        gardes: list[tuple[float, float]] = []
        for x, y in candidats:
            if all((x - a) ** 2 + (y - b) ** 2 >= distance ** 2 for a, b in gardes):
                gardes.append((float(x), float(y)))
                if len(gardes) == n:
                    return gardes
        distance *= 0.75
    return gardes + [tuple(map(float, p)) for p in candidats[: n - len(gardes)]]


def _iris_commune(code: str, nom: str, commune: shapely.Geometry, qpv: gpd.GeoDataFrame,
                  centre: tuple[float, float]) -> list[dict]:
    """The fictitious IRIS of one commune (Voronoi cells of seeds drawn inside it)."""
    n = nombre_iris(code)
    if n == 1:
        return [{"CODE_IRIS": f"{code}0000", "NOM_IRIS": nom, "INSEE_COM": code, "geometry": commune}]
    rng = np.random.default_rng([GRAINE_GEOGRAPHIE, int(code)])
    parc = max(PARC_2021.get(code, 0), 1)
    germes: list[tuple[float, float]] = []
    etiquettes: list[str | None] = []
    ailleurs = commune
    for row in qpv[qpv["INSEE_COM"] == code].itertuples():
        k = max(1, round(n * QPV_DEMO.get(row.code_qp, {}).get("logements_2021", 0) / parc * 0.8))
        k = min(k, n - 1 - len(germes))
        pts = _germes(row.geometry.buffer(-30), k, centre, rng, concentre=False)
        germes += pts
        etiquettes += [row.lib_qp.replace(" (fictif)", "")] * len(pts)
        ailleurs = ailleurs.difference(row.geometry.buffer(60))
    pts = _germes(ailleurs, n - len(germes), centre, rng, concentre=True)
    germes += pts
    etiquettes += [None] * len(pts)
    # IRIS codes follow a north-to-south, west-to-east reading of the seeds (serpentine bands).
    ys = np.array([p[1] for p in germes])
    xs = np.array([p[0] for p in germes])
    bandes = max(1, round(np.sqrt(len(germes))))
    bande = np.minimum(((ys.max() - ys) / (np.ptp(ys) + 1) * bandes).astype(int), bandes - 1)
    cle = np.where(bande % 2 == 0, xs, -xs)
    ordre = np.lexsort((cle, bande))
    cells = shapely.voronoi_polygons(shapely.MultiPoint(germes), extend_to=commune, ordered=True)
    cells = list(shapely.get_parts(cells))
    out = []
    numero_qpv: dict[str, int] = {}
    for rang, i in enumerate(ordre):
        code4 = f"{rang // 10 + 1:02d}{rang % 10 + 1:02d}"
        geom = shapely.set_precision(_polygonal(cells[i].intersection(commune)), 1.0)
        if etiquettes[i]:
            numero_qpv[etiquettes[i]] = numero_qpv.get(etiquettes[i], 0) + 1
            nom_iris = f"{etiquettes[i]} {numero_qpv[etiquettes[i]]} (fictif)"
        else:
            nom_iris = f"{nom} {code4} (fictif)"
        out.append({"CODE_IRIS": f"{code}{code4}", "NOM_IRIS": nom_iris, "INSEE_COM": code, "geometry": geom})
    return sorted(out, key=lambda r: r["CODE_IRIS"])


def geographie_de(communes: gpd.GeoDataFrame, ancienne_commune: shapely.Geometry | None = None,
                  fichier: gpd.GeoDataFrame | None = None) -> Geographie:
    """Fictitious IRIS and QPV built inside ``communes`` (the current communes, one polygon each).

    ``communes`` needs ``INSEE_COM`` (or ``CODE_INSEE``), ``NOM`` and optionally ``FICTIF``;
    ``ancienne_commune`` and ``fichier`` are passed on to the :class:`Geographie`.
    """
    communes = communes.to_crs(LAMBERT_93).rename(columns={"CODE_INSEE": "INSEE_COM"})
    if "FICTIF" not in communes.columns:
        communes = communes.assign(FICTIF=False)
    communes = communes[["INSEE_COM", "NOM", "FICTIF", "geometry"]].copy()
    communes["FICTIF"] = communes["FICTIF"].astype(bool)
    manquantes = sorted(set(PARC_2021) - set(communes["INSEE_COM"]))
    if manquantes:
        raise ValueError(f"contours de communes incomplets : il manque {', '.join(manquantes)}")
    communes = communes[communes["INSEE_COM"].isin(list(PARC_2021))].sort_values("INSEE_COM").reset_index(drop=True)
    travail = {c: shapely.set_precision(shapely.make_valid(g), 1.0)
               for c, g in zip(communes["INSEE_COM"], communes.geometry)}

    qpv_rows = []
    for index, (code, q) in enumerate(QPV_DEMO.items()):
        qpv_rows.append({"code_qp": code, "lib_qp": q["nom"], "INSEE_COM": q["code_insee"],
                         "geometry": _qpv_polygone(index, code, travail[q["code_insee"]])})
    qpv = gpd.GeoDataFrame(qpv_rows, geometry="geometry", crs=LAMBERT_93)
    qpv["FICTIF"] = True
    qpv = qpv[["code_qp", "lib_qp", "INSEE_COM", "FICTIF", "geometry"]]

    centres = centres_l93()
    iris_rows = []
    for code, nom in zip(communes["INSEE_COM"], communes["NOM"]):
        poly = travail[code]
        centre = centres.get(code)
        if centre is None or not poly.contains(shapely.Point(centre)):
            p = poly.representative_point()
            centre = (p.x, p.y)
        iris_rows += _iris_commune(code, nom, poly, qpv, centre)
    iris = gpd.GeoDataFrame(iris_rows, geometry="geometry", crs=LAMBERT_93)
    iris["FICTIF"] = True
    iris = iris[["CODE_IRIS", "NOM_IRIS", "INSEE_COM", "FICTIF", "geometry"]]
    return Geographie(communes, iris.reset_index(drop=True), qpv.reset_index(drop=True),
                      ancienne_commune=ancienne_commune, fichier_communes=fichier)


def _a_champ_fictif(path: Path) -> bool:
    """True when a geographic file has a ``FICTIF`` field: the demo wrote it (false on the real
    communes it carries, true on its IRIS and QPV); a file without it is the user's own."""
    return "FICTIF" in list(pyogrio.read_info(path)["fields"])


def geographie(geo_dir: Path | None = None) -> Geographie:
    """The demo geography, inside real commune outlines: the user's, or else those the demo carries.

    A commune file of ``geo_dir`` without the ``FICTIF`` field is the user's own: the IRIS and QPV
    (always fictitious) are built inside it and it is never rewritten. Otherwise the communes are
    the demo's real outlines (:data:`CONTOURS_REELS`), which :func:`ecrire_geographie` writes.
    """
    chemin, fichier_utilisateur = CONTOURS_REELS, False
    if geo_dir is not None and Path(geo_dir).is_dir():
        try:
            path = find_communes_file(Path(geo_dir))
        except ExtractError:
            path = None
        if path is not None and not _a_champ_fictif(path):
            chemin, fichier_utilisateur = path, True
    contours = read_contours(chemin)
    ancienne = contours.geometry[contours["CODE_COG"] == ANCIENNE_COMMUNE["code"]]
    return geographie_de(
        dissolve_contours(contours),
        ancienne_commune=shapely.union_all(ancienne.to_numpy()) if len(ancienne) else None,
        fichier=None if fichier_utilisateur else fichier_communes(contours),
    )


def _fichier_reel(geo_dir: Path, nom: str) -> Path | None:
    for ext in ("geojson", "gpkg", "shp"):
        path = geo_dir / f"{nom}.{ext}"
        if path.exists() and not _a_champ_fictif(path):
            return path
    return None


def ecrire_geographie(geo: Geographie, geo_dir: Path) -> list[Path]:
    """Write ``geo/communes.geojson``, ``iris.geojson`` and ``qpv.geojson`` in Lambert-93.

    The communes are :attr:`Geographie.fichier_communes` (the real outlines the demo carries); a
    geography built inside the user's communes writes none. A user's file already there (no
    ``FICTIF`` field, whatever its format) is never overwritten. Returns the paths written.
    """
    geo_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for nom, frame in zip(GEO_FILES, (geo.fichier_communes, geo.iris, geo.qpv)):
        if frame is None or _fichier_reel(geo_dir, nom) is not None:
            continue
        path = geo_dir / f"{nom}.geojson"
        if path.exists():
            path.unlink()
        frame.to_crs(LAMBERT_93).to_file(path, driver="GeoJSON", COORDINATE_PRECISION=COORDINATE_PRECISION)
        written.append(path)
    return written
