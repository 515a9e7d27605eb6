"""Demo occupation sources: the bailleurs' résidences, OPS, SLS and SISAL, in the contract layouts.

Every function takes the RPLS of a millésime as a DataFrame with the contract's column names
(``IDENT_LOGT``, ``BAILLEUR``, ``DEPCOM``, ``PLG_IRIS``, ``QPV_CODE``, ``PLG_QP``, ``NBPIECE``,
``MODE``, ``LOYERPRINC``, ``SURFMODE``, ``RESIDENCE_ID``, ``PMR_CODE``, ``FINAN_CODE``,
``CONSTRUCT``, ``LOCAT``) and uses nothing else of it; export names (``DEPCOM_CODE``,
``PLG_IRIS<vintage>_CODE``) are accepted too. Everything is fictitious and deterministic: the same
seed and the same RPLS give byte-identical files (``rng = default_rng([seed, annee, source])``).

Published figures the OPS is shaped on (CIA Dijon métropole 2022 §2.3 / PPGDID), checked by
:func:`cibles` on the files read back:

- OPS 2020: more than half of the households living in QPV have resources below 40 % of the PLUS
  ceiling (the demo aims at 55 %, and keeps the other survey years around that value, with a slow
  rise of 0,4 point a year — the « paupérisation » of the parc);
- among households moved in during the last three years (``EMMENAGE_RECENT``), the share below
  40 % of the PLUS ceiling is 63 % in QPV and 11 % outside. **Interpretation**: the CIA's « 63 % /
  11 % » is read as two shares *within* the recent movers of each zone (P(< 40 % | récent, QPV) and
  P(< 40 % | récent, hors QPV)), not as the split of the poor recent movers between zones;
- the IRIS classed *fragile* or *très fragile* (indicators.md section D, on the OPS 2020
  respondents) hold 11 249 dwellings of the RPLS 2020 millésime, 7 357 of them in QPV.

How the fragility target is met: the set of fragile IRIS is chosen first, from whatever IRIS the
RPLS gives (:func:`choisir_iris_fragiles`: every IRIS mostly in QPV, then the other IRIS of the
communes with a QPV and the cheapest rents, the last ones by a subset sum on dwelling counts so the
two totals are met); then the households are drawn, and a few of them adjusted, so that every IRIS
of the set meets C1 and C3 with a margin (C1 ≥ 43 %, C3 ≥ 22 %; QPV IRIS also meet C2: *très
fragile*), every other IRIS meets at most one criterion (C1 ≤ 37 %, C3 ≤ 18 %; a fifth of the
larger ones are made *vigilance* on C3), and every fragile IRIS has at least 11 respondents (the
publication threshold). Other survey years use the same rule with targets moved by +120 dwellings
(+25 in QPV) a year; about a quarter of the fragile IRIS change from one survey to the next
(the subset sum is solved again on each millésime).

Choices of the demo where nothing is published (all plausible orders of magnitude, not facts):
response rate to the OPS 82 % in QPV, 88 % outside; 24–27 % of households moved in during the
last three years (all of those in dwellings first let in the last three years); SLS surveyed
households = the occupied dwellings less the APL recipients (exempt), 90 % answering, 5 % above the
ceiling outside QPV (1 % in QPV), 40 % of those above 120 %; the SLS is charged to every household
above 120 % and to 30 % of those between 100 and 120 %, never in QPV; SISAL ~370 agréments a year
(the CIA's yearly growth of the parc), 30 % PLAI, 45 % PLUS, 25 % PLS, by operations of 5–40
dwellings placed where the parc built in the last five years is; 6 % of the operations in a
commune with a QPV are in the QPV.
"""

from __future__ import annotations

import csv
import re
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.demo.calibration import Cible, lire
from pipeline.settings import DBT_PROJECT_DIR
from pipeline.sources.extract import period_of

DEFAULT_SEED = 2021
#: Small constants that separate the random streams of the sources (rng = [seed, annee, constant]).
SOURCE_RESIDENCES, SOURCE_OPS, SOURCE_SLS, SOURCE_SISAL = 31, 32, 33, 34

#: OPS survey years (every two years, situation on 1 January).
ANNEES_OPS = (2016, 2018, 2020, 2022, 2024)
SOURCE_CIA = "CIA Dijon métropole 2022 §2.3 / PPGDID"

#: Calibration targets (SOURCE_CIA) and the demo's generation targets around them.
FRAGILES_2020 = 11249
FRAGILES_QPV_2020 = 7357
PART_QPV_SOUS_40 = 0.55          # published: « plus de 50 % » (2020)
RECENTS_QPV_SOUS_40 = 0.63
RECENTS_HORS_QPV_SOUS_40 = 0.11
#: Drift of the targets per year away from 2020 (demo choice).
FRAGILES_PAR_AN, FRAGILES_QPV_PAR_AN, DERIVE_PAR_AN = 120, 25, 0.004

#: Fragility thresholds (indicators.md section D); the referential seed wins when present.
SEUILS_FRAGILITE = {"C1": 0.40, "C2": 0.50, "C3": 0.20}
SEUIL_RESSOURCES = 40.0          # % of the PLUS ceiling
MIN_REPONDANTS = 11              # publication threshold (indicators.md section F)
#: Margins kept from the thresholds by the generator.
C1_FRAGILE, C1_AUTRE, C2_VIGILANCE, C3_FRAGILE, C3_AUTRE = 0.43, 0.37, 0.45, 0.22, 0.18

BAILLEURS = ("GDH", "ORVITIS", "HABELLIS", "CDC_HABITAT", "ICF", "AUTRE")
COMPOSITIONS = np.array(["PERSONNE_SEULE", "COUPLE_SANS_ENFANT", "COUPLE_AVEC_ENFANTS",
                         "FAMILLE_MONOPARENTALE", "AUTRE"])
