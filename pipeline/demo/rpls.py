"""Demo RPLS: one persistent, fictitious stock of dwellings followed across millésimes 2011–2025.

:func:`parc_demo` builds every dwelling that exists at some point between the millésimes 2011 and
2025 — with a stable ``IDENT_LOGT``, the first millésime it appears in (``MILLESIME_ENTREE``; new
construction is let during the year before) and, for the demolished ones, the first millésime it no
longer appears in (``MILLESIME_SORTIE``). :func:`millesime` cuts one millésime out of it (the
dwellings on 1 January, in the contract's column names) and :func:`ecrire_rpls` writes it in an
export layout (``dido`` or ``regional``).

The stock is built résidence by résidence (a bailleur's dwellings of one commune, QPV status and
neighbourhood), so construction years, financing, addresses and positions hang together. Millésime
2021 is shaped on the published figures of the CIA (2022) and of the fichier partagé (see
:func:`cibles`, which checks them on the files read back); every other choice is the demo's own and
says so. Deterministic: the same seed gives the same stock and byte-identical files.
"""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pipeline.demo.calibration import Cible, lire
from pipeline.demo.territoire import (
    ANCIENNE_COMMUNE,
    PARC_2021,
    QPV_DEMO,
    Geographie,
    centres_l93,
    communes_actuelles,
    geographie_de,
)
from pipeline.settings import DBT_PROJECT_DIR
from pipeline.sources.extract import period_of

# --------------------------------------------------------------------------------------------
# Published figures (each with its source) and the demo's own choices
# --------------------------------------------------------------------------------------------

#: Dwellings per bailleur on 1 January 2021 — CIA Dijon métropole 2022 (data-contract.md);
#: AUTRE is the remainder to the CIA's total of 27 008.
BAILLEURS_2021 = {"GDH": 9638, "ORVITIS": 4645, "HABELLIS": 3197, "CDC_HABITAT": 5148, "ICF": 1348}
AUTRE_2021 = sum(PARC_2021.values()) - sum(BAILLEURS_2021.values())
BAILLEURS = list(BAILLEURS_2021) + ["AUTRE"]
ESH = {"HABELLIS", "CDC_HABITAT", "ICF", "AUTRE"}
#: Parc of 1 January 2021 and its QPV part — CIA Dijon métropole 2022.
TOTAL_2021 = 27008
QPV_2021 = 7532
#: The CIA's share of the parc in QPV (30,4 %) — inconsistent with 7 532 / 27 008 = 27,9 %.
PART_QPV_PUBLIEE = 0.304
#: New dwellings per year since 2011 (CIA: about 370 dwellings a year).
CROISSANCE_ANNUELLE = 370
#: Share of the new dwellings built outside QPV (demo choice: ANRU rebuilds outside the QPV).
PART_NEUFS_HORS_QPV = 0.90
#: Demolitions (NPNRU, only in the two ANRU QPV): per year, in the years below (demo choice).
DEMOLITIONS_PAR_AN = (40, 80)
ANNEES_DEMOLITION = range(2012, 2025)
QPV_ANRU = [code for code, q in QPV_DEMO.items() if q["anru"]]

#: Typology targets of the CIA for 2021 (NBPIECE 1–2 and 4–5; whole parc and QPV).
T1T2_PARC, T1T2_QPV, T4T5_PARC, T4T5_QPV = 0.29, 0.25, 0.37, 0.42
#: "Bas loyer" targets of the CIA for 2021: rent per m² below the PLAI ceiling of 2020.
BAS_LOYER_PARC, BAS_LOYER_PART_QPV, BAS_LOYER_QPV, BAS_LOYER_HORS_QPV = 0.37, 0.57, 0.70, 0.23
#: The four bas-loyer targets are only approximately consistent (0,70 × 7 532 + 0,23 × 19 476 =
#: 36,1 % of the parc, and 57 % of the low-rent dwellings in QPV would need 23 % → 20 % outside):
#: the demo aims at the compromise below, within 1,5 point of each.
BAS_LOYER_VISE_QPV, BAS_LOYER_VISE_HORS_QPV = 0.713, 0.219
#: The fichier partagé's "parc" key figure of 06/08/2021 by typology.
TYPOLOGIES_FP_2021 = {"CHAMBRE": 0, "T1": 1567, "T2": 5944, "T3": 8662, "T4": 6104, "T5": 1859, "T6+": 221}
#: The base the demo compares it with (the fichier partagé counts 24 357 dwellings, not the RPLS's
#: 27 008): collective dwellings (TYPECONST C) let or offered for letting (MODE 1 or 2).
BASE_FP = "logements collectifs (TYPECONST C) loués ou proposés à la location (MODE 1–2) du RPLS 2021"

#: Shares of rooms 1..6 (6 = T6+). QPV: 25 % T1–T2, 42 % T4–T5 (CIA). Houses: the demo's own.
PIECES_QPV = np.array([0.04, 0.21, 0.31, 0.30, 0.12, 0.02])
PIECES_INDIVIDUEL = np.array([0.0, 0.02, 0.08, 0.55, 0.33, 0.02])
#: New dwellings after 2021 (demo): smaller than the old stock.
PIECES_NEUF = np.array([0.08, 0.30, 0.36, 0.20, 0.05, 0.01])
#: Houses and student dwellings in the 2021 parc (demo choices, outside QPV).
INDIVIDUELS_2021 = 1900
ETUDIANTS_2021 = 200

#: Bailleurs of each QPV's dwellings (demo: GDH and ORVITIS hold most of the QPV parc).
BAILLEURS_QPV = {
    "QPDEMO01": {"ORVITIS": 0.45, "GDH": 0.35, "HABELLIS": 0.10, "CDC_HABITAT": 0.05, "AUTRE": 0.05},
    "QPDEMO02": {"GDH": 0.55, "ORVITIS": 0.20, "CDC_HABITAT": 0.15, "ICF": 0.05, "HABELLIS": 0.05},
    "QPDEMO03": {"GDH": 0.65, "CDC_HABITAT": 0.15, "ICF": 0.10, "ORVITIS": 0.05, "HABELLIS": 0.05},
    "QPDEMO04": {"ORVITIS": 0.40, "GDH": 0.30, "HABELLIS": 0.20, "CDC_HABITAT": 0.10},
    "QPDEMO05": {"ORVITIS": 0.50, "GDH": 0.30, "HABELLIS": 0.15, "AUTRE": 0.05},
}
#: Initial weights of the bailleurs outside QPV by commune (demo), fitted to the exact totals.
POIDS_HORS_QPV = {
    "21231": {"GDH": 0.46, "ORVITIS": 0.05, "HABELLIS": 0.08, "CDC_HABITAT": 0.24, "ICF": 0.08, "AUTRE": 0.09},
    "21166": {"GDH": 0.20, "ORVITIS": 0.40, "HABELLIS": 0.20, "CDC_HABITAT": 0.10, "ICF": 0.0, "AUTRE": 0.10},
    "21617": {"GDH": 0.30, "ORVITIS": 0.30, "HABELLIS": 0.20, "CDC_HABITAT": 0.10, "ICF": 0.0, "AUTRE": 0.10},
    "21355": {"GDH": 0.20, "ORVITIS": 0.30, "HABELLIS": 0.15, "CDC_HABITAT": 0.10, "ICF": 0.15, "AUTRE": 0.10},
    "21515": {"GDH": 0.15, "ORVITIS": 0.15, "HABELLIS": 0.20, "CDC_HABITAT": 0.40, "ICF": 0.0, "AUTRE": 0.10},
}
POIDS_HORS_QPV_AUTRES = {"GDH": 0.12, "ORVITIS": 0.35, "HABELLIS": 0.30, "CDC_HABITAT": 0.08, "ICF": 0.02, "AUTRE": 0.13}
#: Bailleurs of the new dwellings after 2021 (demo).
BAILLEURS_NEUFS = {"GDH": 0.25, "ORVITIS": 0.15, "HABELLIS": 0.20, "CDC_HABITAT": 0.20, "ICF": 0.05, "AUTRE": 0.15}

