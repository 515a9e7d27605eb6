"""The peer of the benchmark: the four legal objectives in plain pandas, as an analyst would write them.

    .venv/bin/python benchmarks/pandas_peer.py --data-dir /tmp/demo --annee 2021 [--out DIR]

No validation, no quarantine, no warehouse: every extract of the year is read with ``pandas.read_csv``
(the files the observatoire ingests for that year: RPLS, the monthly demand and CALEOL files, SYPLO,
OPS, SLS, SISAL, résidences, saisies), then the four objectives of indicators.md (section A) are
computed from the CALEOL examinations and the referentials of ``dbt_project/seeds``, with the rules of
``int_attributions_qualifiees`` (attribution prononcée, bail signé, quartile, flux base, priority).
``benchmarks/annual.py`` times it on the same files as the pipeline and compares its counts with the
pipeline's exports, so the peer is checked, not trusted.

Prints the seconds spent reading (per source) and computing; with ``--out``, writes
``obj_prio_etat.csv``, ``obj_prio_resa.csv``, ``obj_q1_hors_qpv.csv`` and ``obj_q234_qpv.csv``.
"""

from __future__ import annotations

import argparse
import math
import re
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pandas as pd

SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"
EPCI = "242100410"
PERIOD = re.compile(r"_(\d{4})(?:-(\d{2}))?\.csv$")
POSITIVES = ["ATTRIBUTION", "ATTRIBUTION_RANG", "ATTRIBUTION_CONDITION_SUSPENSIVE"]


def extracts_of_year(data_dir: Path, annee: int) -> list[Path]:
    """Every CSV extract of the year under ``data_dir`` (annual ``_AAAA`` and monthly ``_AAAA-MM``)."""
    out = []
    for path in sorted(data_dir.rglob("*.csv")):
        match = PERIOD.search(path.name)
        if match and int(match.group(1)) == annee:
            out.append(path)
    return out


def read_all(paths: list[Path]) -> tuple[list[pd.DataFrame], dict[str, float]]:
    """Every extract read the analyst's way (``sep=";"``, types inferred); the CALEOL examinations
    kept (the others are read and let go: a national year would not fit in memory at once);
    seconds per folder."""
    examinations: list[pd.DataFrame] = []
    seconds: dict[str, float] = defaultdict(float)
    for path in paths:
        started = time.perf_counter()
        frame = pd.read_csv(path, sep=";", low_memory=False)
        if path.name.startswith("attributions_"):
            examinations.append(frame)
        del frame
        seconds[path.parent.name] += time.perf_counter() - started
    return examinations, seconds


def oui(series: pd.Series) -> pd.Series:
    return series.astype("string").str.upper().isin(["O", "OUI", "1", "TRUE"])


def qualify(att: pd.DataFrame, annee: int) -> pd.DataFrame:
    """The flags of int_attributions_qualifiees, for the examinations of the year."""
    att = att.copy()
    att["DATE_CAL"] = pd.to_datetime(att["DATE_CAL"])
    att = att[att["DATE_CAL"].dt.year == annee]
    positive = att["DECISION_CAL"].isin(POSITIVES)
    refus = att["REPONSE_DEMANDEUR"].isin(["REFUS", "SANS_REPONSE"])
    # a better-ranked positive candidate for the same dwelling and CALEOL who did not refuse blocks
    att["_bloque"] = (positive & ~refus).astype(int)
    par_rang = (att.groupby(["LOGEMENT_ID", "DATE_CAL", "RANG"], dropna=False)["_bloque"].sum()
                .groupby(level=["LOGEMENT_ID", "DATE_CAL"], dropna=False).cumsum()
                .rename("_jusqua").reset_index())
    att = att.merge(par_rang, on=["LOGEMENT_ID", "DATE_CAL", "RANG"], how="left")
    same_rank = att.groupby(["LOGEMENT_ID", "DATE_CAL", "RANG"], dropna=False)["_bloque"].transform("sum")
    att["prononcee"] = positive.to_numpy() & ((att["_jusqua"] - same_rank) == 0).to_numpy()
    seuils = pd.read_csv(SEEDS / "ref_seuils_quartiles.csv", dtype={"epci_siren": str})
    seuil = seuils[(seuils.epci_siren == EPCI) & (seuils.annee == annee)].iloc[0]
    enfants = att["NB_ENFANTS_MOINS_14"]
    uc = 1 + 0.5 * (att["NB_PERSONNES"] - 1 - enfants) + 0.3 * enfants
    annuel = att["REVENU_MENSUEL"].round(2) * 12
    quartile = pd.Series(4, index=att.index, dtype="Int64")
    quartile[annuel < seuil.q3 * uc - 1e-9] = 3
    quartile[annuel < seuil.q2 * uc - 1e-9] = 2
    quartile[annuel < seuil.q1 * uc - 1e-9] = 1
    quartile[att["REVENU_MENSUEL"].isna() | uc.isna()] = pd.NA
    att["quartile"] = quartile
    att["_qpv"] = att["QPV_LOGEMENT"].astype("string").str.strip().replace("", pd.NA)
    att["flux"] = ~oui(att["HORS_FLUX"]) & att["HORS_FLUX"].notna()
    att["prioritaire"] = oui(att["PRIORITAIRE"]) | oui(att["DALO"])
    att["anru"] = oui(att["RELOGEMENT_ANRU"])
    att["bail"] = att["prononcee"] & att["DATE_BAIL"].notna()
    return att