#: P(composition | rooms 1..6) — demo values.
COMPOSITION_PAR_PIECES = np.array([
    [0.88, 0.07, 0.00, 0.02, 0.03],
    [0.58, 0.20, 0.04, 0.13, 0.05],
    [0.33, 0.17, 0.18, 0.25, 0.07],
    [0.15, 0.11, 0.36, 0.30, 0.08],
    [0.07, 0.06, 0.50, 0.29, 0.08],
    [0.04, 0.04, 0.56, 0.28, 0.08],
])
#: Extra children (beyond the first) by rooms 1..6: Poisson mean and cap — demo values.
ENFANTS_COUPLE = np.array([0.0, 0.0, 0.5, 1.0, 1.7, 2.4])
ENFANTS_MONO = np.array([0.0, 0.0, 0.35, 0.8, 1.4, 2.0])
ENFANTS_MAX = np.array([0, 0, 1, 2, 3, 5])
#: Relative chance of low resources by composition (same order as COMPOSITIONS).
POIDS_PAUVRETE = np.array([1.1, 0.7, 0.9, 1.6, 1.0])

PRODUITS = ("PLAI", "PLUS", "PLS")
PARTS_PRODUITS = np.array([0.30, 0.45, 0.25])
AGREMENTS_PAR_AN = 370

NOMS_RESIDENCES = (
    "des Tilleuls", "des Acacias", "du Parc", "des Lilas", "des Peupliers", "du Moulin", "des Vignes",
    "de la Source", "des Glycines", "des Cèdres", "des Érables", "du Lac", "des Coteaux",
    "des Charmilles", "des Marronniers", "du Clos", "des Roses", "des Platanes", "des Bleuets",
    "des Hirondelles", "des Saules", "des Frênes", "des Chênes", "des Ormes", "du Verger",
    "des Jardins", "des Pins", "des Mésanges", "du Champ Fleuri", "des Tanneries", "des Bruyères",
    "des Aubépines", "des Noyers", "de la Combe", "des Bouleaux", "du Grand Pré", "des Alouettes",
    "des Violettes", "des Cerisiers", "du Val", "des Mûriers", "des Pâquerettes", "du Lavoir",
    "des Capucines", "de la Roseraie", "des Sorbiers", "du Pressoir", "des Genêts",
)

OPS_COLUMNS = ["BAILLEUR", "LOGEMENT_ID", "RESIDENCE_ID", "COMMUNE", "IRIS", "QPV", "REPONDANT",
               "NB_OCCUPANTS", "NB_MAJEURS", "NB_MAJEURS_CHOMAGE", "NB_MINEURS", "AGE_TITULAIRE",
               "COMPOSITION", "RESSOURCES_PCT_PLUS", "EMMENAGE_RECENT", "APL"]
RESIDENCE_COLUMNS = ["RESIDENCE_ID", "BAILLEUR", "NOM", "COMMUNE", "QPV", "NB_LOGEMENTS",
                     "NB_LOGEMENTS_ADAPTES", "LABEL_BAS_LOYER"]
SLS_COLUMNS = ["BAILLEUR", "RESIDENCE_ID", "COMMUNE", "QPV", "NB_LOGEMENTS_ENQUETES", "NB_REPONDANTS",
               "NB_DEPASSEMENT", "NB_DEPASSEMENT_20", "NB_SLS_APPLIQUE"]
SISAL_COLUMNS = ["ANNEE", "COMMUNE", "BAILLEUR", "PRODUIT", "NB_LOGEMENTS", "QPV"]

_IRIS_EXPORT = re.compile(r"PLG_IRIS\d{4}_CODE")


# --- the RPLS interface -----------------------------------------------------------------------

def _rpls(rpls: pd.DataFrame) -> pd.DataFrame:
    """The RPLS columns this module uses, normalised (strings, numbers, flags), sorted by dwelling."""
    renames = {}
    if "DEPCOM" not in rpls.columns and "DEPCOM_CODE" in rpls.columns:
        renames["DEPCOM_CODE"] = "DEPCOM"
    if "PLG_IRIS" not in rpls.columns:
        found = [c for c in rpls.columns if _IRIS_EXPORT.fullmatch(str(c))]
        if found:
            renames[found[0]] = "PLG_IRIS"
    df = rpls.rename(columns=renames)
    out = pd.DataFrame(index=df.index)
    for column in ("IDENT_LOGT", "BAILLEUR", "DEPCOM", "PLG_IRIS", "PLG_QP", "RESIDENCE_ID"):
        values = df[column] if column in df.columns else pd.Series("", index=df.index)
        out[column] = values.astype("string").fillna("").str.strip().astype(object)

    def number(column: str) -> pd.Series:
        if column not in df.columns:
            return pd.Series(np.nan, index=df.index)
        if pd.api.types.is_numeric_dtype(df[column]) and not pd.api.types.is_bool_dtype(df[column]):
            return df[column].astype(float)
        return pd.to_numeric(df[column].astype("string").str.strip().str.replace(",", ".", regex=False),
                             errors="coerce").astype(float)

    out["_QPV"] = number("QPV_CODE").fillna(0).eq(1)
    out["_QP"] = np.where(out["_QPV"], out["PLG_QP"], "")
    out["_MODE"] = number("MODE")
    out["_PIECES"] = number("NBPIECE").fillna(3).clip(1, 6).astype(int)
    out["_LOCAT"] = number("LOCAT")
    out["_CONSTRUCT"] = number("CONSTRUCT")
    pmr = number("PMR_CODE")
    out["_PMR"] = pmr.eq(1)
    out["_PMR_CONNU"] = bool(pmr.notna().any())
    loyer, surface = number("LOYERPRINC"), number("SURFMODE")
    valide = loyer.notna() & (loyer > 0) & (loyer != 9999) & surface.notna() & (surface > 0)
    out["_LOYER_M2"] = np.where(valide, loyer / surface.where(surface > 0, 1.0), np.nan)
    return out.sort_values("IDENT_LOGT", kind="stable").reset_index(drop=True)