#: RPLS `CONTINGENT` codes and demo shares.
CONTINGENTS = np.array([1, 2, 3, 4, 5, 6, 7])
CONTINGENT_PARTS = np.array([0.04, 0.25, 0.20, 0.14, 0.02, 0.02, 0.33])
#: FINAN_CODE by construction period (demo shares; codes of data-contract.md).
FINANCEMENTS = {
    "avant_1977": ([50, 51, 52, 53, 54, 55, 99], [0.03, 0.10, 0.62, 0.10, 0.08, 0.02, 0.05]),
    "1977_1999": ([12, 11, 14, 16, 17, 49], [0.75, 0.08, 0.05, 0.04, 0.03, 0.05]),
    "2000_2010": ([13, 10, 14, 16, 49], [0.60, 0.15, 0.17, 0.04, 0.04]),
    "depuis_2011": ([13, 10, 14], [0.55, 0.30, 0.15]),
}
NON_CONVENTIONNES = (16, 49)
TYPES_VOIE = (["RUE", "AV", "BD", "ALL", "PL", "IMP", "CHE"], [0.50, 0.14, 0.08, 0.14, 0.04, 0.05, 0.05])
#: Street names (fictitious, with accents on purpose: the Latin-1 layout must carry them).
NOMS_VOIE = [
    "DE L'ÉGLISE", "DES ÉCOLES", "DU CHÂTEAU", "DES PRÉS", "DE LA RÉPUBLIQUE", "DES ÉTANGS",
    "DES CHÊNES", "DE LA FORÊT", "DES CÔTEAUX", "DE LA GARE", "DES LILAS", "DU MOULIN", "DES VIGNES",
    "DE LA FONTAINE", "DES ÉRABLES", "DU PÂTIS", "DES TILLEULS", "SAINT-ÉLOI", "DE L'ÉTANG",
    "DES BLÉS", "DU GÉNÉRAL FICTIF", "DES AUBÉPINES", "DE LA CÔTE", "DES FRÊNES",
]
EPCI = "242100410"
#: PLAI rent ceilings (€/m² SU) when the referential seed is unreadable (same values as the seed).
PLAFONDS_PLAI_DEFAUT = {2015: 4.95, 2016: 4.96, 2017: 4.97, 2018: 5.01, 2019: 5.04, 2020: 5.10,
                        2021: 5.12, 2022: 5.17, 2023: 5.35, 2024: 5.53, 2025: 5.61}

#: Columns of :func:`millesime` (the contract's names, pipeline/sources/layouts/rpls/schema.toml).
CONTRACT_COLUMNS = [
    "DEPCOM", "DEPCOM_LIBELLE", "EPCI_CODE", "QPV_CODE", "PLG_QP", "PLG_IRIS", "TYPECONST_CODE",
    "NBPIECE", "SURFHAB", "CONSTRUCT", "LOCAT", "FINAN_CODE", "CONV", "DPEDATE", "DPEENERGIE",
    "DPESERRE", "PMR_CODE", "NUMVOIE", "TYPVOIE", "NOMVOIE", "CODEPOSTAL", "X", "Y", "EPSG",
    "IDENT_LOGT", "BAILLEUR", "LOYERPRINC", "SURFMODE", "MODESURF", "MODE", "CONTINGENT", "RESIDENCE_ID",
]
#: The dido header (millésime ≤ 2024; from 2025 DEPCOM_CODE is DEPCOM). The IRIS codes of the demo
#: geography are vintage 2022 codes, whatever the millésime: the column says so.
DIDO_COLUMNS_2021 = [
    "DEPCOM_CODE", "DEPCOM_LIBELLE", "EPCI_CODE", "QPV_CODE", "PLG_QP", "PLG_IRIS2022_CODE",
    "TYPECONST_CODE", "NBPIECE", "SURFHAB", "CONSTRUCT", "LOCAT", "FINAN_CODE", "CONV", "DPEDATE",
    "DPEENERGIE", "DPESERRE", "PMR_CODE", "NUMVOIE", "TYPVOIE", "NOMVOIE", "CODEPOSTAL", "X", "Y",
    "EPSG",
    # restricted extension (the extract transmitted to the EPCI)
    "IDENT_LOGT", "BAILLEUR", "LOYERPRINC", "SURFMODE", "MODESURF", "MODE", "CONTINGENT",
    "RESIDENCE_ID",
]
#: The regional header (data.gouv regional files, geocoded, with the restricted extension).
REGIONAL_COLUMNS = [
    "DEPCOM", "QPV", "TYPECONST", "NBPIECE", "SURFHAB", "CONSTRUCT", "LOCAT", "FINAN", "CONV",
    "DPEENERGIE", "DPESERRE", "NUMVOIE", "TYPVOIE", "NOMVOIE", "CODEPOSTAL", "X", "Y", "PLG_IRIS",
    "IDENT_LOGT", "BAILLEUR", "LOYERPRINC", "SURFMODE", "MODESURF", "MODE", "CONTINGENT", "RESIDENCE_ID",
]
_REGIONAL_RENAME = {"QPV_CODE": "QPV", "TYPECONST_CODE": "TYPECONST", "FINAN_CODE": "FINAN"}
#: Decimals of the float columns as written.
_DECIMALES = {"SURFHAB": 1, "SURFMODE": 1, "LOYERPRINC": 2}


def dido_columns(annee: int) -> list[str]:
    """Header of the dido layout for a millésime (`DEPCOM_CODE` up to 2024, `DEPCOM` from 2025)."""
    if annee <= 2024:
        return list(DIDO_COLUMNS_2021)
    return ["DEPCOM" if c == "DEPCOM_CODE" else c for c in DIDO_COLUMNS_2021]


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