def totals(base: pd.DataFrame, dims: list[str], numerateur: pd.Series) -> pd.DataFrame:
    """numerateur / denominateur for every grouping set of ``dims`` (the dbt marts' TOTAL rows)."""
    base = base.assign(_n=numerateur.astype(int))
    rows = []
    for k in range(len(dims) + 1):
        for kept in _subsets(dims, k):
            grouped = base.groupby(kept, dropna=False)["_n"].agg(["sum", "count"]).reset_index() if kept else \
                pd.DataFrame({"sum": [base["_n"].sum()], "count": [len(base)]})
            for dim in dims:
                if dim not in kept:
                    grouped[dim] = "TOTAL"
            rows.append(grouped)
    out = pd.concat(rows, ignore_index=True).rename(columns={"sum": "numerateur", "count": "denominateur"})
    return out[out.denominateur > 0]


def _subsets(items: list[str], size: int) -> list[list[str]]:
    from itertools import combinations

    return [list(c) for c in combinations(items, len(items) - size)]


def ecart(cible: float, numerateur: int, denominateur: int) -> int:
    return max(0, math.ceil(Decimal(str(cible)) * denominateur) - numerateur)


def objectives(att: pd.DataFrame, annee: int) -> dict[str, pd.DataFrame]:
    """The four objective tables (numerateur, denominateur, valeur, cible, ecart)."""
    cibles = pd.read_csv(SEEDS / "ref_objectifs.csv").set_index("code")["cible"]
    flux = att[att.prononcee & att.flux]
    etat = flux[flux.RESERVATAIRE == "ETAT_PRIORITAIRES"]
    hors_qpv = att[att.bail & att._qpv.isna()]
    en_qpv = att[att.prononcee & att._qpv.notna()]
    out = {
        "obj_prio_etat": totals(etat.rename(columns={"BAILLEUR": "bailleur"}), ["bailleur"], etat.prioritaire)
        .assign(cible=cibles["OBJ_PRIO_ETAT"]),
        "obj_prio_resa": totals(flux.rename(columns={"RESERVATAIRE": "reservataire", "BAILLEUR": "bailleur"}),
                                ["reservataire", "bailleur"], flux.prioritaire),
        "obj_q1_hors_qpv": totals(hors_qpv.rename(columns={"BAILLEUR": "bailleur"}), ["bailleur"],
                                  (hors_qpv.quartile == 1).fillna(False) | hors_qpv.anru)
        .assign(cible=cibles["OBJ_Q1_HORS_QPV"]),
        "obj_q234_qpv": totals(en_qpv.rename(columns={"BAILLEUR": "bailleur", "_qpv": "qpv"}), ["bailleur", "qpv"],
                               (en_qpv.quartile > 1).fillna(False))
        .assign(cible=cibles["OBJ_Q234_QPV"]),
    }
    resa = out["obj_prio_resa"]
    resa["cible"] = resa.reservataire.map(lambda r: cibles["OBJ_PRIO_ETAT" if r == "ETAT_PRIORITAIRES" else "OBJ_PRIO_RESA"])
    for table in out.values():
        table.insert(0, "annee", annee)
        table["valeur"] = table.numerateur / table.denominateur
        table["ecart"] = [ecart(c, n, d) for c, n, d in zip(table.cible, table.numerateur, table.denominateur)]
    tout_compris(resa)
    return out


def tout_compris(resa: pd.DataFrame) -> None:
    """The rows of ``obj_prio_resa`` that gather several objectives are judged on their parts
    (docs/indicateurs.md, « All-in priority target »): TOTAL × bailleur on each réservataire of the
    bailleur, NON_RESERVE × TOTAL on each bailleur, TOTAL × TOTAL on each réservataire over every
    bailleur and NON_RESERVE per bailleur; cible = the parts' targets weighted by their attributions,
    ecart = the sum of the parts' gaps."""
    r, b = resa.reservataire, resa.bailleur
    reserves = (r != "TOTAL") & (r != "NON_RESERVE") & (b == "TOTAL")
    non_reserve = (r == "NON_RESERVE") & (b != "TOTAL")
    for index in resa.index[(r == "TOTAL") | ((r == "NON_RESERVE") & (b == "TOTAL"))]:
        if r[index] == "TOTAL" and b[index] != "TOTAL":
            masque = (r != "TOTAL") & (b == b[index])
        elif r[index] == "NON_RESERVE":
            masque = non_reserve
        else:
            masque = reserves | non_reserve
        morceaux = resa[masque]
        resa.loc[index, "cible"] = (morceaux.cible * morceaux.denominateur).sum() / morceaux.denominateur.sum()
        resa.loc[index, "ecart"] = int(morceaux.ecart.sum())


def run(data_dir: Path, annee: int, out: Path | None = None) -> dict[str, float]:
    """Read, compute, optionally write; return the seconds of each phase."""
    started = time.perf_counter()
    examinations, seconds = read_all(extracts_of_year(data_dir, annee))
    read = time.perf_counter() - started
    started = time.perf_counter()
    att = qualify(pd.concat(examinations, ignore_index=True), annee)
    tables = objectives(att, annee)
    compute = time.perf_counter() - started
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name, table in tables.items():
            table.to_csv(out / f"{name}.csv", index=False)
    return {"lecture": read, "calcul": compute, **{f"lecture {k}": v for k, v in seconds.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--annee", type=int, required=True)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    for phase, seconds in run(args.data_dir, args.annee, args.out).items():
        print(f"{phase:<24}{seconds:8.1f} s")


if __name__ == "__main__":
    main()
