"""Demo saisies: the hand-kept annual figures of section 6.2 (``saisies/<code>_AAAA.csv``).

One small template per indicator, ``ANNEE`` first, validated like any extract (layout folders
``pipeline/sources/layouts/saisie_<code>/``):

- ``ind_01`` — avancement des projets de rénovation urbaine: one row per NPNRU project (the two
  ANRU QPV, Le Mail and Fontaine d'Ouche), its ``ETAPE`` on 31 December and the dwellings
  demolished / rebuilt (reconstitution de l'offre) / rehabilitated and households relogés,
  **cumulated since the start of the project**;
- ``ind_20`` — accession sociale: dwellings commercialised in the year, buyers, buyers coming from
  the parc social;
- ``ind_21`` — intermédiation locative: dwellings by ``DISPOSITIF`` on 31 December;
- ``ind_22`` — logements intermédiaires: same columns as ``ind_20``;
- ``ind_27`` — meetings held in the year by ``INSTANCE``.

Indicator 16 (accompaniment of publics prioritaires) has no template: it comes from the SYPLO
``ACCOMPAGNEMENT`` field.

**Not entered on purpose**: ``ind_22`` of the first year (2016 in the full demo) is not written,
so the atlas shows the « non renseigné » path (a missing saisie is never a zero).

All values are fictitious, small and plausible; deterministic (``rng = default_rng([seed, annee,
constant of the template])``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from pipeline.demo.occupation import ecrire

#: Template code → small constant of its random stream.
TEMPLATES = {"ind_01": 41, "ind_20": 42, "ind_21": 43, "ind_22": 44, "ind_27": 45}
#: The saisie deliberately left out, (template, index of the year in the sorted years).
MANQUANTE = ("ind_22", 0)

ETAPES = ("PROTOCOLE", "CONVENTION_SIGNEE", "TRAVAUX", "CLOTURE")
#: NPNRU projects of the demo (fictitious figures): QPV, year of the convention, totals at the end.
PROJETS = {
    "NPNRU Le Mail (fictif)": {"qpv": "QPDEMO01", "convention": 2019, "fin": 2030,
                              "demolis": 380, "reconstruits": 380, "rehabilites": 950, "reloges": 345},
    "NPNRU Fontaine d'Ouche (fictif)": {"qpv": "QPDEMO02", "convention": 2020, "fin": 2031,
                                        "demolis": 210, "reconstruits": 210, "rehabilites": 1250, "reloges": 190},
}
DISPOSITIFS = {"MANDAT_GESTION": 70, "SOUS_LOCATION": 55, "BAIL_GLISSANT": 15}
INSTANCES = {"CIL": (1, 2), "COMMISSION_COORDINATION": (3, 6), "COMMISSION_QPV": (4, 10),
             "ACCOMPAGNEMENT": (6, 12), "CAS_COMPLEXES": (8, 12)}


def _avancement(annee: int, debut: int, fin: int) -> float:
    """Share of a project's operations done by 31 December of ``annee`` (logistic in time)."""
    if annee < debut:
        return 0.0
    milieu = (debut + fin) / 2
    x = 1 / (1 + np.exp(-(annee + 1 - milieu) / 2.0))
    x0 = 1 / (1 + np.exp(-(debut - milieu) / 2.0))
    return float(max(0.0, (x - x0) / (1 - x0)))


def ind_01(annee: int, seed: int) -> pd.DataFrame:
    rows = []
    for projet, p in PROJETS.items():
        rng = np.random.default_rng([seed, TEMPLATES["ind_01"], p["convention"]])
        bruit = rng.uniform(0.9, 1.1, 4)  # per project, the same every year: cumulated figures stay monotonic
        if annee < p["convention"]:
            etape = "PROTOCOLE"
        elif annee == p["convention"]:
            etape = "CONVENTION_SIGNEE"
        else:
            etape = "TRAVAUX" if annee < p["fin"] else "CLOTURE"
        a = _avancement(annee, p["convention"], p["fin"])
        # relogements come before demolitions, rebuilding after
        reloges = min(p["reloges"], round(p["reloges"] * min(1.0, a * 1.6) * bruit[0]))
        demolis = min(p["demolis"], round(p["demolis"] * min(1.0, a * 1.2) * bruit[1]))
        reconstruits = min(p["reconstruits"], round(p["reconstruits"] * a * 0.8 * bruit[2]))
        rehabilites = min(p["rehabilites"], round(p["rehabilites"] * a * bruit[3]))
        rows.append((annee, projet, p["qpv"], etape, demolis, reconstruits, rehabilites, reloges))
    return pd.DataFrame(rows, columns=["ANNEE", "PROJET", "QPV", "ETAPE", "LOGEMENTS_DEMOLIS",
                                       "LOGEMENTS_RECONSTRUITS", "LOGEMENTS_REHABILITES", "MENAGES_RELOGES"])


def _accession(annee: int, seed: int, code: str, moyenne: float, part_parc: float) -> pd.DataFrame:
    rng = np.random.default_rng([seed, annee, TEMPLATES[code]])
    logements = int(rng.poisson(moyenne))
    accedants = int(rng.binomial(logements, 0.9))
    issus = int(rng.binomial(accedants, part_parc))
    return pd.DataFrame([(annee, logements, accedants, issus)],
                        columns=["ANNEE", "LOGEMENTS_COMMERCIALISES", "ACCEDANTS", "ACCEDANTS_ISSUS_PARC_SOCIAL"])


def ind_20(annee: int, seed: int) -> pd.DataFrame:
    return _accession(annee, seed, "ind_20", 32, 0.35)


def ind_22(annee: int, seed: int) -> pd.DataFrame:
    return _accession(annee, seed, "ind_22", 40, 0.15)


def ind_21(annee: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng([seed, annee, TEMPLATES["ind_21"]])
    croissance = 1 + 0.06 * (annee - 2016)  # plan Logement d'abord: IML grows
    rows = [(annee, d, int(rng.poisson(base * croissance))) for d, base in DISPOSITIFS.items()]
    return pd.DataFrame(rows, columns=["ANNEE", "DISPOSITIF", "LOGEMENTS"])


def ind_27(annee: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng([seed, annee, TEMPLATES["ind_27"]])
    rows = [(annee, i, int(rng.integers(lo, hi + 1))) for i, (lo, hi) in INSTANCES.items()]
    return pd.DataFrame(rows, columns=["ANNEE", "INSTANCE", "NB_REUNIONS"])


GENERATEURS = {"ind_01": ind_01, "ind_20": ind_20, "ind_21": ind_21, "ind_22": ind_22, "ind_27": ind_27}


def generer(data_dir: Path, annees: Iterable[int] | tuple[int, int], seed: int) -> list[Path]:
    """Write every template for every year; the template ``MANQUANTE`` of the first year is left out.

    ``annees``: a tuple ``(first, last)`` (inclusive, as ``pipeline.demo.generate`` takes its
    years) or any other iterable of years (list, range, set).
    """
    if isinstance(annees, tuple) and len(annees) == 2:
        annees = range(annees[0], annees[1] + 1)
    annees = sorted(set(annees))
    files = []
    for i, annee in enumerate(annees):
        for code, fonction in GENERATEURS.items():
            if (code, i) == MANQUANTE:
                continue
            files.append(ecrire(fonction(annee, seed), data_dir / "saisies" / f"{code}_{annee}.csv"))
    return files