def _counts(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split ``total`` into integer counts proportional to ``weights`` (largest remainders)."""
    keys = list(weights)
    base = _repartir(total, np.array([weights[k] for k in keys], dtype=float))
    return dict(zip(keys, base.tolist()))


def _repartir(total: int, weights: np.ndarray) -> np.ndarray:
    """Integer split of ``total`` proportional to ``weights`` (largest remainders, stable)."""
    weights = np.asarray(weights, dtype=float)
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=int)
    raw = weights / weights.sum() * total
    base = np.floor(raw).astype(int)
    order = np.argsort(-(raw - base), kind="stable")
    base[order[: total - base.sum()]] += 1
    return base


def _arrondi_controle(matrix: np.ndarray, lignes: np.ndarray, colonnes: np.ndarray) -> np.ndarray:
    """Integer matrix close to ``matrix`` with exactly the row and column totals given."""
    out = np.vstack([_repartir(int(t), row) if t else np.zeros(matrix.shape[1], int)
                     for t, row in zip(lignes, matrix)])
    for _ in range(10 * matrix.size):
        ecart = out.sum(axis=0) - colonnes
        if not ecart.any():
            return out
        p, q = int(np.argmax(ecart)), int(np.argmin(ecart))
        # move one unit from column p to column q in the row where it costs least
        gain = (matrix[:, q] - out[:, q]) - (matrix[:, p] - out[:, p])
        gain[out[:, p] <= 0] = -np.inf
        r = int(np.argmax(gain))
        out[r, p] -= 1
        out[r, q] += 1
    raise RuntimeError("controlled rounding did not converge")


def _ipf(poids: np.ndarray, lignes: np.ndarray, colonnes: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Iterative proportional fitting of ``poids`` to the row and column totals."""
    m = poids.astype(float).copy()
    for _ in range(iterations):
        s = m.sum(axis=1)
        m *= np.divide(lignes, s, out=np.zeros_like(s), where=s > 0)[:, None]
        s = m.sum(axis=0)
        m *= np.divide(colonnes, s, out=np.zeros_like(s), where=s > 0)[None, :]
    return m


def _prefixe_pondere(tailles: np.ndarray, poids: np.ndarray, cible: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of a weighted random sample (without replacement) whose sizes sum to about ``cible``."""
    cles = rng.random(len(tailles)) ** (1.0 / np.maximum(poids, 1e-9))
    ordre = np.argsort(-cles, kind="stable")
    cumul = np.cumsum(tailles[ordre])
    # stop where the cumulated size is closest to the target
    k = int(np.argmin(np.abs(cumul - cible))) + 1 if len(cumul) else 0
    return ordre[:k]


def _annees_par_cumul(tailles: np.ndarray, premiere: int, nombre: int) -> np.ndarray:
    """Spread ``tailles`` (in their order) over ``nombre`` years so each year gets about as many."""
    cumul = np.cumsum(tailles) - tailles / 2
    return premiere + np.minimum((cumul / tailles.sum() * nombre).astype(int), nombre - 1)


def _alea(graine: np.ndarray, annee: int, canal: int = 0) -> np.ndarray:
    """A uniform number in [0, 1) per dwelling and year, from the dwelling's stored seed (splitmix64)."""
    z = graine.astype(np.uint64) + np.uint64((annee * 0x9E3779B1 + canal * 0x85EBCA77) & 0xFFFFFFFF)
    z = z * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def plafonds_plai_loyer() -> dict[int, float]:
    """PLAI rent ceilings by year (€/m² SU), from the referential seed ``ref_loyers_plafonds``."""
    path = DBT_PROJECT_DIR / "seeds" / "ref_loyers_plafonds.csv"
    try:
        with path.open(encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle) if r["produit"] == "PLAI"]
        plafonds = {int(r["annee"]): float(r["loyer_m2"]) for r in rows}
    except (OSError, KeyError, ValueError):
        plafonds = {}
    return plafonds or dict(PLAFONDS_PLAI_DEFAUT)


def plafond_bas_loyer(annee: int, plafonds: dict[int, float] | None = None) -> float:
    """The "bas loyer" threshold of millésime ``annee``: the PLAI ceiling of its own year (the rents of
    1 January ``annee``, as ``int_logements_loyers`` compares them)."""
    plafonds = plafonds or plafonds_plai_loyer()
    cle = min(max(annee, min(plafonds)), max(plafonds))
    return plafonds[cle]


# --------------------------------------------------------------------------------------------
# The stock
# --------------------------------------------------------------------------------------------

def _cellules_2021() -> list[tuple[str, str, str, int]]:
    """(commune, QPV code or "", bailleur, dwellings) of the 2021 parc, with the exact totals."""
    cellules = []
    qpv_bailleur = {b: 0 for b in BAILLEURS}
    qpv_commune: dict[str, int] = {}
    for code, q in QPV_DEMO.items():
        for bailleur, n in _counts(q["logements_2021"], BAILLEURS_QPV[code]).items():
            if n:
                cellules.append((q["code_insee"], code, bailleur, n))
                qpv_bailleur[bailleur] += n
        qpv_commune[q["code_insee"]] = qpv_commune.get(q["code_insee"], 0) + q["logements_2021"]
    communes = sorted(PARC_2021)
    lignes = np.array([PARC_2021[c] - qpv_commune.get(c, 0) for c in communes])
    totaux = dict(BAILLEURS_2021, AUTRE=AUTRE_2021)
    colonnes = np.array([totaux[b] - qpv_bailleur[b] for b in BAILLEURS])
    poids = np.array([[POIDS_HORS_QPV.get(c, POIDS_HORS_QPV_AUTRES)[b] for b in BAILLEURS] for c in communes])
    matrice = _arrondi_controle(_ipf(poids, lignes, colonnes), lignes, colonnes)
    for i, commune in enumerate(communes):
        for j, bailleur in enumerate(BAILLEURS):
            if matrice[i, j]:
                cellules.append((commune, "", bailleur, int(matrice[i, j])))
    return cellules


def _residences(cellules, rng: np.random.Generator, taille_qpv: int = 100, taille_hors: int = 55) -> pd.DataFrame:
    """Split each cell into résidences of ~20–150 dwellings (smaller when the cell is smaller)."""
    rows = []
    for commune, qpv, bailleur, n in cellules:
        moyenne = taille_qpv if qpv else taille_hors
        k = max(1, round(n / moyenne), int(np.ceil(n / 150)))
        if commune == ANCIENNE_COMMUNE["commune_nouvelle"] and n >= 10:
            k = max(k, 2)  # one résidence on each side of the former commune boundary
        tailles = _repartir(n, rng.dirichlet(np.full(k, 8.0))) if k > 1 else np.array([n])
        for t in tailles:
            if t:
                rows.append((commune, qpv, bailleur, int(t)))
    return pd.DataFrame(rows, columns=["DEPCOM", "PLG_QP", "BAILLEUR", "TAILLE"])


def _residences_neuves(total: int, communes_poids: dict[str, float], qpv_poids: dict[str, float],
                       rng: np.random.Generator) -> pd.DataFrame:
    """New résidences (after 2021) of 15–70 dwellings, about ``total`` dwellings, 90 % outside QPV."""
    rows = []
    for zone_total, poids, en_qpv in ((round(total * PART_NEUFS_HORS_QPV), communes_poids, False),
                                      (total - round(total * PART_NEUFS_HORS_QPV), qpv_poids, True)):
        cles = list(poids)
        p = np.array([poids[c] for c in cles], dtype=float)
        p /= p.sum()
        cumul = 0
        while cumul < zone_total - 10:
            taille = int(min(rng.integers(15, 71), max(zone_total - cumul, 15)))
            cle = cles[rng.choice(len(cles), p=p)]
            bailleur = rng.choice(list(BAILLEURS_NEUFS), p=list(BAILLEURS_NEUFS.values()))
            commune = QPV_DEMO[cle]["code_insee"] if en_qpv else cle
            rows.append((commune, cle if en_qpv else "", str(bailleur), taille))
            cumul += taille
    return pd.DataFrame(rows, columns=["DEPCOM", "PLG_QP", "BAILLEUR", "TAILLE"])


class _Placement:
    """Draws integer Lambert-93 points inside a target zone and strictly inside an IRIS of the commune."""

    def __init__(self, geo: Geographie):
        self.geo = geo
        self.iris_codes = geo.iris["CODE_IRIS"].to_numpy()
        self.iris_communes = geo.iris["INSEE_COM"].to_numpy()
        self.tree = shapely.STRtree(geo.iris.geometry.to_numpy())
        self.zones: dict[str, shapely.Geometry] = {}
        self.zone_commune: dict[str, str] = {}
        qpv = geo.qpv.set_index("code_qp")
        for code, commune in zip(geo.communes["INSEE_COM"], geo.communes.geometry):
            trous = [g.buffer(3) for g, c in zip(qpv.geometry, qpv["INSEE_COM"]) if c == code]
            hors = commune.buffer(-2)
            if trous:
                hors = hors.difference(shapely.union_all(trous))
            self.zones[code] = hors
            self.zone_commune[code] = code
        for code, g, commune in zip(qpv.index, qpv.geometry, qpv["INSEE_COM"]):
            self.zones[code] = g.buffer(-2)
            self.zone_commune[code] = commune
        ancienne = geo.zone_ancienne_commune()
        nouvelle = ANCIENNE_COMMUNE["commune_nouvelle"]
        for suffixe, part in (("E", ancienne), ("O", geo.commune(nouvelle).difference(ancienne))):
            key = f"{nouvelle}{suffixe}"
            self.zones[key] = self.zones[nouvelle].intersection(part.buffer(-2))
            self.zone_commune[key] = nouvelle
        for zone in self.zones.values():
            shapely.prepare(zone)
        centres = centres_l93()
        self.centres = {}
        for code in geo.communes["INSEE_COM"]:
            c = centres.get(code)
            zone = self.zones[code]
            if c is None or not zone.contains(shapely.Point(c)):
                p = zone.representative_point()
                c = (p.x, p.y)
            self.centres[code] = c

    def iris(self, x: np.ndarray, y: np.ndarray, communes: np.ndarray) -> np.ndarray:
        """IRIS code of each point (strictly inside an IRIS of its commune), "" when none."""
        out = np.full(len(x), "", dtype=object)
        if not len(x):
            return out
        pts, polys = self.tree.query(shapely.points(x, y), predicate="within")
        ok = self.iris_communes[polys] == communes[pts]
        pts, polys = pts[ok][::-1], polys[ok][::-1]  # first match wins when IRIS overlap
        out[pts] = self.iris_codes[polys]
        return out

    def valides(self, x: np.ndarray, y: np.ndarray, zones: np.ndarray) -> np.ndarray:
        ok = np.zeros(len(x), dtype=bool)
        for zone in np.unique(zones):
            m = zones == zone
            ok[m] = shapely.contains_xy(self.zones[zone], x[m], y[m])
        communes = np.array([self.zone_commune[z] for z in zones], dtype=object)
        return ok & (self.iris(x, y, communes) != "")

    def centres_residences(self, zones: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A centre per résidence: uniform in QPV zones, half near the commune centre elsewhere."""
        out = np.zeros((len(zones), 2))
        manque = np.ones(len(zones), dtype=bool)
        while manque.any():
            idx = np.flatnonzero(manque)
            z = zones[idx]
            bounds = np.array([self.zones[k].bounds for k in z])
            x = rng.uniform(bounds[:, 0], bounds[:, 2])
            y = rng.uniform(bounds[:, 1], bounds[:, 3])
            pres = np.array([k in self.centres and not k.startswith("QP") for k in z]) & (rng.random(len(z)) < 0.5)
            if pres.any():
                c = np.array([self.centres[self.zone_commune[k]] for k in z[pres]])
                sigma = np.array([0.35 * np.sqrt(self.zones[k].area) for k in z[pres]])
                x[pres] = rng.normal(c[:, 0], sigma)
                y[pres] = rng.normal(c[:, 1], sigma)
            x, y = np.round(x), np.round(y)
            ok = self.valides(x, y, z)
            out[idx[ok]] = np.column_stack([x[ok], y[ok]])
            manque[idx[ok]] = False
        return out

    def autour(self, centres: np.ndarray, sigma: np.ndarray, zones: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Points scattered around their résidence centre (the centre itself when drawing fails)."""
        out = centres.copy()
        manque = np.ones(len(centres), dtype=bool)
        for _ in range(6):
            idx = np.flatnonzero(manque)
            if not len(idx):
                break
            x = np.round(rng.normal(centres[idx, 0], sigma[idx]))
            y = np.round(rng.normal(centres[idx, 1], sigma[idx]))
            ok = self.valides(x, y, zones[idx])
            out[idx[ok]] = np.column_stack([x[ok], y[ok]])
            manque[idx[ok]] = False
        return out


def parc_demo(geo: Geographie, seed: int = 2021) -> pd.DataFrame:
    """The whole demo stock: every dwelling present in at least one millésime 2011–2025.

    One row per dwelling, with the contract's columns that do not change from year to year
    (``IDENT_LOGT``, ``DEPCOM`` — the current commune —, ``PLG_QP``, ``PLG_IRIS``, ``BAILLEUR``,
    ``RESIDENCE_ID``, ``NBPIECE``, ``SURFHAB``, ``SURFMODE``, ``CONSTRUCT``, ``LOCAT``, ``FINAN_CODE``,
    ``X``, ``Y``, …) and the stock's own columns:

    - ``MILLESIME_ENTREE``: first millésime (1 January) the dwelling is in (``LOCAT + 1``; ≤ 2011 for
      the stock older than 2011, which is always there);
    - ``MILLESIME_SORTIE``: first millésime it is no longer in (demolished during the year before),
      ``<NA>`` when never demolished;
    - ``ANCIEN_DEPCOM``: "21213" for the dwellings of Neuilly-Crimolois in the former commune
      Crimolois (their ``DEPCOM`` up to millésime 2018), "" elsewhere;
    - ``LOYER_M2_2021``: rent per m² of ``SURFMODE`` at the level of millésime 2021;
    - ``MODE_ASSOCIATION`` (let to an association, MODE 4 every year) and ``_ALEA`` (the dwelling's
      seed for the year-to-year draws of :func:`millesime`).
    """
    rng = np.random.default_rng(seed)
    placement = _Placement(geo)

    # 1. The 2021 parc, résidence by résidence, with the exact counts of the CIA. The dwellings let
    #    2011–2020 (370 a year, 90 % outside QPV) are carved out of each cell as smaller résidences.
    sru = {c.code_insee for c in communes_actuelles() if c.sru}
    cellules = _cellules_2021()
    n_cell = np.array([c[3] for c in cellules])
    cell_qpv = np.array([bool(c[1]) for c in cellules])
    poids_neuf = np.array([(2.5 if c[0] in sru - {"21231"} else 1.0 if c[0] == "21231" else 1.5)
                           * (1.5 if c[2] in ESH else 1.0) for c in cellules]) * n_cell
    neufs_total = CROISSANCE_ANNUELLE * 10
    neuf_cell = np.zeros(len(cellules), dtype=int)
    for en_qpv, part in ((False, PART_NEUFS_HORS_QPV), (True, 1 - PART_NEUFS_HORS_QPV)):
        m = cell_qpv == en_qpv
        neuf_cell[m] = np.minimum(_repartir(round(neufs_total * part), np.where(m, poids_neuf, 0))[m], n_cell[m])
    anciennes = _residences([(c, q, b, n - k) for (c, q, b, n), k in zip(cellules, neuf_cell)], rng)
    anciennes["ORIGINE"] = "2021"
    nouvelles = _residences([(c, q, b, k) for (c, q, b, n), k in zip(cellules, neuf_cell)], rng,
                            taille_qpv=35, taille_hors=35)
    nouvelles["ORIGINE"] = "2021"
    nouvelles["CONSTRUCT"] = 0
    for en_qpv in (False, True):  # each group spread evenly over 2011–2020
        idx = rng.permutation(np.flatnonzero((nouvelles["PLG_QP"] != "").to_numpy() == en_qpv))
        nouvelles.loc[idx, "CONSTRUCT"] = _annees_par_cumul(nouvelles["TAILLE"].to_numpy()[idx], 2011, 10)
    anciennes["CONSTRUCT"] = 0
    res = pd.concat([anciennes, nouvelles], ignore_index=True)
    hors = (res["PLG_QP"] == "").to_numpy()
    res["TYPECONST_CODE"] = "C"
    # houses: small résidences outside QPV, mostly outside Dijon
    poids = np.where(res["DEPCOM"] == "21231", 0.4, 3.0) * np.where(res["TAILLE"] <= 80, 1.0, 0.05)
    cand = np.flatnonzero(hors)
    choix = cand[_prefixe_pondere(res["TAILLE"].to_numpy()[cand], poids[cand], INDIVIDUELS_2021, rng)]
    res.loc[choix, "TYPECONST_CODE"] = "I"
    # student résidences: older AUTRE (else CDC Habitat) résidences in Dijon, outside QPV
    for bailleur in ("AUTRE", "CDC_HABITAT"):
        cand = np.flatnonzero(hors & (res["DEPCOM"] == "21231").to_numpy() & (res["BAILLEUR"] == bailleur).to_numpy()
                              & (res["TYPECONST_CODE"] == "C").to_numpy() & (res["CONSTRUCT"] == 0).to_numpy())
        if len(cand):
            break
    choix = cand[_prefixe_pondere(res["TAILLE"].to_numpy()[cand], np.ones(len(cand)), ETUDIANTS_2021, rng)]
    res.loc[choix, "TYPECONST_CODE"] = "E"
    # construction years of the older stock
    anciens = (res["CONSTRUCT"] == 0).to_numpy()
    n_res = len(res)
    periode = rng.choice(3, n_res, p=[0.35, 0.40, 0.25])
    annee_hors = np.where(periode == 0, rng.integers(1950, 1977, n_res),
                          np.where(periode == 1, rng.integers(1977, 2000, n_res), rng.integers(2000, 2011, n_res)))
    annee = np.where(~hors, rng.integers(1957, 1976, n_res), annee_hors)
    annee = np.where(res["TYPECONST_CODE"] == "I", rng.integers(1975, 2011, n_res), annee)
    annee = np.where(res["TYPECONST_CODE"] == "E", rng.integers(1995, 2011, n_res), annee)
    res.loc[anciens, "CONSTRUCT"] = annee[anciens]

    # 2. Demolitions in the ANRU QPV: years, counts, which dwellings.
    annees_demo = np.array(list(ANNEES_DEMOLITION))
    n_demo = rng.integers(DEMOLITIONS_PAR_AN[0], DEMOLITIONS_PAR_AN[1] + 1, len(annees_demo))
    qpv_demo = np.array(QPV_ANRU)[rng.integers(0, len(QPV_ANRU), len(annees_demo))]
    demolies = []  # extra résidences, demolished before 2021
    for q in QPV_ANRU:
        avant = int(n_demo[(qpv_demo == q) & (annees_demo <= 2020)].sum())
        if avant:
            # the demolished résidences belong to the two OPH (70 % to the QPV's main bailleur)
            principal = max(BAILLEURS_QPV[q], key=BAILLEURS_QPV[q].get)
            second = "ORVITIS" if principal == "GDH" else "GDH"
            k = max(1, round(avant / 120))
            for t in _repartir(avant, rng.dirichlet(np.full(k, 4.0))):
                demolies.append((QPV_DEMO[q]["code_insee"], q, principal if rng.random() < 0.7 else second, int(t)))
    res_demolies = pd.DataFrame(demolies, columns=["DEPCOM", "PLG_QP", "BAILLEUR", "TAILLE"])
    res_demolies["ORIGINE"] = "demolie"
    res_demolies["TYPECONST_CODE"] = "C"
    res_demolies["CONSTRUCT"] = rng.integers(1957, 1970, len(res_demolies))

    # 3. New résidences let from 2021 on (millésimes 2022–2025).
    communes_poids = {c: (PARC_2021[c] ** 0.7) * (2.0 if c in sru else 0.6) for c in sorted(PARC_2021) if PARC_2021[c] > 0}
    qpv_poids = {q: (2.0 if QPV_DEMO[q]["anru"] else 1.0) for q in QPV_DEMO}
    res_neuves = _residences_neuves(CROISSANCE_ANNUELLE * 4, communes_poids, qpv_poids, rng)
    res_neuves = res_neuves.iloc[rng.permutation(len(res_neuves))].reset_index(drop=True)
    res_neuves["ORIGINE"] = "neuve"
    res_neuves["TYPECONST_CODE"] = np.where(rng.random(len(res_neuves)) < 0.08, "I", "C")
    res_neuves["CONSTRUCT"] = 0
    for en_qpv in (False, True):  # each group spread evenly over 2021–2024
        idx = np.flatnonzero((res_neuves["PLG_QP"] != "").to_numpy() == en_qpv)
        res_neuves.loc[idx, "CONSTRUCT"] = _annees_par_cumul(res_neuves["TAILLE"].to_numpy()[idx], 2021, 4)

    res = pd.concat([res, res_demolies, res_neuves], ignore_index=True)
    n_res = len(res)
    # résidence identifiers: per bailleur and commune, in a stable order
    res["_ORDRE"] = np.arange(n_res)
    rang = res.sort_values(["BAILLEUR", "DEPCOM", "_ORDRE"]).groupby(["BAILLEUR", "DEPCOM"]).cumcount() + 1
    res["RESIDENCE_ID"] = "RES-" + res["BAILLEUR"] + "-" + res["DEPCOM"] + "-" + rang.reindex(res.index).astype(str).str.zfill(3)
    # zone of each résidence (QPV, commune outside QPV; Neuilly-Crimolois cut in two)
    nouvelle = ANCIENNE_COMMUNE["commune_nouvelle"]
    zones = np.where(res["PLG_QP"] != "", res["PLG_QP"], res["DEPCOM"]).astype(object)
    est = (res["DEPCOM"] == nouvelle).to_numpy()
    zones[est] = [f"{nouvelle}{'E' if i % 2 == 0 else 'O'}" for i in range(est.sum())]
    res["_ZONE"] = zones
    res["ANCIEN_DEPCOM"] = np.where(zones == f"{nouvelle}E", ANCIENNE_COMMUNE["code"], "")
    centres = placement.centres_residences(zones, rng)
    res["_CX"], res["_CY"] = centres[:, 0], centres[:, 1]
    res["TYPVOIE"] = rng.choice(TYPES_VOIE[0], n_res, p=TYPES_VOIE[1])
    res["NOMVOIE"] = [f"{NOMS_VOIE[i % len(NOMS_VOIE)]} FICTIVE {i // len(NOMS_VOIE) + 1}"
                      for i in rng.permutation(n_res)]

    # 4. Buildings (an address and a point each) and dwellings.
    taille = res["TAILLE"].to_numpy()
    individuel = (res["TYPECONST_CODE"] == "I").to_numpy()
    par_batiment = np.where(individuel, 1, rng.integers(12, 41, n_res))
    n_bat = np.maximum(1, np.ceil(taille / par_batiment).astype(int))
    bat_res = np.repeat(np.arange(n_res), n_bat)
    sigma = np.where(individuel, 60 + 4 * np.sqrt(taille), 35 + 3 * np.sqrt(taille))[bat_res]
    bat_xy = placement.autour(centres[bat_res], sigma, zones[bat_res], rng)
    bat_rang = pd.Series(bat_res).groupby(bat_res).cumcount().to_numpy()
    bat_num = rng.integers(1, 40, n_res)[bat_res] + 2 * bat_rang
    # dwellings: split each résidence over its buildings
    bat_taille = np.concatenate([_repartir(int(t), np.ones(k)) for t, k in zip(taille, n_bat)])
    logt_bat = np.repeat(np.arange(len(bat_res)), bat_taille)
    logt_res = bat_res[logt_bat]
    n = len(logt_res)
    df = res.drop(columns=["TAILLE", "_ORDRE", "_CX", "_CY"]).iloc[logt_res].reset_index(drop=True)
    df["X"] = bat_xy[logt_bat, 0].astype(np.int64)
    df["Y"] = bat_xy[logt_bat, 1].astype(np.int64)
    df["NUMVOIE"] = bat_num[logt_bat]
    df["_BAT"] = logt_bat
    df["PLG_IRIS"] = placement.iris(df["X"].to_numpy(float), df["Y"].to_numpy(float), df["DEPCOM"].to_numpy(object))
    assert (df["PLG_IRIS"] != "").all()

    origine = df["ORIGINE"].to_numpy()
    en_qpv = (df["PLG_QP"] != "").to_numpy()
    construct = df["CONSTRUCT"].to_numpy()
    typeconst = df["TYPECONST_CODE"].to_numpy()
    de_2021 = origine == "2021"

    # 5. Rooms: exact quotas in 2021 (CIA and fichier partagé), draws elsewhere.
    pieces = np.zeros(n, dtype=int)
    groupes = {
        "qpv": de_2021 & en_qpv,
        "individuel": de_2021 & ~en_qpv & (typeconst == "I"),
        "etudiant": de_2021 & (typeconst == "E"),
        "collectif": de_2021 & ~en_qpv & (typeconst == "C"),
    }
    quotas = {
        "qpv": _repartir(int(groupes["qpv"].sum()), PIECES_QPV),
        "individuel": _repartir(int(groupes["individuel"].sum()), PIECES_INDIVIDUEL),
        "etudiant": np.array([groupes["etudiant"].sum(), 0, 0, 0, 0, 0]),
    }
    fp = np.array([TYPOLOGIES_FP_2021[t] for t in ("T1", "T2", "T3", "T4", "T5", "T6+")], dtype=float)
    collectifs = int(groupes["qpv"].sum() + groupes["collectif"].sum())
    residuel = _repartir(collectifs, fp) - quotas["qpv"]
    if (residuel < 0).any() or residuel.sum() != groupes["collectif"].sum():
        raise RuntimeError(f"typology quotas infeasible: {residuel}")
    quotas["collectif"] = residuel
    for nom, masque in groupes.items():
        idx = np.flatnonzero(masque)
        pieces[idx] = rng.permutation(np.repeat(np.arange(1, 7), quotas[nom]))
    reste = np.flatnonzero(~de_2021)
    p_reste = np.where((origine[reste] == "demolie")[:, None], PIECES_QPV[None, :],
                       np.where((typeconst[reste] == "I")[:, None], PIECES_INDIVIDUEL[None, :], PIECES_NEUF[None, :]))
    cum = p_reste.cumsum(axis=1)
    pieces[reste] = 1 + (rng.random(len(reste))[:, None] > cum).sum(axis=1).clip(0, 5)
    df["NBPIECE"] = pieces
    surfaces = np.array([0, 30, 47, 64, 78, 92, 108])
    surfhab = surfaces[pieces] + rng.normal(0, 4, n) + np.where(typeconst == "I", 8, 0)
    df["SURFHAB"] = np.round(surfhab.clip(14, 200), 1)
    df["SURFMODE"] = np.round(df["SURFHAB"].to_numpy() * rng.uniform(1.02, 1.09, n), 1)
    df["MODESURF"] = "U"

    # 6. Dates, financing, energy, equipment.
    locat = construct + np.where(rng.random(n) < 0.2, 1, 0)
    locat = np.where(construct >= 2011, construct, np.minimum(locat, 2010))
    df["LOCAT"] = locat
    df["MILLESIME_ENTREE"] = locat + 1
    finan = np.zeros(n, dtype=int)
    for periode, masque in (("avant_1977", construct < 1977), ("1977_1999", (construct >= 1977) & (construct < 2000)),
                            ("2000_2010", (construct >= 2000) & (construct < 2011)), ("depuis_2011", construct >= 2011)):
        codes, parts = FINANCEMENTS[periode]
        finan[masque] = rng.choice(codes, int(masque.sum()), p=parts)
    df["FINAN_CODE"] = finan
    df["CONV"] = np.where(np.isin(finan, NON_CONVENTIONNES), "0", "1")
    jours = rng.integers(0, 365, n)
    debut_dpe = np.where(construct >= 2011, pd.to_datetime(construct.astype(str) + "-01-01").values,
                         np.datetime64("2012-01-01"))
    etendue = np.where(construct >= 2011, jours, rng.integers(0, 12 * 365, n))
    df["DPEDATE"] = pd.to_datetime(debut_dpe + etendue.astype("timedelta64[D]")).strftime("%Y-%m-%d")
    classes = np.array(list("ABCDEFG"))
    centre_dpe = np.where(construct >= 2011, 1.6, np.where(construct >= 2000, 2.6,
                          np.where(construct >= 1977, 3.2, np.where(en_qpv, 3.6, 3.9))))
    dpe = np.clip(np.round(rng.normal(centre_dpe, 0.8)), 0, 6).astype(int)
    df["DPEENERGIE"] = classes[dpe]
    df["DPESERRE"] = classes[np.clip(dpe + rng.integers(-1, 2, n), 0, 6)]
    df["PMR_CODE"] = np.where(rng.random(n) < np.where(construct >= 2011, 0.20, np.where(typeconst == "I", 0.10, 0.04)), "1", "0")
    df["CONTINGENT"] = rng.choice(CONTINGENTS, n, p=CONTINGENT_PARTS)
    df["MODE_ASSOCIATION"] = (rng.random(n) < 0.012) & (typeconst == "C")
    df["CODEPOSTAL"] = np.where(df["DEPCOM"] == "21231", "21000", "21" + df["DEPCOM"].str[-3:])
    df["EPCI_CODE"] = EPCI
    df["EPSG"] = 2154

    # 7. Rents: exact "bas loyer" quotas in 2021 (QPV / outside), older and PLAI dwellings first.
    bas = np.zeros(n, dtype=bool)
    plai = np.isin(finan, [10, 11])
    score = rng.random(n) + 0.45 * (construct < 1977) + 0.35 * plai - 0.5 * (construct >= 2000) - 0.3 * (typeconst == "I") \
        - 0.8 * np.isin(finan, [14, 16])
    for masque, part in ((de_2021 & en_qpv, BAS_LOYER_VISE_QPV), (de_2021 & ~en_qpv, BAS_LOYER_VISE_HORS_QPV)):
        idx = np.flatnonzero(masque)
        k = round(part * len(idx))
        bas[idx[np.argsort(-score[idx], kind="stable")[:k]]] = True
    p_bas = np.where(origine == "demolie", 0.85, np.where(plai, 0.8, 0.08))
    bas[~de_2021] = rng.random(n)[~de_2021] < p_bas[~de_2021]
    seuil = plafond_bas_loyer(2021)
    bas_m2 = seuil - 0.06 - 1.6 * rng.beta(1.6, 3.0, n)
    haut_m2 = seuil + 0.06 + rng.gamma(2.0, 0.45, n) + np.where(construct >= 2011, 0.5, 0) + np.where(finan == 14, 1.2, 0) \
        + np.where(finan == 16, 2.0, 0)
    df["LOYER_M2_2021"] = np.round(np.where(bas, bas_m2, haut_m2).clip(3.0, 11.5), 3)

    # 8. Demolition schedule (the extra résidences first, then parts of 2021 résidences).
    sortie = np.zeros(n, dtype=int)
    for q in QPV_ANRU:
        annees_q = annees_demo[qpv_demo == q]
        comptes = n_demo[qpv_demo == q]
        avant = np.flatnonzero((origine == "demolie") & (df["PLG_QP"].to_numpy() == q))
        besoin_apres = int(comptes[annees_q >= 2021].sum())
        cand_res = res.index[(res["ORIGINE"] == "2021") & (res["PLG_QP"] == q) & (res["CONSTRUCT"] < 1977)
                             & res["BAILLEUR"].isin(["GDH", "ORVITIS"])].to_numpy()
        cand_res = rng.permutation(cand_res)
        apres: list[int] = []
        for r in cand_res:
            if len(apres) >= besoin_apres:
                break
            apres += np.flatnonzero(logt_res == r).tolist()
        ordre = np.concatenate([avant, np.array(apres[:besoin_apres], dtype=int)])
        sortie[ordre] = np.repeat(annees_q, comptes)[: len(ordre)] + 1
    df["MILLESIME_SORTIE"] = pd.array(np.where(sortie > 0, sortie, 0), dtype="Int64")
    df.loc[sortie == 0, "MILLESIME_SORTIE"] = pd.NA

    # 9. Identifiers and order.
    df["_ALEA"] = rng.integers(0, 2**62, n, dtype=np.int64)
    df = df.sort_values(["BAILLEUR", "DEPCOM", "RESIDENCE_ID", "_BAT"], kind="stable").reset_index(drop=True)
    df["IDENT_LOGT"] = "DEMO" + pd.Series(np.arange(1, len(df) + 1)).astype(str).str.zfill(8)
    return df.drop(columns=["_BAT", "_ZONE", "ORIGINE"])


# --------------------------------------------------------------------------------------------
# One millésime
# --------------------------------------------------------------------------------------------

def millesime(parc: pd.DataFrame, annee: int) -> pd.DataFrame:
    """The dwellings of ``parc`` on 1 January ``annee``, with the contract's column names.

    Codes are written as in the exports: ``QPV_CODE`` "1"/"0", ``PLG_QP`` the QPV code or "",
    ``CONV``/``PMR_CODE`` "1"/"0"; ``NBPIECE``, ``CONSTRUCT``, ``LOCAT``, ``FINAN_CODE``, ``MODE``,
    ``CONTINGENT``, ``NUMVOIE``, ``X``, ``Y``, ``EPSG`` are ints; ``SURFHAB``, ``SURFMODE``,
    ``LOYERPRINC`` floats. Up to 2018 the dwellings of the former commune Crimolois carry its code
    (21213). Rents follow the PLAI ceiling of the year before (so "bas loyer" is stable); the DPE is
    blank before its date; MODE is drawn per year from each dwelling's seed (vacancy, works,
    emptying before demolition).
    """
    sortie = parc["MILLESIME_SORTIE"].fillna(9999).to_numpy(dtype=np.int64)
    present = (parc["MILLESIME_ENTREE"].to_numpy() <= annee) & (sortie > annee)
    df = parc.loc[present].copy()
    sortie = sortie[present]
    noms = {c.code_insee: c.nom for c in communes_actuelles()}
    if annee <= ANCIENNE_COMMUNE["fin"]:
        ancien = (df["ANCIEN_DEPCOM"] != "").to_numpy()
        df.loc[ancien, "DEPCOM"] = df.loc[ancien, "ANCIEN_DEPCOM"]
        noms[ANCIENNE_COMMUNE["code"]] = ANCIENNE_COMMUNE["nom"]
    df["DEPCOM_LIBELLE"] = df["DEPCOM"].map(noms)
    en_qpv = (df["PLG_QP"] != "").to_numpy()
    df["QPV_CODE"] = np.where(en_qpv, "1", "0")

    graine = df["_ALEA"].to_numpy()
    u = _alea(graine, annee)
    vacance = np.where(en_qpv, 0.045, 0.024)
    mode = np.where(u < vacance, 2, np.where(u < vacance + 0.005, 3, np.where(u < vacance + 0.007, 5, 1)))
    mode = np.where(df["MODE_ASSOCIATION"].to_numpy(), 4, mode)
    mode = np.where(sortie == annee + 1, 3, mode)  # emptied, demolished during the year
    mode = np.where((sortie == annee + 2) & (_alea(graine, annee, 1) < 0.3), 3, mode)
    df["MODE"] = mode

    plafonds = plafonds_plai_loyer()
    indice = plafond_bas_loyer(annee, plafonds) / plafond_bas_loyer(2021, plafonds)
    df["LOYERPRINC"] = np.round(df["LOYER_M2_2021"].to_numpy() * indice * df["SURFMODE"].to_numpy(), 2)
    sans_dpe = (df["DPEDATE"] >= f"{annee}-01-01").to_numpy()
    for column in ("DPEDATE", "DPEENERGIE", "DPESERRE"):
        df.loc[sans_dpe, column] = ""
    return df[CONTRACT_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

def ecrire_rpls(df: pd.DataFrame, path: Path, annee: int | None = None, layout: str = "dido") -> Path:
    """Write one millésime (:func:`millesime`'s columns) in an export layout.

    - ``dido``: the SDES DiDo header (``DEPCOM_CODE`` up to 2024, ``DEPCOM`` from 2025, IRIS in
      ``PLG_IRIS2022_CODE``), ``;``, UTF-8, decimal point;
    - ``regional``: the data.gouv regional header (``DEPCOM``, ``QPV`` "1"/"0", ``TYPECONST``,
      ``FINAN``, ``PLG_IRIS`` …, see :data:`REGIONAL_COLUMNS`), ``;``, Latin-1, decimal comma.

    ``annee`` defaults to the period in the file name.
    """
    if annee is None:
        annee = period_of(path)[0]
    out = df.copy()
    for column, decimales in _DECIMALES.items():
        out[column] = [f"{v:.{decimales}f}" for v in out[column].to_numpy(dtype=float)]
    if layout == "dido":
        out = out.rename(columns={"DEPCOM": "DEPCOM_CODE" if annee <= 2024 else "DEPCOM",
                                  "PLG_IRIS": "PLG_IRIS2022_CODE"})[dido_columns(annee)]
        encoding = "utf-8"
    elif layout == "regional":
        for column in _DECIMALES:
            out[column] = out[column].str.replace(".", ",", regex=False)
        out = out.rename(columns=_REGIONAL_RENAME)[REGIONAL_COLUMNS]
        encoding = "latin-1"
    else:
        raise ValueError(f"unknown RPLS layout {layout!r} (expected 'dido' or 'regional')")
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, sep=";", index=False, encoding=encoding, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return path


def generer_rpls(annee: int, communes: gpd.GeoDataFrame, seed: int = 2021) -> pd.DataFrame:
    """Compatibility wrapper: the millésime ``annee`` of the demo stock built inside ``communes``."""
    return millesime(parc_demo(geographie_de(communes), seed=seed), annee)


# --------------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------------

SOURCE_CIA = "CIA Dijon métropole 2022, §2 (diagnostic, RPLS 2021)"
SOURCE_FP = "Fichier partagé de la demande, chiffres clés du 06/08/2021 (parc par typologie)"
SOURCE_DEMO = "choix de la démo"


def cibles(data_dir: Path) -> list[Cible]:
    """The RPLS calibration lines, computed from the RPLS files of ``data_dir`` read back."""
    data = lire(data_dir, "rpls", "rpls", "rpls")
    lignes: list[Cible] = []
    r = data[data["_ANNEE"] == 2021]
    if len(r):
        lignes += _cibles_2021(r)
    annees = sorted(data["_ANNEE"].unique())
    if len(annees) >= 2:
        lignes += _cibles_dynamique(data, annees)
    return lignes


def _cibles_2021(r: pd.DataFrame) -> list[Cible]:
    theme = "RPLS 2021 (CIA 2022)"
    n = len(r)
    qpv = (r["QPV_CODE"] == "1").to_numpy()
    pieces = r["NBPIECE"].astype("Int64").fillna(0).to_numpy()
    lignes = [Cible(theme, "Logements sociaux au 1er janvier 2021", TOTAL_2021, n, 0, source=SOURCE_CIA)]
    comptes = r["BAILLEUR"].value_counts()
    for code, attendu in dict(BAILLEURS_2021, AUTRE=AUTRE_2021).items():
        note = "le reste du total de 27 008" if code == "AUTRE" else ""
        lignes.append(Cible(theme, f"Logements du bailleur {code}", attendu, int(comptes.get(code, 0)), 0,
                            source="CIA Dijon métropole 2022 (référentiel bailleurs, data-contract.md)", note=note))
    lignes.append(Cible(theme, "Logements en QPV", QPV_2021, int(qpv.sum()), 0, source=SOURCE_CIA))
    lignes.append(Cible(theme, "Part du parc en QPV (publiée)", PART_QPV_PUBLIEE, qpv.sum() / n, None, "%",
                        SOURCE_CIA, note="30,4 % est incohérent avec 7 532 / 27 008 = 27,9 % : la démo garde "
                                         "les 7 532 logements (exacts), la part est informative"))
    par_qpv = r.loc[qpv, "PLG_QP"].value_counts()
    for code, q in QPV_DEMO.items():
        lignes.append(Cible(theme, f"Logements du QPV {code} ({q['nom']})", q["logements_2021"],
                            int(par_qpv.get(code, 0)), 0, source="répartition de la démo des 7 532 logements en QPV"))

    def part(masque: np.ndarray, base: np.ndarray) -> float:
        return float((masque & base).sum() / max(base.sum(), 1))

    tout = np.ones(n, dtype=bool)
    t12, t45 = (pieces >= 1) & (pieces <= 2), (pieces >= 4) & (pieces <= 5)
    lignes += [
        Cible(theme, "T1–T2 dans le parc", T1T2_PARC, part(t12, tout), 0.02, "%", SOURCE_CIA),
        Cible(theme, "T1–T2 dans le parc en QPV", T1T2_QPV, part(t12, qpv), 0.02, "%", SOURCE_CIA),
        Cible(theme, "T4–T5 dans le parc", T4T5_PARC, part(t45, tout), 0.02, "%", SOURCE_CIA),
        Cible(theme, "T4–T5 dans le parc en QPV", T4T5_QPV, part(t45, qpv), 0.02, "%", SOURCE_CIA),
    ]
    seuil = plafond_bas_loyer(2021)
    loyer_m2 = (r["LOYERPRINC"].astype(float) / r["SURFMODE"].astype(float)).to_numpy()
    bas = (loyer_m2 < seuil) & (r["LOYERPRINC"].astype(float).to_numpy() != 9999)
    note = ("les quatre cibles « bas loyer » ne sont qu'approximativement cohérentes "
            "(0,70 × 7 532 + 0,23 × 19 476 = 36,1 % du parc) : compromis à ± 2 points")
    seuil_txt = f"{seuil:.2f}".replace(".", ",")
    lignes += [
        Cible(theme, f"Bas loyer (< {seuil_txt} €/m², plafond PLAI 2021) dans le parc", BAS_LOYER_PARC,
              part(bas, tout), 0.02, "%", SOURCE_CIA, note=note),
        Cible(theme, "Part des logements à bas loyer situés en QPV", BAS_LOYER_PART_QPV, part(qpv, bas), 0.02, "%", SOURCE_CIA),
        Cible(theme, "Bas loyer parmi les logements en QPV", BAS_LOYER_QPV, part(bas, qpv), 0.02, "%", SOURCE_CIA),
        Cible(theme, "Bas loyer parmi les logements hors QPV", BAS_LOYER_HORS_QPV, part(bas, ~qpv), 0.02, "%", SOURCE_CIA),
    ]

    theme_fp = "Fichier partagé 06/08/2021 — parc par typologie"
    base = ((r["TYPECONST_CODE"] == "C") & r["MODE"].isin(["1", "2"])).to_numpy()
    total_fp = sum(TYPOLOGIES_FP_2021.values())
    lignes.append(Cible(theme_fp, "Parc (base de la démo)", total_fp, int(base.sum()), round(0.05 * total_fp),
                        source=SOURCE_FP, note=f"base : {BASE_FP} ; tolérance 5 % par ligne"))
    typo = np.where(pieces == 0, "CHAMBRE", np.where(pieces >= 6, "T6+", "T" + pieces.astype(str)))
    for nom, attendu in TYPOLOGIES_FP_2021.items():
        obtenu = int((base & (typo == nom)).sum())
        lignes.append(Cible(theme_fp, f"Parc {nom}", attendu, obtenu, round(0.05 * attendu), source=SOURCE_FP))
    return lignes


def _cibles_dynamique(data: pd.DataFrame, annees: list[int]) -> list[Cible]:
    theme = f"RPLS {annees[0]}–{annees[-1]} — dynamique"
    ids = {a: data.loc[data["_ANNEE"] == a, ["IDENT_LOGT", "QPV_CODE"]] for a in annees}
    neufs, neufs_hors_qpv, demolis = [], [], []
    paires = [(a, b) for a, b in zip(annees, annees[1:]) if b == a + 1]
    for a, b in paires:
        avant, apres = ids[a], ids[b]
        nouveaux = apres[~apres["IDENT_LOGT"].isin(avant["IDENT_LOGT"])]
        neufs.append(len(nouveaux))
        neufs_hors_qpv.append(int((nouveaux["QPV_CODE"] == "0").sum()))
        demolis.append(int((~avant["IDENT_LOGT"].isin(apres["IDENT_LOGT"])).sum()))
    if not paires:
        return []
    periode = f"millésimes {paires[0][1]}→{paires[-1][1]}"
    net = (len(ids[annees[-1]]) - len(ids[annees[0]])) / (annees[-1] - annees[0])
    return [
        Cible(theme, f"Logements nouveaux par an ({periode})", CROISSANCE_ANNUELLE, float(np.mean(neufs)), 25,
              source="CIA Dijon métropole 2022, §2 (≈ 370 logements par an depuis 2011)",
              note="nouveaux IDENT_LOGT d'un millésime au suivant"),
        Cible(theme, "Part des logements nouveaux hors QPV", PART_NEUFS_HORS_QPV,
              sum(neufs_hors_qpv) / max(sum(neufs), 1), 0.03, "%", SOURCE_DEMO),
        Cible(theme, f"Démolitions par an en QPV ANRU ({periode})", float(np.mean(DEMOLITIONS_PAR_AN)),
              float(np.mean(demolis)), 20, source=SOURCE_DEMO + " (NPNRU Le Mail, Fontaine d'Ouche : 40 à 80 par an)"),
        Cible(theme, f"Croissance nette par an ({annees[0]}→{annees[-1]})", CROISSANCE_ANNUELLE, net, None,
              source=SOURCE_CIA, note="nouveaux logements moins démolitions : informative"),
    ]
