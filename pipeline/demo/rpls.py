"""Demo RPLS: one fictitious dwelling per row, in the ``dido`` layout with the restricted extension.

Shaped on the CIA's published figures for 2021 (27 008 dwellings, the five bailleurs' counts,
7 532 dwellings in QPV, typology shares); everything else is the demo's own plausible choice.
Deterministic: the same seed and year give byte-identical files.
"""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from pipeline.demo.territoire import PARC_2021, QPV_DEMO, communes_actuelles, points_in, qpv_centres

#: Dwellings per bailleur on 1 January 2021 — CIA Dijon métropole 2022 (data-contract.md);
#: AUTRE is the remainder to the CIA's total of 27 008.
BAILLEURS_2021 = {"GDH": 9638, "ORVITIS": 4645, "HABELLIS": 3197, "CDC_HABITAT": 5148, "ICF": 1348}
AUTRE_2021 = sum(PARC_2021.values()) - sum(BAILLEURS_2021.values())
#: Net growth of the parc per year (CIA: about 370 dwellings a year since 2011) — demo rounding.
CROISSANCE_ANNUELLE = 370

#: Shares of rooms 1..6 (demo values shaped on the CIA: T1–T2 29 % of the parc, 25 % in QPV;
#: T4–T5 37 %, 42 % in QPV).
PIECES_HORS_QPV = np.array([0.07, 0.235, 0.325, 0.245, 0.10, 0.025])
PIECES_QPV = np.array([0.04, 0.21, 0.32, 0.31, 0.11, 0.01])

#: RPLS `CONTINGENT` codes and demo shares.
CONTINGENTS = np.array([1, 2, 3, 4, 6, 7])
CONTINGENT_PARTS = np.array([0.04, 0.25, 0.20, 0.14, 0.02, 0.35])

DIDO_COLUMNS_2021 = [
    "DEPCOM_CODE", "DEPCOM_LIBELLE", "EPCI_CODE", "QPV_CODE", "PLG_QP", "PLG_IRIS2022_CODE",
    "TYPECONST_CODE", "NBPIECE", "SURFHAB", "CONSTRUCT", "LOCAT", "FINAN_CODE", "CONV", "DPEDATE",
    "DPEENERGIE", "DPESERRE", "PMR_CODE", "NUMVOIE", "TYPVOIE", "NOMVOIE", "CODEPOSTAL", "X", "Y",
    "EPSG",
    # restricted extension (the extract transmitted to the EPCI)
    "IDENT_LOGT", "BAILLEUR", "LOYERPRINC", "SURFMODE", "MODESURF", "MODE", "CONTINGENT",
    "RESIDENCE_ID",
]


def dido_columns(annee: int) -> list[str]:
    """Header of the dido layout for a millésime (`DEPCOM_CODE` up to 2024, `DEPCOM` from 2025)."""
    if annee <= 2024:
        return list(DIDO_COLUMNS_2021)
    return ["DEPCOM" if c == "DEPCOM_CODE" else c for c in DIDO_COLUMNS_2021]