def plafond_loyer_plai(annee: int) -> float:
    """PLAI rent ceiling (€/m² SU/month) of ``annee`` (the closest year of the seed when absent)."""
    seed = pd.read_csv(DBT_PROJECT_DIR / "seeds" / "ref_loyers_plafonds.csv")
    seed = seed[seed["produit"] == "PLAI"]
    ligne = seed.iloc[(seed["annee"] - annee).abs().argsort(kind="stable")].iloc[0]
    return float(ligne["loyer_m2"])


def seuils_fragilite() -> dict[str, float]:
    """C1–C3 thresholds from the referential seed (indicators.md section D values if absent)."""
    path = DBT_PROJECT_DIR / "seeds" / "ref_seuils_fragilite.csv"
    if not path.exists():
        return dict(SEUILS_FRAGILITE)
    seed = pd.read_csv(path, dtype={"critere": str})
    seed = seed[seed["nature"] == "critere"]
    return {**SEUILS_FRAGILITE, **dict(zip(seed["critere"], seed["seuil"].astype(float)))}


def _counts(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainders)."""
    weights = np.asarray(weights, dtype=float)
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=int)
    raw = weights / weights.sum() * total
    base = np.floor(raw).astype(int)
    order = np.argsort(-(raw - base), kind="stable")
    base[order[: total - base.sum()]] += 1
    return base


# --- résidences ---------------------------------------------------------------------------------

def _modes(df: pd.DataFrame, by: list[str], column: str) -> pd.Series:
    """Most frequent ``column`` per ``by`` group (ties: the smallest value), indexed like a groupby."""
    counts = df.groupby(by + [column], sort=True).size().rename("_k").reset_index()
    counts = counts.sort_values(by + ["_k", column], ascending=[True] * len(by) + [False, True], kind="stable")
    first = counts.drop_duplicates(by)
    return first.set_index(by if len(by) > 1 else by[0])[column]


def generer_residences(rpls: pd.DataFrame, annee: int, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """The bailleurs' résidences of millésime ``annee``: one row per RPLS ``RESIDENCE_ID``.

    ``NB_LOGEMENTS`` counts the RPLS dwellings of the résidence; ``NB_LOGEMENTS_ADAPTES`` those with
    ``PMR_CODE = 1`` (a 6 % draw when the RPLS has no PMR code); ``LABEL_BAS_LOYER`` is O when more
    than half of the dwellings with a rent are below the PLAI rent ceiling of ``annee`` (the rents' own year). Names
    are fictitious, stable across millésimes (drawn from the identifier), unique in a commune.
    """
    rng = np.random.default_rng([seed, annee, SOURCE_RESIDENCES])
    df = _rpls(rpls)
    df = df[df["RESIDENCE_ID"] != ""]
    plafond = plafond_loyer_plai(annee)
    df = df.assign(_BAS=df["_LOYER_M2"] < plafond, _LOYER_CONNU=df["_LOYER_M2"].notna())
    g = df.groupby("RESIDENCE_ID", sort=True)
    res = pd.DataFrame({
        "BAILLEUR": _modes(df, ["RESIDENCE_ID"], "BAILLEUR"),
        "COMMUNE": _modes(df, ["RESIDENCE_ID"], "DEPCOM"),
        "_PART_QPV": g["_QPV"].mean(),
        "NB_LOGEMENTS": g.size(),
        "_PMR": g["_PMR"].sum(),
        "_BAS": g["_BAS"].sum(),
        "_CONNUS": g["_LOYER_CONNU"].sum(),
    })
    qp = _modes(df[df["_QPV"]], ["RESIDENCE_ID"], "_QP")
    res["QPV"] = np.where(res["_PART_QPV"] > 0.5, qp.reindex(res.index).fillna(""), "")
    if bool(df["_PMR_CONNU"].any()):
        res["NB_LOGEMENTS_ADAPTES"] = res["_PMR"].astype(int)
    else:
        res["NB_LOGEMENTS_ADAPTES"] = rng.binomial(res["NB_LOGEMENTS"].to_numpy(), 0.06)
    res["LABEL_BAS_LOYER"] = np.where((res["_CONNUS"] > 0) & (res["_BAS"] * 2 > res["_CONNUS"]), "O", "N")
    res = res.reset_index()
    noms, pris = [], set()
    for rid, commune in zip(res["RESIDENCE_ID"], res["COMMUNE"]):
        start = zlib.crc32(rid.encode("utf-8")) % len(NOMS_RESIDENCES)
        for k in range(len(NOMS_RESIDENCES) * 50):
            base = NOMS_RESIDENCES[(start + k) % len(NOMS_RESIDENCES)]
            tour = k // len(NOMS_RESIDENCES)
            nom = f"Résidence {base}{f' {tour + 1}' if tour else ''} (fictif)"
            if (commune, nom) not in pris:
                break
        pris.add((commune, nom))
        noms.append(nom)
    res["NOM"] = noms
    return res[RESIDENCE_COLUMNS]


# --- the fragile IRIS ---------------------------------------------------------------------------

def cibles_fragilite(annee: int) -> tuple[int, int]:
    """Dwellings (all, in QPV) the demo puts in fragile IRIS for survey year ``annee``."""
    ecart = annee - 2020
    return FRAGILES_2020 + FRAGILES_PAR_AN * ecart, FRAGILES_QPV_2020 + FRAGILES_QPV_PAR_AN * ecart


def _iris(df: pd.DataFrame) -> pd.DataFrame:
    """Per IRIS: dwellings, in QPV, occupied, commune, mean rent €/m²."""
    g = df.groupby("PLG_IRIS", sort=True)
    return pd.DataFrame({
        "n": g.size(),
        "q": g["_QPV"].sum().astype(int),
        "occ": g["_MODE"].agg(lambda s: int((s == 1).sum())),
        "commune": _modes(df, ["PLG_IRIS"], "DEPCOM"),
        "loyer": g["_LOYER_M2"].mean(),
    })


def _sac(poids: list[int], capacite: int) -> tuple[np.ndarray, np.ndarray]:
    """0/1 subset sums of ``poids`` up to ``capacite``: (reachable, item that first reached)."""
    reach = np.zeros(capacite + 1, dtype=bool)
    reach[0] = True
    who = np.full(capacite + 1, -1, dtype=int)
    for j, w in enumerate(poids):
        if w <= 0 or w > capacite:
            continue
        shifted = np.zeros_like(reach)
        shifted[w:] = reach[:-w]
        new = shifted & ~reach
        who[new] = j
        reach |= shifted
    return reach, who


def _retrace(who: np.ndarray, poids: list[int], s: int) -> list[int]:
    out = []
    while s > 0:
        j = int(who[s])
        out.append(j)
        s -= poids[j]
    return out


def choisir_iris_fragiles(rpls: pd.DataFrame, logements: int, logements_qpv: int,
                          min_occupes: int = 15) -> list[str]:
    """The IRIS the demo makes fragile: they hold ``logements`` RPLS dwellings, ``logements_qpv`` in QPV.

    Candidates have at least ``min_occupes`` occupied dwellings (so 11 respondents can be had).
    Every IRIS mostly in QPV is taken (unless the totals cannot be met then); the other IRIS with
    QPV dwellings are chosen by enumeration, the IRIS without any by rank (communes with a QPV
    first, then cheap rents, then a stable hash of the code) with a subset sum on the last ones.
    Best effort: the closest totals when they cannot be met exactly.
    """
    df = _rpls(rpls) if "_QPV" not in rpls.columns else rpls
    iris = _iris(df)
    iris = iris[(iris["occ"] >= min_occupes) & (iris.index != "")]
    communes_qpv = set(df.loc[df["_QPV"], "DEPCOM"])
    hors = iris[iris["q"] == 0].copy()
    hors["_rang"] = [(0 if c in communes_qpv else 1, round(l * 4) / 4 if l == l else 99.0,
                      zlib.crc32(code.encode("utf-8"))) for code, c, l in
                     zip(hors.index, hors["commune"], hors["loyer"])]
    hors = hors.sort_values("_rang", kind="stable")
    pool_codes, pool_n = list(hors.index), [int(v) for v in hors["n"]]
    cumul = np.concatenate([[0], np.cumsum(pool_n)])
    T, Q = int(logements), int(logements_qpv)
    tol_t, tol_q = max(1, T // 100), max(1, Q // 100)

    def essai(force: bool) -> tuple[float, list[str]]:
        qitems = iris[iris["q"] > 0]
        forced = qitems[(qitems["q"] * 2 > qitems["n"])] if force else qitems.iloc[:0]
        optional = qitems.drop(forced.index)
        base = (int(forced["q"].sum()), int(forced["n"].sum()))
        states: dict[tuple[int, int], tuple[str, ...]] = {base: tuple(forced.index)}
        for code, q, n in zip(optional.index, optional["q"], optional["n"]):
            new = dict(states)
            for (sq, st), subset in states.items():
                key = (sq + int(q), st + int(n))
                if key[0] <= Q * 1.2 + tol_q and key[1] <= T * 1.5 + tol_t and key not in new:
                    new[key] = subset + (code,)
            states = new
            if len(states) > 60000:  # keep the states closest to the QPV target
                keep = sorted(states, key=lambda k: (abs(k[0] - Q), k))[:30000]
                states = {k: states[k] for k in keep}

        def borne(k: tuple[int, int]) -> tuple[float, int, int]:
            # the IRIS without QPV can only add dwellings: a lower bound of the score
            return (max(abs(k[0] - Q) / Q, max(0, k[1] - T) / T), abs(k[0] - Q), k[1])

        keys = sorted(states, key=borne)[:300]
        best: tuple[float, list[str]] | None = None
        for sq, st in keys:
            reste = T - st
            p = int(np.searchsorted(cumul, max(0, reste - 800), side="right")) - 1
            marge = pool_n[p:p + 40]
            cible = reste - int(cumul[p])
            reach, who = _sac(marge, max(0, cible + tol_t))
            sums = np.flatnonzero(reach)
            s = int(sums[np.argmin(np.abs(sums - cible))]) if len(sums) else 0
            total = st + int(cumul[p]) + s
            score = max(abs(sq - Q) / Q, abs(total - T) / T) + 1e-3 * (abs(sq - Q) / Q + abs(total - T) / T)
            if best is None or score < best[0] - 1e-12:
                chosen = list(states[(sq, st)]) + pool_codes[:p] + [pool_codes[p + j] for j in _retrace(who, marge, s)]
                best = (score, chosen)
            if score == 0:
                break
        assert best is not None
        return best

    score, chosen = essai(force=True)
    if score > 0.01:
        score2, chosen2 = essai(force=False)
        if score2 < score:
            chosen = chosen2
    return sorted(chosen)


# --- OPS ----------------------------------------------------------------------------------------

def _ajuster(idx: np.ndarray, flag: np.ndarray, key: np.ndarray, nombre: int, valeur: bool) -> None:
    """Set ``flag`` to ``valeur`` on ``nombre`` of ``idx`` where it is not yet (highest key first)."""
    if nombre <= 0:
        return
    cand = idx[flag[idx] != valeur]
    order = np.argsort(-key[cand] if valeur else key[cand], kind="stable")
    flag[cand[order[:nombre]]] = valeur


def _chomage(idx: np.ndarray, ch: np.ndarray, maj: np.ndarray, prio: np.ndarray, delta: int) -> None:
    """Add (delta > 0) or remove unemployed adults in households ``idx``, by priority ``prio``."""
    if delta == 0:
        return
    if delta > 0:
        cap = maj[idx] - ch[idx]
        order = np.argsort(-prio[idx], kind="stable")
    else:
        cap = ch[idx].copy()
        order = np.argsort(prio[idx], kind="stable")
    need = abs(delta)
    for j in order:
        if need <= 0:
            break
        take = int(min(cap[j], need))
        if take:
            ch[idx[j]] += take if delta > 0 else -take
            need -= take


def generer_ops(rpls: pd.DataFrame, annee: int, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """OPS of survey year ``annee`` from the RPLS millésime of the same year (situation 1 January).

    One row per occupied dwelling (``MODE`` 1); household columns only for respondents.
    """
    rng = np.random.default_rng([seed, annee, SOURCE_OPS])
    df = _rpls(rpls)
    cible_t, cible_q = cibles_fragilite(annee)
    fragiles = choisir_iris_fragiles(df, cible_t, cible_q)
    d = DERIVE_PAR_AN * (annee - 2020)

    occ = df[df["_MODE"] == 1].reset_index(drop=True)
    n = len(occ)
    qpv = occ["_QPV"].to_numpy()
    iris = occ["PLG_IRIS"].to_numpy().astype(str)
    codes, iris_idx = np.unique(iris, return_inverse=True)
    frag_code = np.isin(codes, fragiles)
    frag = frag_code[iris_idx]

    # Respondents, at least MIN_REPONDANTS in every fragile IRIS.
    rep = rng.random(n) < np.where(qpv, 0.82, 0.88)
    for c in np.flatnonzero(frag_code):
        idx = np.flatnonzero(iris_idx == c)
        missing = MIN_REPONDANTS - int(rep[idx].sum())
        if missing > 0:
            rep[idx[~rep[idx]][:missing]] = True
    locat = occ["_LOCAT"].to_numpy()
    recent = (rng.random(n) < np.where(qpv, 0.27, 0.24)) | (np.nan_to_num(locat, nan=0) >= annee - 3)

    # Household structure, consistent with the rooms.
    pieces = occ["_PIECES"].to_numpy()
    p = COMPOSITION_PAR_PIECES[pieces - 1]
    comp = (rng.random(n)[:, None] > np.cumsum(p, axis=1)[:, :-1]).sum(axis=1)
    pi = pieces - 1
    extra_c = np.minimum(rng.poisson(ENFANTS_COUPLE[pi]), ENFANTS_MAX[pi])
    extra_m = np.minimum(rng.poisson(ENFANTS_MONO[pi]), ENFANTS_MAX[pi])
    adulte_sup = rng.random(n)
    maj = np.select([comp == 0, comp == 1, comp == 2, comp == 3],
                    [1, 2, 2 + ((adulte_sup < 0.12) & (pieces >= 4)), 1 + ((adulte_sup < 0.15) & (pieces >= 3))],
                    2 + rng.binomial(2, np.where(pieces >= 3, 0.25, 0.0)))
    mineurs = np.select([comp <= 1, comp == 2, comp == 3],
                        [0, 1 + extra_c, 1 + extra_m],
                        np.minimum(rng.poisson(0.4, n), np.maximum(pieces - 2, 0)))
    vieux = rng.random(n) < 0.38
    moyenne = np.select([comp == 0, comp == 1, comp == 2, comp == 3], [np.where(vieux, 75, 42), 58, 40, 39], 50)
    ecart = np.select([comp == 0, comp == 1], [np.where(vieux, 7, 12), 15], 9)
    bas = np.where((comp == 0) & vieux, 65, 19)
    haut = np.where((comp == 0) & ~vieux, 64, np.where((comp == 2) | (comp == 3), 66, 95))
    age = np.clip(np.round(rng.normal(moyenne - 6 * recent, ecart)), bas, haut).astype(int)
    retraite = (age >= 63) & (comp <= 1)

    # IRIS mode: F fragile, V vigilance (C3 only), N not fragile.
    r_idx = np.flatnonzero(rep)
    nrep = np.bincount(iris_idx[r_idx], minlength=len(codes))
    mode = np.where(frag_code, "F", "N").astype(object)
    tirage = rng.random(len(codes))
    mode[(~frag_code) & (nrep >= 30) & (tirage < 0.2)] = "V"
    fort = np.isin(mode, ["F", "V"])[iris_idx]
    # C3 aimed at per IRIS (spread above the threshold, so the classes do not sit on the margin).
    cible_c3 = np.where(mode == "F", rng.uniform(C3_FRAGILE, 0.30, len(codes)),
                        rng.uniform(C3_FRAGILE, 0.27, len(codes)))

    # Low resources (< 40 % PLUS): quotas per IRIS × QPV × recent cell, two of them global.
    iris_rate = rng.uniform(0.12, 0.32, len(codes))[iris_idx]
    rate = np.select([qpv & recent & ~frag, qpv & ~recent & frag, qpv & ~recent & ~frag,
                      ~qpv & recent & frag, ~qpv & ~recent & frag],
                     [0.45, 0.52, 0.36, 0.30, 0.55], iris_rate) + d
    quota_qr = qpv & recent & frag
    quota_hr = ~qpv & recent & ~frag
    cell = iris_idx * 4 + qpv * 2 + recent
    key = np.log(POIDS_PAUVRETE[comp]) + rng.gumbel(size=n)
    low = np.zeros(n, dtype=bool)
    cells = np.unique(cell[r_idx])
    taille: dict[int, int] = {}
    members: dict[int, np.ndarray] = {}
    order = r_idx[np.lexsort((-key[r_idx], cell[r_idx]))]
    bounds = np.flatnonzero(np.diff(cell[order])) + 1
    for grp in np.split(order, bounds):
        members[int(cell[grp[0]])] = grp
        taille[int(cell[grp[0]])] = len(grp)
    k_cell: dict[int, int] = {}
    u = rng.random(len(cells))
    for c, uc in zip(cells, u):
        g = members[int(c)]
        if not (quota_qr[g[0]] or quota_hr[g[0]]):
            k_cell[int(c)] = int(min(len(g), np.floor(rate[g[0]] * len(g) + uc)))
    for quota, cible in ((quota_qr, RECENTS_QPV_SOUS_40 + d), (quota_hr, RECENTS_HORS_QPV_SOUS_40 + d)):
        zone = qpv & recent if quota is quota_qr else ~qpv & recent
        total = int(round(cible * int((zone & rep).sum())))
        deja = sum(k for c, k in k_cell.items() if zone[members[c][0]])
        q_cells = [int(c) for c in cells if quota[members[int(c)][0]]]
        sizes = np.array([taille[c] for c in q_cells])
        alloc = _counts(max(0, total - deja), sizes)
        alloc = np.minimum(alloc, sizes)
        for c, k in zip(q_cells, alloc):
            k_cell[c] = int(k)
    for c, g in members.items():
        low[g[:k_cell[c]]] = True

    # C1 (and C2 for vigilance IRIS) adjusted inside each IRIS, non-recent households first.
    by_iris = np.split(r_idx[np.argsort(iris_idx[r_idx], kind="stable")],
                       np.flatnonzero(np.diff(np.sort(iris_idx[r_idx], kind="stable"))) + 1)
    for idx in by_iris:
        if not len(idx):
            continue
        m = mode[iris_idx[idx[0]]]
        nb = len(idx)
        anciens, recents = idx[~recent[idx]], idx[recent[idx]]
        if m == "F":
            need = int(np.ceil(C1_FRAGILE * nb - 1e-9)) - int(low[idx].sum())
            before = int(low[anciens].sum())
            _ajuster(anciens, low, key, need, True)
            _ajuster(recents, low, key, need - (int(low[anciens].sum()) - before), True)
        else:
            if m == "V" and len(recents):
                excess = int(low[recents].sum()) - int(np.floor(C2_VIGILANCE * len(recents) + 1e-9))
                _ajuster(recents, low, -key, excess, False)
            excess = int(low[idx].sum()) - int(np.floor(C1_AUTRE * nb + 1e-9))
            before = int(low[anciens].sum())
            _ajuster(anciens, low, -key, excess, False)
            _ajuster(recents, low, -key, excess - (before - int(low[anciens].sum())), False)

    # Unemployed adults, then C3 adjusted inside each IRIS.
    p_ch = np.where(fort, np.where(low, 0.40, 0.13), np.where(low, 0.27, 0.06))
    p_ch = np.where(retraite, 0.0, p_ch)
    ch = rng.binomial(maj, p_ch)
    prio = low * 1.0 + rng.random(n)
    prio_plus = np.where(retraite, -10.0, prio)
    for idx in by_iris:
        if not len(idx):
            continue
        m = mode[iris_idx[idx[0]]]
        adultes = int(maj[idx].sum())
        if m in ("F", "V"):
            delta = int(np.ceil(cible_c3[iris_idx[idx[0]]] * adultes - 1e-9)) - int(ch[idx].sum())
            _chomage(idx[~retraite[idx]], ch, maj, prio_plus, max(0, delta))
        else:
            delta = int(np.floor(C3_AUTRE * adultes + 1e-9)) - int(ch[idx].sum())
            _chomage(idx, ch, maj, prio, min(0, delta))

    # Resources (% of the PLUS ceiling) and APL.
    pct = np.where(low, 2 + 37.5 * rng.beta(2.2, 1.5, n),
                   40.5 + rng.gamma(2.0, np.where(qpv, 11.0, 13.0), n))
    pct = np.clip(np.round(pct, 1), 2.0, 250.0)
    pct = np.where(low, np.minimum(pct, 39.5), np.maximum(pct, 40.5))
    occupants = maj + mineurs
    p_apl = np.select([pct < 40, pct < 60, pct < 80, pct < 100], [0.85, 0.5, 0.18, 0.05], 0.0)
    p_apl = np.clip(p_apl + 0.04 * (occupants - 2).clip(0, 3), 0, 0.95)
    apl = rng.random(n) < p_apl

    out = pd.DataFrame({
        "BAILLEUR": occ["BAILLEUR"], "LOGEMENT_ID": occ["IDENT_LOGT"], "RESIDENCE_ID": occ["RESIDENCE_ID"],
        "COMMUNE": occ["DEPCOM"], "IRIS": occ["PLG_IRIS"], "QPV": occ["_QP"],
        "REPONDANT": np.where(rep, "O", "N"),
    })
    on = pd.Series(rep)

    def masque(values, dtype: str) -> pd.Series:
        return pd.Series(values).astype(dtype).where(on)

    out["NB_OCCUPANTS"] = masque(occupants, "Int64")
    out["NB_MAJEURS"] = masque(maj, "Int64")
    out["NB_MAJEURS_CHOMAGE"] = masque(ch, "Int64")
    out["NB_MINEURS"] = masque(mineurs, "Int64")
    out["AGE_TITULAIRE"] = masque(age, "Int64")
    out["COMPOSITION"] = pd.Series(COMPOSITIONS[comp]).where(on, "")
    out["RESSOURCES_PCT_PLUS"] = masque(pct, "Float64")
    out["EMMENAGE_RECENT"] = pd.Series(np.where(recent, "O", "N")).where(on, "")
    out["APL"] = pd.Series(np.where(apl, "O", "N")).where(on, "")
    out = out.sort_values(["BAILLEUR", "RESIDENCE_ID", "LOGEMENT_ID"], kind="stable")
    return out.reset_index(drop=True)[OPS_COLUMNS]


# --- SLS and SISAL ------------------------------------------------------------------------------

def generer_sls(rpls: pd.DataFrame, annee: int, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """SLS survey of ``annee``: one row per bailleur × résidence with occupied dwellings."""
    rng = np.random.default_rng([seed, annee, SOURCE_SLS])
    df = _rpls(rpls)
    df = df[(df["RESIDENCE_ID"] != "") & (df["_MODE"] == 1)]
    g = df.groupby(["BAILLEUR", "RESIDENCE_ID"], sort=True)
    res = pd.DataFrame({"COMMUNE": _modes(df, ["BAILLEUR", "RESIDENCE_ID"], "DEPCOM"),
                        "_PART_QPV": g["_QPV"].mean(), "_OCC": g.size()})
    qp = _modes(df[df["_QPV"]], ["BAILLEUR", "RESIDENCE_ID"], "_QP")
    res["QPV"] = np.where(res["_PART_QPV"] > 0.5, qp.reindex(res.index).fillna(""), "")
    res = res.reset_index()
    en_qpv = (res["_PART_QPV"] > 0.5).to_numpy()
    occ = res["_OCC"].to_numpy()
    enq = rng.binomial(occ, np.where(en_qpv, 0.45, 0.62))       # APL recipients are exempt
    rep = rng.binomial(enq, 0.90)
    dep = rng.binomial(rep, np.where(en_qpv, 0.012, 0.05))
    dep20 = rng.binomial(dep, 0.40)
    applique = np.where(en_qpv, 0, dep20 + rng.binomial(dep - dep20, 0.30))
    res["NB_LOGEMENTS_ENQUETES"] = enq
    res["NB_REPONDANTS"] = rep
    res["NB_DEPASSEMENT"] = dep
    res["NB_DEPASSEMENT_20"] = dep20
    res["NB_SLS_APPLIQUE"] = applique
    return res[SLS_COLUMNS]


def generer_sisal(rpls_next: pd.DataFrame, annee: int, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Agréments of ``annee`` by commune × bailleur × produit, placed like the recent parc.

    ``rpls_next`` is the following millésime (the current one when there is none): its dwellings
    built in the last five years give the weights of the communes × bailleurs.
    """
    rng = np.random.default_rng([seed, annee, SOURCE_SISAL])
    df = _rpls(rpls_next)
    df = df[(df["DEPCOM"] != "") & (df["BAILLEUR"] != "")]
    poids = (df[~df["_QPV"]].groupby(["DEPCOM", "BAILLEUR"]).size() * 0.1).astype(float)
    recent = df[df["_CONSTRUCT"] >= annee - 5].groupby(["DEPCOM", "BAILLEUR"]).size()
    poids = poids.add(recent.astype(float), fill_value=0).sort_index()
    cellules = list(poids.index)
    p = (poids / poids.sum()).to_numpy()
    communes_qpv = set(df.loc[df["_QPV"], "DEPCOM"])
    total = int(round(rng.normal(AGREMENTS_PAR_AN, 25)))
    parts = rng.dirichlet(PARTS_PRODUITS * 2000)
    rows = []
    for produit, nombre in zip(PRODUITS, _counts(total, parts)):
        reste = int(nombre)
        while reste > 0:
            taille = int(rng.integers(5, 41))
            if reste - taille < 5:
                taille = reste
            commune, bailleur = cellules[int(rng.choice(len(cellules), p=p))]
            en_qpv = commune in communes_qpv and rng.random() < 0.06
            rows.append((annee, commune, bailleur, produit, taille, "O" if en_qpv else "N"))
            reste -= taille
    out = pd.DataFrame(rows, columns=SISAL_COLUMNS)
    out = out.groupby(["ANNEE", "COMMUNE", "BAILLEUR", "PRODUIT", "QPV"], as_index=False)["NB_LOGEMENTS"].sum()
    out["_P"] = out["PRODUIT"].map({k: i for i, k in enumerate(PRODUITS)})
    return out.sort_values(["COMMUNE", "BAILLEUR", "_P", "QPV"]).reset_index(drop=True)[SISAL_COLUMNS]


# --- writing ------------------------------------------------------------------------------------

def ecrire(df: pd.DataFrame, path: Path) -> Path:
    """Write a demo extract: `;`, UTF-8, decimal point, `\\n` line ends, empty = missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, sep=";", index=False, encoding="utf-8", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return path


def generer(data_dir: Path, rpls_par_annee: dict[int, pd.DataFrame], seed: int) -> list[Path]:
    """Write résidences, SLS and SISAL for every year of ``rpls_par_annee``, OPS for its survey years."""
    files: list[Path] = []
    for annee in sorted(rpls_par_annee):
        rpls = rpls_par_annee[annee]
        files.append(ecrire(generer_residences(rpls, annee, seed),
                            data_dir / "bailleurs" / f"residences_{annee}.csv"))
        files.append(ecrire(generer_sls(rpls, annee, seed), data_dir / "sls" / f"sls_{annee}.csv"))
        suivant = rpls_par_annee.get(annee + 1, rpls)
        files.append(ecrire(generer_sisal(suivant, annee, seed), data_dir / "sisal" / f"sisal_{annee}.csv"))
        if annee in ANNEES_OPS:
            files.append(ecrire(generer_ops(rpls, annee, seed), data_dir / "ops" / f"ops_{annee}.csv"))
    return files


# --- calibration --------------------------------------------------------------------------------

def fragilite(ops: pd.DataFrame, par: str = "IRIS", seuils: dict[str, float] | None = None) -> pd.DataFrame:
    """C1, C2, C3, criteria met and class per ``par`` (IRIS or RESIDENCE_ID) from OPS respondents.

    ``ops`` is the OPS as read by the project's reader (booleans, numbers). Thresholds are met with
    equality; C2 is not met where the unit has no recent mover.
    """
    seuils = seuils or seuils_fragilite()
    rep = ops[ops["REPONDANT"].fillna(False).astype(bool)].copy()
    rep["_BAS"] = (rep["RESSOURCES_PCT_PLUS"].astype(float) < SEUIL_RESSOURCES).astype(int)
    rep["_REC"] = rep["EMMENAGE_RECENT"].fillna(False).astype(bool)
    rep["_BAS_REC"] = rep["_BAS"] * rep["_REC"]
    rep["_MAJ"] = rep["NB_MAJEURS"].astype(float)
    rep["_CH"] = rep["NB_MAJEURS_CHOMAGE"].astype(float)
    g = rep.groupby(par)
    out = pd.DataFrame({
        "nb_menages": g.size(),
        "c1": g["_BAS"].mean(),
        "c2": g["_BAS_REC"].sum() / g["_REC"].sum().replace(0, np.nan),
        "c3": g["_CH"].sum() / g["_MAJ"].sum().replace(0, np.nan),
    })
    eps = 1e-9
    out["nb_criteres"] = ((out["c1"] >= seuils["C1"] - eps).astype(int) + (out["c2"] >= seuils["C2"] - eps).astype(int)
                          + (out["c3"] >= seuils["C3"] - eps).astype(int))
    return out


def cibles(data_dir: Path) -> list[Cible]:
    """Calibration lines of the occupation sources, computed on the files read back."""
    lignes: list[Cible] = []
    try:
        ops = lire(data_dir, "ops", "ops", "ops")
    except FileNotFoundError:
        ops = None
    theme = "Occupation du parc social (OPS)"
    if ops is not None:
        for annee in sorted(set(ops["_ANNEE"]), key=lambda a: (a != 2020, a)):
            o = ops[(ops["_ANNEE"] == annee) & ops["REPONDANT"].fillna(False).astype(bool)]
            bas = o["RESSOURCES_PCT_PLUS"].astype(float) < SEUIL_RESSOURCES
            en_qpv = o["QPV"].fillna("") != ""
            recent = o["EMMENAGE_RECENT"].fillna(False).astype(bool)
            publie = annee == 2020
            lignes.append(Cible(
                theme, f"OPS {annee} : ménages en QPV sous 40 % du plafond PLUS", PART_QPV_SOUS_40,
                float(bas[en_qpv].mean()), 0.05 if publie else None, "%", SOURCE_CIA,
                "publié : « plus de 50 % » ; la ligne accepte 50 à 60 %" if publie
                else "le chiffre publié est celui de 2020"))
            if not publie:
                continue
            note = ("part des emménagés récents (3 ans) sous 40 % PLUS, dans chaque zone "
                    "(lecture retenue du « 63 % / 11 % » de la CIA)")
            lignes.append(Cible(theme, "OPS 2020 : emménagés récents en QPV sous 40 % PLUS",
                                RECENTS_QPV_SOUS_40, float(bas[en_qpv & recent].mean()), 0.01, "%", SOURCE_CIA, note))
            lignes.append(Cible(theme, "OPS 2020 : emménagés récents hors QPV sous 40 % PLUS",
                                RECENTS_HORS_QPV_SOUS_40, float(bas[~en_qpv & recent].mean()), 0.01, "%",
                                SOURCE_CIA, note))
            try:
                rpls = lire(data_dir, "rpls", "rpls", "rpls", annees={2020})
            except FileNotFoundError:
                continue
            classes = fragilite(ops[ops["_ANNEE"] == 2020])
            fragiles = set(classes.index[classes["nb_criteres"] >= 2])
            dans = rpls["PLG_IRIS"].isin(fragiles)
            qpv_rpls = rpls["QPV_CODE"] == "1"
            lignes.append(Cible(theme, "Logements (RPLS 2020) des IRIS fragiles ou très fragiles",
                                FRAGILES_2020, float(dans.sum()), round(FRAGILES_2020 * 0.01), "", SOURCE_CIA,
                                "classes de la section D sur les répondants de l'OPS 2020"))
            lignes.append(Cible(theme, "  dont en QPV", FRAGILES_QPV_2020, float((dans & qpv_rpls).sum()),
                                round(FRAGILES_QPV_2020 * 0.01), "", SOURCE_CIA))
    try:
        sisal = lire(data_dir, "sisal", "sisal", "sisal")
    except FileNotFoundError:
        sisal = None
    if sisal is not None:
        theme = "Agréments (SISAL)"
        par_an = sisal.groupby("_ANNEE")["NB_LOGEMENTS"].sum()
        lignes.append(Cible(theme, f"Agréments par an (moyenne {par_an.index.min()}–{par_an.index.max()})",
                            AGREMENTS_PAR_AN, float(par_an.mean()), AGREMENTS_PAR_AN * 0.1, "",
                            "CIA Dijon métropole 2022 (croissance du parc ~370 logements/an)",
                            "ordre de grandeur : les agréments suivent la croissance du parc"))
        total = float(sisal["NB_LOGEMENTS"].sum())
        for produit, part in zip(PRODUITS, PARTS_PRODUITS):
            obtenu = float(sisal.loc[sisal["PRODUIT"] == produit, "NB_LOGEMENTS"].sum()) / total
            lignes.append(Cible(theme, f"Part {produit} des agréments", float(part), obtenu, 0.03, "%",
                                "choix de la démo", "répartition de démonstration, non publiée"))
    annees_res = sorted(period_of(p)[0] for p in (data_dir / "bailleurs").glob("residences_*"))
    if annees_res:
        annee = 2020 if 2020 in annees_res else annees_res[-1]
        try:
            residences = lire(data_dir, "residences", "bailleurs", "residences", annees={annee})
            parc = lire(data_dir, "rpls", "rpls", "rpls", annees={annee})
        except FileNotFoundError:
            residences = None
        if residences is not None:
            lignes.append(Cible("Résidences des bailleurs",
                                f"Logements des résidences {annee} = logements RPLS {annee}",
                                float(parc["RESIDENCE_ID"].notna().sum()), float(residences["NB_LOGEMENTS"].sum()),
                                0, "", "cohérence avec le RPLS", "contrôle de cohérence, pas un chiffre publié"))
    return lignes