def _counts(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split ``total`` into integer counts proportional to ``weights`` (largest remainders)."""
    keys = list(weights)
    raw = np.array([weights[k] for k in keys], dtype=float)
    raw = raw / raw.sum() * total
    base = np.floor(raw).astype(int)
    order = np.argsort(-(raw - base), kind="stable")
    base[order[: total - base.sum()]] += 1
    return dict(zip(keys, base.tolist()))


def generer_rpls(annee: int, communes: gpd.GeoDataFrame, seed: int = 2021) -> pd.DataFrame:
    """The demo RPLS of one millésime, as a DataFrame in the dido layout."""
    rng = np.random.default_rng([seed, annee])
    ecart = annee - 2021
    qpv_counts = {code: q["logements_2021"] for code, q in QPV_DEMO.items()}
    qpv_by_commune: dict[str, int] = {}
    for q in QPV_DEMO.values():
        qpv_by_commune[q["code_insee"]] = qpv_by_commune.get(q["code_insee"], 0) + q["logements_2021"]
    hors_qpv_2021 = {c: n - qpv_by_commune.get(c, 0) for c, n in PARC_2021.items()}
    total_hors = max(0, sum(hors_qpv_2021.values()) + CROISSANCE_ANNUELLE * ecart)
    hors_counts = _counts(total_hors, {c: max(n, 0.5) for c, n in hors_qpv_2021.items()})

    noms = {c.code_insee: c.nom for c in communes_actuelles()}
    polygons = dict(zip(communes["INSEE_COM"], communes.geometry))
    centres = qpv_centres()
    frames = []
    for code, n in sorted(hors_counts.items()):
        if n == 0:
            continue
        xy = points_in(polygons[code], n, rng)
        frames.append(pd.DataFrame({"DEPCOM_CODE": code, "PLG_QP": "", "X": xy[:, 0], "Y": xy[:, 1]}))
    for qpv, n in sorted(qpv_counts.items()):
        cx, cy = centres[qpv]
        xy = np.column_stack([rng.normal(cx, 250, n), rng.normal(cy, 250, n)])
        frames.append(pd.DataFrame({"DEPCOM_CODE": QPV_DEMO[qpv]["code_insee"], "PLG_QP": qpv,
                                    "X": xy[:, 0], "Y": xy[:, 1]}))
    df = pd.concat(frames, ignore_index=True)
    n = len(df)
    in_qpv = (df["PLG_QP"] != "").to_numpy()

    df["DEPCOM_LIBELLE"] = df["DEPCOM_CODE"].map(noms)
    df["EPCI_CODE"] = "242100410"
    df["QPV_CODE"] = np.where(in_qpv, "1", "0")
    # Fictitious IRIS: the commune code and a 1.5 km grid cell (real IRIS come from IGN contours).
    cell = ((df["X"] // 1500) % 10).astype(int).astype(str) + ((df["Y"] // 1500) % 10).astype(int).astype(str)
    small = df["DEPCOM_CODE"].map(PARC_2021) < 2000
    df["PLG_IRIS2022_CODE"] = df["DEPCOM_CODE"] + np.where(small, "0000", "01" + cell)
    pieces = np.where(in_qpv, rng.choice(np.arange(1, 7), n, p=PIECES_QPV),
                      rng.choice(np.arange(1, 7), n, p=PIECES_HORS_QPV))
    df["NBPIECE"] = pieces
    df["TYPECONST_CODE"] = np.where(rng.random(n) < np.where(in_qpv, 0.01, 0.12), "I", "C")
    df["SURFHAB"] = np.round(18 + 16 * pieces + rng.normal(0, 5, n)).clip(14, 180).astype(int)
    construct = np.where(in_qpv, rng.integers(1955, 1978, n), rng.integers(1950, 2021 + max(ecart, 0), n))
    df["CONSTRUCT"] = construct
    df["LOCAT"] = np.minimum(construct + rng.integers(0, 2, n), annee - 1)
    old = construct < 1977
    finan = np.where(old, rng.choice([50, 52, 53, 54], n, p=[0.05, 0.8, 0.1, 0.05]),
                     rng.choice([10, 12, 13, 14, 16], n, p=[0.2, 0.1, 0.5, 0.17, 0.03]))
    df["FINAN_CODE"] = finan
    df["CONV"] = np.where(finan == 16, "0", "1")
    df["DPEDATE"] = pd.to_datetime("2019-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    df["DPEDATE"] = df["DPEDATE"].dt.strftime("%Y-%m-%d")
    classes = np.array(list("ABCDEFG"))
    dpe = np.clip(np.where(old, rng.normal(4.0, 0.9, n), rng.normal(2.4, 0.9, n)).round(), 0, 6).astype(int)
    df["DPEENERGIE"] = classes[dpe]
    df["DPESERRE"] = classes[np.clip(dpe + rng.integers(-1, 2, n), 0, 6)]
    df["PMR_CODE"] = np.where(rng.random(n) < 0.08, "1", "0")
    df["NUMVOIE"] = rng.integers(1, 120, n)
    df["TYPVOIE"] = rng.choice(["RUE", "AV", "BD", "ALL", "PL"], n, p=[0.6, 0.15, 0.1, 0.1, 0.05])
    df["NOMVOIE"] = "VOIE FICTIVE " + rng.integers(1, 400, n).astype(str)
    df["CODEPOSTAL"] = np.where(df["DEPCOM_CODE"] == "21231", "21000", "21" + df["DEPCOM_CODE"].str[-3:])
    df["X"] = df["X"].round(0).astype(int)
    df["Y"] = df["Y"].round(0).astype(int)
    df["EPSG"] = 2154

    bailleurs = dict(BAILLEURS_2021, AUTRE=AUTRE_2021)
    counts = _counts(n, bailleurs)
    pool = np.repeat(np.array(list(counts)), list(counts.values()))
    df["BAILLEUR"] = rng.permutation(pool)
    # Rent €/m² (surface utile): QPV dwellings are older and cheaper (CIA: 70 % of QPV dwellings
    # below the PLAI ceiling of 5,10 €/m², 23 % outside). Demo distributions shaped on that.
    loyer_m2 = np.where(in_qpv, rng.normal(4.75, 0.55, n), rng.normal(5.95, 1.05, n)).clip(2.8, 11.0)
    surfmode = np.round(df["SURFHAB"].to_numpy() * rng.uniform(1.0, 1.08, n), 1)
    df["SURFMODE"] = surfmode
    df["MODESURF"] = "U"
    df["LOYERPRINC"] = np.round(loyer_m2 * surfmode, 2)
    df["MODE"] = rng.choice([1, 2, 3], n, p=[0.95, 0.03, 0.02])
    df["CONTINGENT"] = rng.choice(CONTINGENTS, n, p=CONTINGENT_PARTS)
    df = df.sort_values(["BAILLEUR", "DEPCOM_CODE", "PLG_QP", "X", "Y"], kind="stable").reset_index(drop=True)
    residence_rank = df.groupby(["BAILLEUR", "DEPCOM_CODE", "PLG_QP"]).cumcount() // 60
    df["RESIDENCE_ID"] = ("RES-" + df["BAILLEUR"] + "-" + df["DEPCOM_CODE"] + "-"
                          + residence_rank.astype(str).str.zfill(3))
    df["IDENT_LOGT"] = "DEMO" + pd.Series(np.arange(1, n + 1), dtype="int64").astype(str).str.zfill(8)
    return df.rename(columns={"DEPCOM_CODE": "DEPCOM"} if annee > 2024 else {})[dido_columns(annee)]


def ecrire_rpls(df: pd.DataFrame, path: Path) -> Path:
    """Write a demo RPLS as the SDES DiDo files are: `;`, UTF-8, decimal point."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, sep=";", index=False, encoding="utf-8", lineterminator="\n",
              quoting=csv.QUOTE_MINIMAL)
    return path
