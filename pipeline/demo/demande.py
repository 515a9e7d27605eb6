"""Demo demand, CALEOL examinations and SYPLO: the households of a fictitious fichier partagé.

How the files hang together (as real data does):

- **Attributions first.** For every year, the CALEOL examinations are built from the counts the
  CIA publishes per bailleur (indicators.md, section A, the 2020 table; other years move around
  it, see :data:`EVOLUTION`). Each *attribution prononcée* is drawn with the attributes the legal
  rules read — QPV of the dwelling, lease or not, refusal or not, 1st quartile or not, ANRU
  relogement, flux base, priority label — then grouped into *chains* for one dwelling and one
  CALEOL (refusals at ranks 1…k, the accepted candidate at rank k + 1), then padded with rows that
  must **not** count: ranked candidates after an acceptance, ``NON_ATTRIBUTION`` and
  ``IRRECEVABILITE``. So the table is reproduced only when the pipeline applies the rules.
- **Dwellings** are real rows of the RPLS millésime of the year (same bailleur, QPV, typology,
  résidence; the réservataire is the dwelling's RPLS contingent).
- **Demands.** Every examined household is a demander: its demand was filed before the CALEOL
  (waiting times around the published 13–14 months) and leaves the stock when the lease is signed.
  Other demands ("the rest of the stock") are added month by month so that the stock follows the
  published key figures (06/08/2021 by typology; tensions of 2020). A demand is renewed every year
  on its filing anniversary.
- **SYPLO** holds the households labelled prioritaires among the demanders: relogés when their
  lease is signed, still to rehouse otherwise, struck off when their demand lapses.

The year of an examination is the year of ``DATE_CAL``. The monthly attribution file of a month
holds the examinations whose CALEOL sat that month, with the answer and lease as finally known.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.demo.calibration import Cible, lire
from pipeline.settings import DBT_PROJECT_DIR

SEEDS = DBT_PROJECT_DIR / "seeds"
BAILLEURS = ["CDC_HABITAT", "GDH", "HABELLIS", "ICF", "ORVITIS"]
TYPOLOGIES = ["CHAMBRE", "T1", "T2", "T3", "T4", "T5", "T6"]
SOURCE_CIA = "CIA Dijon métropole 2022 (indicators.md, section A)"
SOURCE_FP = "Fichier partagé, chiffres clés du 06/08/2021 (CIA Dijon métropole 2022, §2)"


@dataclass(frozen=True)
class Objectifs:
    """Section A counts of one bailleur for one year (the columns of the 2020 table)."""

    q1_hors_qpv: int        # baux signés hors QPV, 1st quartile, not ANRU
    anru_hors_qpv: int      # baux signés hors QPV, ANRU relogement (any income)
    baux_hors_qpv: int      # baux signés hors QPV (mutations included)
    q234_qpv: int           # attributions prononcées in QPV above the 1st quartile
    attributions_qpv: int   # attributions prononcées in QPV (refusals included)
    prioritaires: int       # attributions prononcées in the flux base to prioritaires
    attributions_flux: int  # attributions prononcées in the flux base


#: The 2020 table of indicators.md, section A (Fichier partagé, end of December 2020), per bailleur.
#: AUTRE organismes do not report to the fichier partagé: they have no examination in the demo.
TABLE_2020: dict[str, Objectifs] = {
    "CDC_HABITAT": Objectifs(31, 0, 440, 116, 133, 165, 547),
    "GDH": Objectifs(96, 2, 699, 330, 461, 353, 978),
    "HABELLIS": Objectifs(67, 3, 426, 38, 48, 152, 462),
    "ICF": Objectifs(9, 0, 68, 5, 6, 32, 81),
    "ORVITIS": Objectifs(45, 1, 357, 202, 226, 198, 559),
}

#: Demo: volume of examinations relative to 2020, per year (2020 was a low year).
EVOLUTION = {2016: 1.04, 2017: 1.06, 2018: 1.05, 2019: 1.07, 2020: 1.0, 2021: 1.04,
             2022: 1.03, 2023: 1.0, 2024: 0.98, 2025: 0.99}

#: Fichier partagé key figures of 06/08/2021 (CHAMBRE, T1…T6): active demands, and attributions of
#: the previous twelve months.
DEMANDES_CLES = dict(zip(TYPOLOGIES, [211, 1298, 3294, 2653, 1912, 548, 58]))
ATTRIBUTIONS_CLES = dict(zip(TYPOLOGIES, [0, 209, 755, 997, 610, 134, 13]))
#: Tensions of the CIA (active demands per attribution), read on the demo at the end of 2020.
TENSION_2020 = {"TOTAL": 3.7, "T1": 7.6, "T2": 4.6, "T5_T6": 4.6, "60_PLUS": 6.0, "Q1": 7.0}

RESERVATAIRE_DU_CONTINGENT = {"1": "ETAT_FONCTIONNAIRES", "2": "ETAT_PRIORITAIRES", "3": "ACTION_LOGEMENT",
                              "4": "EPCI", "5": "ETAT_PRIORITAIRES", "6": "AUTRE", "7": "NON_RESERVE"}
MOTIFS_REFUS = (["LOCALISATION", "QUARTIER", "TYPOLOGIE", "LOYER_CHARGES", "ETAT_LOGEMENT",
                 "ETAGE_ACCESSIBILITE", "SITUATION_CHANGEE", "AUTRE"],
                [0.22, 0.2, 0.1, 0.12, 0.1, 0.1, 0.08, 0.08])
MOTIFS_PRIORITE = (["C_DEFAVORISE", "D_HEBERGE", "K_SANS_LOGEMENT", "G_VIOLENCES", "A_HANDICAP",
                    "J_SUROCCUPATION_ENFANT", "F_HABITAT_INDIGNE", "B_SORTANT_ACT", "L_EXPULSION",
                    "E_REPRISE_ACTIVITE", "H_PROSTITUTION", "I_TRAITE"],
                   [0.3, 0.2, 0.12, 0.08, 0.08, 0.06, 0.04, 0.04, 0.04, 0.02, 0.01, 0.01])
MOTIFS_MUTATION = (["LOGEMENT_INADAPTE", "CADRE_DE_VIE", "MOBILITE_PRO", "LOYER_TROP_CHER", "HANDICAP",
                    "SEPARATION", "DEMOLITION", "VIOLENCES", "AUTRE"],
                   [0.43, 0.16, 0.12, 0.09, 0.06, 0.05, 0.04, 0.02, 0.03])
MOTIFS_EXTERNE = (["HEBERGE_TIERS", "LOYER_TROP_CHER", "LOGEMENT_INADAPTE", "SEPARATION", "SANS_LOGEMENT",
                   "STRUCTURE_HEBERGEMENT", "MOBILITE_PRO", "LOGEMENT_REPRIS", "LOGEMENT_INDIGNE",
                   "VIOLENCES", "HANDICAP", "CADRE_DE_VIE", "AUTRE"],
                  [0.2, 0.17, 0.15, 0.1, 0.06, 0.05, 0.06, 0.05, 0.03, 0.03, 0.03, 0.03, 0.04])
LOGEMENT_DU_MOTIF = {"HEBERGE_TIERS": "HEBERGE_TIERS", "SANS_LOGEMENT": "SANS_LOGEMENT",
                     "STRUCTURE_HEBERGEMENT": "STRUCTURE_HEBERGEMENT"}
ACCOMPAGNEMENTS = (["AUCUN", "ASLL", "AVDL", "IML", "ACCORD_COLLECTIF", "ACOR", "LOGEMENT_D_ABORD", "AUTRE"],
                   [0.45, 0.15, 0.12, 0.06, 0.06, 0.04, 0.08, 0.04])

ATTRIBUTION_COLUMNS = [
    "NUM_UNIQUE", "DATE_DEPOT", "DATE_CAL", "LOGEMENT_ID", "BAILLEUR", "RESERVATAIRE", "COMMUNE_LOGEMENT",
    "QPV_LOGEMENT", "RESIDENCE_ID", "TYPOLOGIE_LOGEMENT", "DECISION_CAL", "RANG", "REPONSE_DEMANDEUR",
    "MOTIF_REFUS", "DATE_BAIL", "MUTATION", "BAILLEUR_ORIGINE", "RELOGEMENT_ANRU", "HORS_FLUX",
    "NB_PERSONNES", "NB_ENFANTS_MOINS_14", "REVENU_MENSUEL", "AGE_DEMANDEUR", "COMPOSITION",
    "SITUATION_PRO", "PRIORITAIRE", "DALO", "MOTIF_PRIORITE", "SORTANT_HEBERGEMENT", "PORTEUR_MIXITE",
]
DEMANDE_COLUMNS = [
    "NUM_UNIQUE", "DATE_DEPOT", "DATE_RENOUVELLEMENT", "TYPE_DEMANDE", "BAILLEUR_ACTUEL",
    "COMMUNE_RESIDENCE", "NB_PERSONNES", "NB_ENFANTS_MOINS_14", "AGE_DEMANDEUR", "COMPOSITION",
    "SITUATION_PRO", "REVENU_MENSUEL", "TYPOLOGIE_SOUHAITEE", "COMMUNE_SOUHAITEE_1",
    "COMMUNE_SOUHAITEE_2", "COMMUNE_SOUHAITEE_3", "MOTIF_PRINCIPAL", "LOGEMENT_ACTUEL",
    "NB_PIECES_ACTUEL", "HANDICAP", "DALO", "PRIORITAIRE", "PORTEUR_MIXITE", "COTATION",
]
SYPLO_COLUMNS = ["NUM_UNIQUE", "DATE_LABELLISATION", "MOTIF_PRIORITE", "STATUT", "DATE_STATUT",
                 "BAILLEUR_RELOGEMENT", "RESERVATAIRE_RELOGEMENT", "SORTANT_HEBERGEMENT", "ACCOMPAGNEMENT"]


# --------------------------------------------------------------------------------------------
# Referentials (the seeds are the single source of the thresholds)
# --------------------------------------------------------------------------------------------

def seuils_q1() -> dict[int, float]:
    """1st-quartile threshold (€/UC/year) by year, from the seed ``ref_seuils_quartiles``."""
    frame = pd.read_csv(SEEDS / "ref_seuils_quartiles.csv")
    return dict(zip(frame["annee"], frame["q1"].astype(float)))


def plafonds_plai() -> pd.DataFrame:
    """PLAI resource ceilings by year and category (seed ``ref_plafonds_ressources``)."""
    frame = pd.read_csv(SEEDS / "ref_plafonds_ressources.csv")
    return frame[frame["produit"] == "PLAI"].set_index(["annee", "categorie"])


def plafond_plai(annee: np.ndarray | int, nb_personnes: np.ndarray) -> np.ndarray:
    """PLAI ceiling (€/year) of each household: category = persons (capped at 6) + the amount per
    extra person. The demo ignores the finer category rules (young couples, dependants)."""
    table = plafonds_plai()
    nb = np.asarray(nb_personnes, dtype=int)
    an = np.broadcast_to(np.asarray(annee), nb.shape)
    an = np.clip(an, table.index.get_level_values(0).min(), table.index.get_level_values(0).max())
    cat = np.clip(nb, 1, 6)
    idx = pd.MultiIndex.from_arrays([an, cat])
    base = table["plafond"].reindex(idx).to_numpy(dtype=float)
    sup = table["par_personne_sup"].reindex(idx).to_numpy(dtype=float)
    return base + np.maximum(nb - 6, 0) * sup


def unites_consommation(nb_personnes: np.ndarray, enfants: np.ndarray) -> np.ndarray:
    """UC: 1 for the first adult, 0,5 per other person aged 14+, 0,3 per child under 14."""
    nb = np.asarray(nb_personnes, dtype=float)
    enf = np.asarray(enfants, dtype=float)
    return 1.0 + 0.5 * (nb - 1 - enf) + 0.3 * enf


# --------------------------------------------------------------------------------------------
# Households
# --------------------------------------------------------------------------------------------

def menages(typologie: np.ndarray, rng: np.random.Generator, mutation: np.ndarray | None = None) -> pd.DataFrame:
    """Households sized for the typology they want or get (vectorised)."""
    n = len(typologie)
    rooms = np.array([TYPOLOGIES.index(t) for t in typologie]).clip(1, 6)
    size = np.clip(rooms - 1 + rng.choice([0, 0, 1, 1, 2, -1], n), 1, 8)
    size = np.where(rooms == 1, np.where(rng.random(n) < 0.9, 1, 2), size)
    age = np.clip(rng.normal(41, 14, n), 18, 92).round().astype(int)
    old = rng.random(n) < 0.13
    age = np.where(old, rng.integers(60, 90, n), age)
    couple = (size >= 2) & (rng.random(n) < np.where(size == 2, 0.5, 0.55))
    adults = np.where(couple, 2, 1)
    others = size - adults
    enfants = np.where(others > 0, np.minimum(others, rng.binomial(others, 0.8)), 0)
    enfants = np.where(age >= 60, 0, enfants)
    composition = np.select(
        [size == 1, couple & (others == 0), couple, (others > 0) & (enfants > 0)],
        ["PERSONNE_SEULE", "COUPLE_SANS_ENFANT", "COUPLE_AVEC_ENFANTS", "FAMILLE_MONOPARENTALE"],
        default="AUTRE",
    )
    situation = np.where(age >= 62, "RETRAITE",
                         rng.choice(["CDI", "CDD_INTERIM", "CHOMAGE", "SANS_ACTIVITE", "ETUDIANT", "AUTRE"],
                                    n, p=[0.33, 0.2, 0.2, 0.17, 0.04, 0.06]))
    return pd.DataFrame({"NB_PERSONNES": size, "NB_ENFANTS_MOINS_14": enfants, "AGE_DEMANDEUR": age,
                         "COMPOSITION": composition, "SITUATION_PRO": situation})


def revenus(classe: np.ndarray, nb: np.ndarray, enfants: np.ndarray, q1: np.ndarray, plai: np.ndarray,
            rng: np.random.Generator) -> np.ndarray:
    """Monthly income (€, cents) per class: ``q1`` strictly below the 1st-quartile threshold,
    ``egal`` exactly at it (when the UC allows an exact amount in cents), ``plai`` between Q1 and
    the PLAI ceiling, ``haut`` above the ceiling."""
    uc = unites_consommation(nb, enfants)
    n = len(classe)
    floor_q1 = q1 * uc                      # annual income at the threshold
    annual = np.where(
        classe == "q1", floor_q1 * rng.beta(2.2, 1.6, n) * 0.985,
        np.where(classe == "plai", floor_q1 + (np.maximum(plai, floor_q1 * 1.05) - floor_q1) * rng.uniform(0.03, 0.97, n),
                 np.maximum(plai, floor_q1) * (1.02 + rng.lognormal(-1.3, 0.6, n))))
    monthly = annual / 12
    # Cents, rounded away from the threshold so the class holds after rounding.
    monthly = np.where(classe == "q1", np.floor(monthly * 100) / 100, np.ceil(monthly * 100) / 100)
    exact = q1 * uc / 12
    return np.where(classe == "egal", np.round(exact, 2), monthly)


def uc_exacte(nb: np.ndarray, enfants: np.ndarray, q1: np.ndarray) -> np.ndarray:
    """True where ``q1 × UC / 12`` is a whole number of cents (so ``egal`` is exact to the cent)."""
    exact = q1 * unites_consommation(nb, enfants) / 12
    return np.abs(exact * 100 - np.round(exact * 100)) < 1e-9


# --------------------------------------------------------------------------------------------
# Examinations (CALEOL)
# --------------------------------------------------------------------------------------------

def objectifs_annee(annee: int, rng: np.random.Generator) -> dict[str, Objectifs]:
    """The year's counts: the 2020 table itself, or the table scaled by :data:`EVOLUTION`."""
    if annee == 2020:
        return dict(TABLE_2020)
    out = {}
    for bailleur, ref in TABLE_2020.items():
        f = EVOLUTION.get(annee, 1.0)
        def s(v: int) -> int:
            return max(0, int(round(v * f * (1 + rng.normal(0, 0.03)))))
        h = s(ref.baux_hors_qpv)
        anru = min(s(ref.anru_hors_qpv), h)
        q1 = min(s(ref.q1_hors_qpv), h - anru)
        qpv = s(ref.attributions_qpv)
        q234 = min(s(ref.q234_qpv), qpv)
        flux = s(ref.attributions_flux)
        prio = min(s(ref.prioritaires), flux)
        out[bailleur] = Objectifs(q1, anru, h, q234, qpv, prio, flux)
    return out


def _unites(b: str, o: Objectifs, rng: np.random.Generator) -> pd.DataFrame:
    """The attributions prononcées of one bailleur-year, with the attributes the rules read."""
    r = int(round(0.12 * o.baux_hors_qpv))                 # hors QPV, no lease (refusals, pending)
    hors_flux = o.attributions_qpv + o.baux_hors_qpv + r - o.attributions_flux
    if hors_flux < o.anru_hors_qpv:
        r += o.anru_hors_qpv - hors_flux
        hors_flux = o.anru_hors_qpv
    autres = o.baux_hors_qpv - o.anru_hors_qpv - o.q1_hors_qpv
    q1_qpv = o.attributions_qpv - o.q234_qpv
    rows = []
    def add(n: int, zone: str, issue: str, q1: str, anru: bool) -> None:
        rows.extend([(zone, issue, q1, anru)] * n)
    add(o.anru_hors_qpv, "HORS", "bail", "libre", True)
    add(o.q1_hors_qpv, "HORS", "bail", "q1", False)
    add(autres, "HORS", "bail", "non_q1", False)
    n_pending = int(round(0.2 * r))
    add(r - n_pending, "HORS", "refus", "libre", False)
    add(n_pending, "HORS", "sans_bail", "libre", False)
    # In QPV, 1st-quartile candidates refuse more often (demo choice: it brings the 1st-quartile
    # tension near the published 7 demands per attribution).
    for n, q1, p_refus in ((q1_qpv, "q1", 0.42), (o.q234_qpv, "non_q1", 0.2)):
        refus = int(round(n * p_refus))
        pending = int(round(n * 0.04))
        add(refus, "QPV", "refus", q1, False)
        add(pending, "QPV", "sans_bail", q1, False)
        add(n - refus - pending, "QPV", "bail", q1, False)
    u = pd.DataFrame(rows, columns=["zone", "issue", "q1", "anru"])
    u["bailleur"] = b
    # Flux base: ANRU relogements are outside it; the rest of the hors-flux count are internal
    # mutations (an HLM sale now and then would count the same way).
    u["hors_flux"] = u["anru"]
    candidates = np.flatnonzero(~u["anru"].to_numpy())
    internes = rng.choice(candidates, hors_flux - o.anru_hors_qpv, replace=False)
    u.loc[internes, "hors_flux"] = True
    u["mutation"] = np.where(u["hors_flux"] & ~u["anru"], "INTERNE", "")
    flux = np.flatnonzero(~u["hors_flux"].to_numpy())
    inter = rng.choice(flux, int(round(0.09 * len(flux))), replace=False)
    u.loc[inter, "mutation"] = "INTER"
    u["prio"] = False
    u.loc[rng.choice(flux, o.prioritaires, replace=False), "prio"] = True
    return u.sample(frac=1.0, random_state=rng).reset_index(drop=True)


def _chaines(u: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Group the units of one (bailleur, zone) into chains: refusals first, then a terminal."""
    terminal = u.index[u["issue"] != "refus"].to_numpy()
    refus = u.index[u["issue"] == "refus"].to_numpy()
    chain = np.empty(len(u), dtype=int)
    rank = np.empty(len(u), dtype=int)
    n_term = len(terminal)
    chain[terminal] = np.arange(n_term)
    # Each terminal takes at most two refusals before it; the rest are lone refusals (the dwelling
    # goes back to a later CALEOL).
    slots = np.repeat(np.arange(n_term), 2)
    rng.shuffle(slots)
    taken = slots[: min(len(refus), len(slots))]
    chain[refus[: len(taken)]] = taken
    lone = refus[len(taken):]
    chain[lone] = n_term + np.arange(len(lone))
    out = u.assign(chaine=chain)
    out["_term"] = (out["issue"] != "refus").astype(int)
    out = out.sort_values(["chaine", "_term"], kind="stable")
    rank = out.groupby("chaine").cumcount() + 1
    out["rang"] = rank
    out["taille"] = out.groupby("chaine")["rang"].transform("max")
    return out.drop(columns="_term")


def _poids_typologie(pools: dict[tuple[str, str], pd.DataFrame], demandes: dict[tuple[str, str], int]) -> dict[str, float]:
    """Weight per typology so that the dwellings drawn for the CALEOL (``demandes[pool]`` chains
    from each pool) follow the published attribution mix of the fichier partagé."""
    total = sum(ATTRIBUTIONS_CLES.values())
    cible = np.array([ATTRIBUTIONS_CLES[t] / total for t in TYPOLOGIES])
    comptes = {k: p["TYPOLOGIE"].value_counts().reindex(TYPOLOGIES, fill_value=0).to_numpy() for k, p in pools.items()}
    # numpy arrays in the order of TYPOLOGIES, the same operations in the same order as on pandas Series
    # (the draws depend on these weights to the last bit), without pandas' cost per operation (×10)
    w = np.ones(len(TYPOLOGIES))
    for _ in range(50):
        attendu = sum(n * (w * comptes[k]) / max((w * comptes[k]).sum(), 1e-9) for k, n in demandes.items())
        attendu = attendu / attendu.sum()
        w = w * np.clip(np.where(cible > 0, cible / np.where(attendu > 0, attendu, 1.0), 0.0), 0.05, 20)
    return dict(zip(TYPOLOGIES, w.tolist()))


def typologie_rpls(nbpiece: pd.Series) -> pd.Series:
    """RPLS rooms → the fichier partagé's typology (T6 = 6 rooms and more)."""
    return "T" + pd.to_numeric(nbpiece).clip(1, 6).astype(int).astype(str)


def examens_annee(annee: int, rpls: pd.DataFrame, rng: np.random.Generator, numeros: "Numeros") -> pd.DataFrame:
    """All CALEOL examinations of one year (the rows of its twelve monthly files)."""
    parc = rpls.copy()
    parc["TYPOLOGIE"] = typologie_rpls(parc["NBPIECE"])
    parc["ZONE"] = np.where(parc["PLG_QP"].fillna("").astype(str) != "", parc["PLG_QP"], "HORS")
    # Let or offered dwellings, student residences aside (they are let outside the CALEOL).
    parc = parc[parc["MODE"].astype(str).isin(["1", "2"]) & parc["TYPECONST_CODE"].astype(str).ne("E")]
    objectifs = objectifs_annee(annee, rng)
    groupes: dict[tuple[str, str], pd.DataFrame] = {}
    for bailleur in BAILLEURS:
        units = _unites(bailleur, objectifs[bailleur], rng)
        stock = parc[parc["BAILLEUR"] == bailleur]
        qpv_stock = stock[stock["ZONE"] != "HORS"]
        if units["zone"].eq("QPV").any() and qpv_stock.empty:
            raise ValueError(f"demo: {bailleur} has attributions in QPV in {annee} but no QPV dwelling in RPLS")
        # QPV units spread over the bailleur's QPV in proportion to its dwellings there.
        is_qpv = units["zone"] == "QPV"
        shares = qpv_stock["ZONE"].value_counts(normalize=True).sort_index()
        units.loc[is_qpv, "zone"] = rng.choice(shares.index.to_numpy(), is_qpv.sum(), p=shares.to_numpy())
        for zone, group in units.groupby("zone", sort=True):
            groupes[(bailleur, zone)] = _chaines(group.reset_index(drop=True), rng)
    pools = {k: parc[(parc["BAILLEUR"] == k[0]) & (parc["ZONE"] == k[1])] for k in groupes}
    poids = _poids_typologie(pools, {k: g["chaine"].nunique() for k, g in groupes.items()})
    frames = []
    for (bailleur, zone), chains in groupes.items():
        pool = pools[(bailleur, zone)]
        n_chains = chains["chaine"].nunique()
        if len(pool) < n_chains:
            raise ValueError(f"demo: {bailleur} {zone} {annee}: {n_chains} CALEOL for {len(pool)} dwellings")
        # Priority chains go to État-reserved dwellings more often (contingent 2/5).
        prio_chain = chains.groupby("chaine")["prio"].any()
        etat = pool["CONTINGENT"].astype(str).isin(["2", "5"]).to_numpy()
        w = pool["TYPOLOGIE"].map(poids).to_numpy(dtype=float)
        key = rng.random(len(pool)) ** (1.0 / np.maximum(w, 1e-6))
        order_etat = np.flatnonzero(etat)[np.argsort(-key[etat], kind="stable")]
        order_autre = np.flatnonzero(~etat)[np.argsort(-key[~etat], kind="stable")]
        picks, ie, ia = [], 0, 0
        for is_prio in prio_chain.to_numpy():
            want_etat = rng.random() < (0.6 if is_prio else 0.12)
            if (want_etat and ie < len(order_etat)) or ia >= len(order_autre):
                picks.append(order_etat[ie]); ie += 1
            else:
                picks.append(order_autre[ia]); ia += 1
        logements = pool.iloc[picks].reset_index(drop=True)
        logements["chaine"] = prio_chain.index.to_numpy()
        frames.append(chains.merge(logements, on="chaine", how="left"))
    units = pd.concat(frames, ignore_index=True)
    return _lignes_examens(units, annee, rng, numeros)


class Numeros:
    """Fictitious numéros uniques: ``021`` + filing year + a running number (never a real one)."""

    def __init__(self, prefix: str = "021") -> None:
        self.prefix = prefix
        self.next = 1

    def take(self, years: np.ndarray) -> np.ndarray:
        n = len(years)
        seq = np.arange(self.next, self.next + n)
        self.next += n
        return np.array([f"{self.prefix}{y % 100:02d}{s:08d}D" for y, s in zip(years, seq)])


def _dates_cal(chaines: pd.Series, annee: int, rng: np.random.Generator) -> pd.Series:
    """One CALEOL date per chain, spread over the year's working days (fewer in August)."""
    days = pd.bdate_range(f"{annee}-01-01", f"{annee}-12-31")
    weights = np.where(days.month == 8, 0.4, 1.0)
    ids = chaines.unique()
    pick = rng.choice(len(days), len(ids), p=weights / weights.sum())
    return chaines.map(dict(zip(ids, days[pick])))


def _lignes_examens(units: pd.DataFrame, annee: int, rng: np.random.Generator, numeros: Numeros) -> pd.DataFrame:
    """Attribution-file rows of the units, plus the rows that must not count."""
    units = units.copy()
    units["chaine"] = units["bailleur"] + "|" + units["zone"] + "|" + units["chaine"].astype(str)
    units["DATE_CAL"] = _dates_cal(units["chaine"], annee, rng)
    # Rows that must not count: a ranked candidate after an acceptance; NON_ATTRIBUTION;
    # IRRECEVABILITE (no rank).
    accepted = units[units["issue"] != "refus"].drop_duplicates("chaine")
    after = accepted[rng.random(len(accepted)) < 0.3].copy()
    after["issue"], after["rang"] = "apres", after["rang"] + 1
    non = units.drop_duplicates("chaine")
    non = non[rng.random(len(non)) < 0.18].copy()
    non["issue"] = np.where(rng.random(len(non)) < 0.15, "irrecevable", "non_attribution")
    extra = pd.concat([after, non], ignore_index=True)
    extra[["q1", "anru", "hors_flux", "prio"]] = ["libre", False, False, False]
    extra["mutation"] = ""
    all_rows = pd.concat([units, extra], ignore_index=True)
    n = len(all_rows)

    typo = all_rows["TYPOLOGIE"].to_numpy()
    mutation = all_rows["mutation"].to_numpy()
    m = menages(typo, rng)
    q1_seuil = seuils_q1()[annee]
    plai = plafond_plai(annee, m["NB_PERSONNES"].to_numpy())
    q1_flag = all_rows["q1"].to_numpy()
    libre = rng.choice(["q1", "plai", "haut"], n, p=[0.3, 0.45, 0.25])
    non_q1 = rng.choice(["plai", "haut"], n, p=[0.55, 0.45])
    classe = np.where(q1_flag == "q1", "q1", np.where(q1_flag == "non_q1", non_q1, libre))
    # A few households exactly at the threshold (not 1st quartile: the inequality is strict).
    egal = (classe != "q1") & uc_exacte(m["NB_PERSONNES"], m["NB_ENFANTS_MOINS_14"], q1_seuil) & (rng.random(n) < 0.08)
    classe = np.where(egal, "egal", classe)
    m["REVENU_MENSUEL"] = revenus(classe, m["NB_PERSONNES"].to_numpy(), m["NB_ENFANTS_MOINS_14"].to_numpy(),
                                  q1_seuil, plai, rng)
    # ANRU relogements: some with high incomes (they count for the objective whatever the income).
    anru = all_rows["anru"].to_numpy(dtype=bool)
    prio = all_rows["prio"].to_numpy(dtype=bool)
    dalo = prio & (rng.random(n) < 0.12)
    issue = all_rows["issue"].to_numpy()

    rang = all_rows["rang"].to_numpy()
    taille = all_rows["taille"].to_numpy()
    single = (taille == 1) & ~np.isin(issue, ["apres"])
    decision = np.where(issue == "non_attribution", "NON_ATTRIBUTION",
                        np.where(issue == "irrecevable", "IRRECEVABILITE",
                                 np.where(single & ~all_rows["chaine"].isin(after["chaine"]).to_numpy(),
                                          np.where(rng.random(n) < 0.08, "ATTRIBUTION_CONDITION_SUSPENSIVE", "ATTRIBUTION"),
                                          "ATTRIBUTION_RANG")))
    refus = issue == "refus"
    sans_reponse = refus & (rng.random(n) < 0.25)
    reponse = np.select([sans_reponse, refus, np.isin(issue, ["bail", "sans_bail"])],
                        ["SANS_REPONSE", "REFUS", "ACCEPTE"], default="")
    motif_refus = np.where(refus & ~sans_reponse, rng.choice(MOTIFS_REFUS[0], n, p=MOTIFS_REFUS[1]), "")
    cal = pd.to_datetime(all_rows["DATE_CAL"]).to_numpy()
    bail = np.where(issue == "bail", cal + pd.to_timedelta(rng.integers(8, 50, n), unit="D").to_numpy(),
                    np.datetime64("NaT"))
    # Waiting time: filed months before the CALEOL (mean about 13,5 months, longer for T1 and T5+,
    # mutations and the 1st quartile; shorter for prioritaires).
    mean = 13.6 * np.select([np.isin(typo, ["T1", "T5", "T6"])], [1.25], 1.0)
    mean = mean * np.where(mutation != "", 1.1, 1.0) * np.where(prio, 0.8, 1.0)
    wait_days = np.clip(rng.gamma(1.7, mean / 1.7, n) * 30.44, 20, 3000).astype(int)
    depot = cal - pd.to_timedelta(wait_days, unit="D").to_numpy()
    depot_years = pd.DatetimeIndex(depot).year.to_numpy()

    bailleur = all_rows["bailleur"].to_numpy()
    origine = np.where(mutation == "INTERNE", bailleur,
                       np.where(mutation == "INTER", rng.choice(BAILLEURS + ["AUTRE"], n), ""))
    same = (mutation == "INTER") & (origine == bailleur)
    origine = np.where(same, "AUTRE", origine)
    zone = all_rows["zone"].to_numpy()
    out = pd.DataFrame({
        "NUM_UNIQUE": numeros.take(depot_years),
        "DATE_DEPOT": depot,
        "DATE_CAL": cal,
        "LOGEMENT_ID": all_rows["IDENT_LOGT"].to_numpy(),
        "BAILLEUR": bailleur,
        "RESERVATAIRE": all_rows["CONTINGENT"].astype(str).map(RESERVATAIRE_DU_CONTINGENT).to_numpy(),
        "COMMUNE_LOGEMENT": all_rows["DEPCOM"].to_numpy(),
        "QPV_LOGEMENT": np.where(zone == "HORS", "", zone),
        "RESIDENCE_ID": all_rows["RESIDENCE_ID"].to_numpy(),
        "TYPOLOGIE_LOGEMENT": typo,
        "DECISION_CAL": decision,
        "RANG": np.where(np.isin(issue, ["non_attribution", "irrecevable"]), "", rang.astype(str)),
        "REPONSE_DEMANDEUR": reponse,
        "MOTIF_REFUS": motif_refus,
        "DATE_BAIL": bail,
        "MUTATION": np.where(mutation != "", "O", "N"),
        "BAILLEUR_ORIGINE": origine,
        "RELOGEMENT_ANRU": np.where(anru, "O", "N"),
        "HORS_FLUX": np.where(all_rows["hors_flux"].to_numpy(dtype=bool), "O", "N"),
        **{c: m[c].to_numpy() for c in ["NB_PERSONNES", "NB_ENFANTS_MOINS_14", "REVENU_MENSUEL",
                                        "AGE_DEMANDEUR", "COMPOSITION", "SITUATION_PRO"]},
        "PRIORITAIRE": np.where(prio & ~dalo | (prio & (rng.random(n) < 0.5)), "O", "N"),
        "DALO": np.where(dalo, "O", "N"),
        "MOTIF_PRIORITE": np.where(dalo, "DALO", np.where(prio, rng.choice(MOTIFS_PRIORITE[0], n, p=MOTIFS_PRIORITE[1]), "")),
        "SORTANT_HEBERGEMENT": "N",
        "PORTEUR_MIXITE": np.where(rng.random(n) < 0.1, "O", "N"),
    })
    # A DALO household is prioritaire by definition of the objective; keep PRIORITAIRE = O for most.
    out.loc[dalo & (rng.random(n) < 0.7), "PRIORITAIRE"] = "O"
    out = out.sort_values(["DATE_CAL", "LOGEMENT_ID", "RANG", "NUM_UNIQUE"], kind="stable").reset_index(drop=True)
    return out


def marquer_sortants(examens: pd.DataFrame, annee: int, n: int, rng: np.random.Generator) -> None:
    """Flag exactly ``n`` prioritaires relogés (lease signed in ``annee``) as leaving a shelter."""
    prio = (examens["PRIORITAIRE"].eq("O") | examens["DALO"].eq("O")) & examens["HORS_FLUX"].eq("N")
    signed = pd.to_datetime(examens["DATE_BAIL"]).dt.year.eq(annee)
    idx = examens.index[prio & signed].to_numpy()
    chosen = rng.choice(idx, min(n, len(idx)), replace=False)
    examens.loc[chosen, "SORTANT_HEBERGEMENT"] = "O"


# --------------------------------------------------------------------------------------------
# Demands: the examined households, then the rest of the stock
# --------------------------------------------------------------------------------------------

#: Lifetime of a demand that ends without a lease (months): abandons, non-renewal at the
#: anniversary, long demands. Demo distribution (mean about 19 months).
DUREES = [(0.22, 1.0, 12.0), (0.25, 12.0, 12.6), (0.2, 12.6, 24.0), (0.15, 24.0, 24.6), (0.18, 24.6, 72.0)]


def _quantiles_duree(u: np.ndarray) -> np.ndarray:
    """Lifetime (months) at probability ``u`` of the :data:`DUREES` mixture (inverse CDF)."""
    out = np.empty_like(u)
    lo = 0.0
    for p, a, b in DUREES:
        mask = (u >= lo) & (u < lo + p)
        out[mask] = a + (b - a) * (u[mask] - lo) / p
        lo += p
    out[u >= lo] = DUREES[-1][2]
    return out


def _survie(max_age: int) -> np.ndarray:
    """P(lifetime > a + 0.5 month) for a = 0..max_age (deposits counted at mid-month)."""
    u = (np.arange(20000) + 0.5) / 20000
    life = _quantiles_duree(u)
    return np.array([(life > a + 0.5).mean() for a in range(max_age + 1)])


def fins_de_mois(annees: tuple[int, int]) -> pd.DatetimeIndex:
    """Month ends of the years (the snapshot dates of the demand files)."""
    return pd.date_range(f"{annees[0]}-01-31", f"{annees[1]}-12-31", freq="ME")


def demandes_examinees(examens: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The demand behind every examined household: filed at DATE_DEPOT, gone at the lease (or
    some months after a refusal or a negative decision)."""
    n = len(examens)
    cal = pd.to_datetime(examens["DATE_CAL"])
    bail = pd.to_datetime(examens["DATE_BAIL"])
    decision = examens["DECISION_CAL"].to_numpy()
    later = np.where(decision == "IRRECEVABILITE", rng.integers(10, 60, n), rng.integers(30, 420, n))
    fin = bail.where(bail.notna(), cal + pd.to_timedelta(later, unit="D"))
    d = pd.DataFrame({
        "NUM_UNIQUE": examens["NUM_UNIQUE"], "DATE_DEPOT": pd.to_datetime(examens["DATE_DEPOT"]), "FIN": fin,
        "TYPE_DEMANDE": np.where(examens["MUTATION"].eq("O"), "MUTATION", "EXTERNE"),
        "BAILLEUR_ACTUEL": examens["BAILLEUR_ORIGINE"].to_numpy(),
        # Households rarely ask for six rooms: half of those housed in a T6 had asked for a T5.
        "TYPOLOGIE_SOUHAITEE": np.where(examens["TYPOLOGIE_LOGEMENT"].eq("T6") & (rng.random(n) < 0.5), "T5",
                                        examens["TYPOLOGIE_LOGEMENT"].to_numpy()),
        "COMMUNE_SOUHAITEE_1": examens["COMMUNE_LOGEMENT"].to_numpy(),
    })
    for c in ["NB_PERSONNES", "NB_ENFANTS_MOINS_14", "AGE_DEMANDEUR", "COMPOSITION", "SITUATION_PRO",
              "REVENU_MENSUEL", "DALO", "PRIORITAIRE", "PORTEUR_MIXITE"]:
        d[c] = examens[c].to_numpy()
    # Mutation demanders of AUTRE organismes keep "AUTRE" as their current bailleur.
    d.loc[d["TYPE_DEMANDE"].eq("MUTATION") & d["BAILLEUR_ACTUEL"].eq(""), "BAILLEUR_ACTUEL"] = "AUTRE"
    d["ORIGINE"] = "examen"
    return d


def _stock(depot: pd.Series, fin: pd.Series, dates: pd.DatetimeIndex) -> np.ndarray:
    """Active demands at each date (filed on or before it, not yet gone)."""
    dep = np.sort(depot.to_numpy(dtype="datetime64[ns]"))
    end = np.sort(fin.to_numpy(dtype="datetime64[ns]"))
    t = dates.to_numpy(dtype="datetime64[ns]")
    return np.searchsorted(dep, t, side="right") - np.searchsorted(end, t, side="right")


def cibles_stock(examens: pd.DataFrame, annees: tuple[int, int]) -> pd.DataFrame:
    """Target stock of active demands per typology and month end.

    Anchors: end of 2020 from the CIA's tensions (demands per lease signed in 2020), end of July
    2021 from the fichier partagé key figures of 06/08/2021; before, a gentle rise to 2020; after,
    +2,5 % a year. Demo shape around the published anchors.
    """
    dates = fins_de_mois((min(annees[0], 2016), max(annees[1], 2021)))
    baux = examens[pd.to_datetime(examens["DATE_CAL"]).dt.year.eq(2020) & examens["DATE_BAIL"].notna()
                   & examens["DECISION_CAL"].str.startswith("ATTRIBUTION") & examens["REPONSE_DEMANDEUR"].eq("ACCEPTE")]
    b = baux["TYPOLOGIE_LOGEMENT"].value_counts().reindex(TYPOLOGIES, fill_value=0)
    total = TENSION_2020["TOTAL"] * b.sum()
    a1 = pd.Series(0.0, index=TYPOLOGIES)
    a1["T1"] = TENSION_2020["T1"] * b["T1"]
    a1["T2"] = TENSION_2020["T2"] * b["T2"]
    t56 = TENSION_2020["T5_T6"] * (b["T5"] + b["T6"])
    a1["T5"], a1["T6"] = t56 * 548 / 606, t56 * 58 / 606
    a1["CHAMBRE"] = DEMANDES_CLES["CHAMBRE"] * total / sum(DEMANDES_CLES.values())
    rest = total - a1.sum()
    a1["T3"], a1["T4"] = rest * 2653 / 4565, rest * 1912 / 4565
    a2 = pd.Series(DEMANDES_CLES, dtype=float)
    t1, t2 = pd.Timestamp("2020-12-31"), pd.Timestamp("2021-07-31")
    start = pd.Timestamp(dates[0])
    rows = []
    for t in dates:
        if t <= t1:
            w = (t - start).days / max((t1 - start).days, 1)
            v = a1 * (0.9 + 0.1 * w)
        elif t <= t2:
            w = (t - t1).days / (t2 - t1).days
            v = a1 * (1 - w) + a2 * w
        else:
            v = a2 * (1.025 ** ((t - t2).days / 365.25))
        rows.append(v)
    return pd.DataFrame(rows, index=dates)


def demandes_stock(examens: pd.DataFrame, examinees: pd.DataFrame, annees: tuple[int, int],
                   rng: np.random.Generator, numeros: Numeros, communes: pd.Series) -> pd.DataFrame:
    """The demands that make up the rest of the stock, filed month by month so that the stock
    follows :func:`cibles_stock` (inflows solved from the lifetime distribution)."""
    cibles = cibles_stock(examens, annees)
    warm = pd.date_range(cibles.index[0] - pd.DateOffset(years=6), periods=72, freq="ME")
    months = warm.append(cibles.index)
    target = pd.concat([pd.DataFrame([cibles.iloc[0]] * len(warm), index=warm), cibles])
    surv = _survie(len(months))
    frames = []
    for typo in TYPOLOGIES:
        sat = _stock(examinees.loc[examinees["TYPOLOGIE_SOUHAITEE"].eq(typo), "DATE_DEPOT"],
                     examinees.loc[examinees["TYPOLOGIE_SOUHAITEE"].eq(typo), "FIN"], months)
        want = np.maximum(target[typo].to_numpy() - sat, 0)
        inflow = np.zeros(len(months))
        carry = 0.0
        counts = np.zeros(len(months), dtype=int)
        for t in range(len(months)):
            past = (counts[:t] * surv[t - np.arange(t)]).sum() if t else 0.0
            inflow[t] = max(0.0, (want[t] - past) / surv[0])
            carry += inflow[t]
            counts[t] = int(np.floor(carry))
            carry -= counts[t]
        n = counts.sum()
        if n == 0:
            continue
        month_idx = np.repeat(np.arange(len(months)), counts)
        # Stratified lifetimes within each month: the realised stock stays close to the target.
        u = np.concatenate([(rng.permutation(c) + rng.random(c)) / c for c in counts if c])
        life = _quantiles_duree(u)
        month_start = (months[month_idx] - pd.offsets.MonthBegin(1)).to_numpy()
        depot = month_start + pd.to_timedelta(rng.integers(0, 28, n), unit="D").to_numpy()
        fin = depot + pd.to_timedelta(np.round(life * 30.44).astype(int), unit="D").to_numpy()
        frames.append(pd.DataFrame({"DATE_DEPOT": depot, "FIN": fin, "TYPOLOGIE_SOUHAITEE": typo}))
    d = pd.concat(frames, ignore_index=True).sort_values(["DATE_DEPOT", "TYPOLOGIE_SOUHAITEE"], kind="stable")
    d = d.reset_index(drop=True)
    n = len(d)
    d["NUM_UNIQUE"] = numeros.take(pd.DatetimeIndex(d["DATE_DEPOT"]).year.to_numpy())
    _attributs_stock(d, examens, examinees, rng, communes)
    d["ORIGINE"] = "stock"
    return d


def _attributs_stock(d: pd.DataFrame, examens: pd.DataFrame, examinees: pd.DataFrame,
                     rng: np.random.Generator, communes: pd.Series) -> None:
    """Household attributes of the stock demands, chosen so that the stock at the end of 2020
    has the published shares (mutations 43 %, 60+ tension 6, 2 449 1st-quartile demanders of whom
    1 502 new entrants, 74 % below the PLAI ceilings), given what the examined households bring."""
    n = len(d)
    t = pd.Timestamp("2020-12-31")
    active_f = (d["DATE_DEPOT"] <= t) & (d["FIN"] > t)
    active_e = (examinees["DATE_DEPOT"] <= t) & (examinees["FIN"] > t)
    e = examinees[active_e]
    s_f = max(int(active_f.sum()), 1)
    s_total = s_f + len(e)
    q1_2020 = seuils_q1()[2020]
    uc_e = unites_consommation(e["NB_PERSONNES"], e["NB_ENFANTS_MOINS_14"])
    r_e = e["REVENU_MENSUEL"].astype(float) * 12
    q1_e = (r_e / uc_e) < q1_2020
    plai_e = r_e < plafond_plai(2020, e["NB_PERSONNES"].to_numpy())
    baux = examens[examens["DATE_BAIL"].notna() & pd.to_datetime(examens["DATE_CAL"]).dt.year.eq(2020)]
    b60 = int((baux["AGE_DEMANDEUR"] >= 60).sum())
    def share(target: float, have: float) -> float:
        return float(np.clip((target - have) / s_f, 0.0, 1.0))
    p60 = share(TENSION_2020["60_PLUS"] * b60, (e["AGE_DEMANDEUR"] >= 60).sum())
    p_q1 = share(2449, q1_e.sum())
    p_plai = share(0.74 * s_total, plai_e.sum()) - p_q1
    mut_e = e["TYPE_DEMANDE"].eq("MUTATION")
    p_mut = share(0.43 * s_total, mut_e.sum())
    p_mut_q1 = float(np.clip((2449 - 1502 - (q1_e & mut_e).sum()) / max(p_q1 * s_f, 1), 0, 1))
    p_mut_other = float(np.clip((p_mut * s_f - p_mut_q1 * p_q1 * s_f) / max((1 - p_q1) * s_f, 1), 0, 1))

    m = menages(d["TYPOLOGIE_SOUHAITEE"].to_numpy(), rng)
    old = rng.random(n) < p60
    m.loc[old, "AGE_DEMANDEUR"] = rng.integers(60, 88, old.sum())
    m.loc[old, "NB_ENFANTS_MOINS_14"] = 0
    m.loc[old, "SITUATION_PRO"] = np.where(m.loc[old, "AGE_DEMANDEUR"] >= 62, "RETRAITE", "SANS_ACTIVITE")
    young_old = ~old & (m["AGE_DEMANDEUR"] >= 60)
    m.loc[young_old, "AGE_DEMANDEUR"] = rng.integers(25, 59, young_old.sum())
    m.loc[young_old & m["SITUATION_PRO"].eq("RETRAITE"), "SITUATION_PRO"] = "SANS_ACTIVITE"
    u = rng.random(n)
    classe = np.where(u < p_q1, "q1", np.where(u < p_q1 + p_plai, "plai", "haut"))
    annee_depot = pd.DatetimeIndex(d["DATE_DEPOT"]).year.to_numpy()
    plai = plafond_plai(np.clip(annee_depot, 2015, 2026), m["NB_PERSONNES"].to_numpy())
    m["REVENU_MENSUEL"] = revenus(classe, m["NB_PERSONNES"].to_numpy(), m["NB_ENFANTS_MOINS_14"].to_numpy(),
                                  q1_2020, plai, rng)
    for c in m.columns:
        d[c] = m[c].to_numpy()
    mutation = rng.random(n) < np.where(classe == "q1", p_mut_q1, p_mut_other)
    d["TYPE_DEMANDE"] = np.where(mutation, "MUTATION", "EXTERNE")
    d["BAILLEUR_ACTUEL"] = np.where(mutation, rng.choice(BAILLEURS + ["AUTRE"], n,
                                                         p=[0.2, 0.38, 0.13, 0.05, 0.18, 0.06]), "")
    d["COMMUNE_SOUHAITEE_1"] = rng.choice(communes.index.to_numpy(), n, p=communes.to_numpy())
    prio = rng.random(n) < 0.07
    dalo = prio & (rng.random(n) < 0.15)
    d["PRIORITAIRE"] = np.where(prio, "O", "N")
    d["DALO"] = np.where(dalo, "O", "N")
    d["PORTEUR_MIXITE"] = np.where(rng.random(n) < 0.1, "O", "N")


def completer_demandes(d: pd.DataFrame, rng: np.random.Generator, communes: pd.Series) -> pd.DataFrame:
    """The remaining demand fields (motif, current housing, wishes, handicap, cotation)."""
    n = len(d)
    mutation = d["TYPE_DEMANDE"].eq("MUTATION").to_numpy()
    motif = np.where(mutation, rng.choice(MOTIFS_MUTATION[0], n, p=MOTIFS_MUTATION[1]),
                     rng.choice(MOTIFS_EXTERNE[0], n, p=MOTIFS_EXTERNE[1]))
    actuel = np.where(mutation, "LOCATAIRE_HLM",
                      pd.Series(motif).map(LOGEMENT_DU_MOTIF).fillna(
                          pd.Series(rng.choice(["LOCATAIRE_PRIVE", "PROPRIETAIRE", "AUTRE"], n, p=[0.85, 0.05, 0.1]))
                      ).to_numpy())
    codes = communes.index.to_numpy()
    hors_epci = rng.random(n) < 0.1
    residence = np.where(hors_epci, rng.choice(["21054", "25056", "21425"], n),
                         rng.choice(codes, n, p=communes.to_numpy()))
    d = d.assign(
        MOTIF_PRINCIPAL=motif, LOGEMENT_ACTUEL=actuel, COMMUNE_RESIDENCE=residence,
        NB_PIECES_ACTUEL=np.where(np.isin(actuel, ["SANS_LOGEMENT", "STRUCTURE_HEBERGEMENT", "HEBERGE_TIERS"]), "",
                                  np.clip(d["NB_PERSONNES"].to_numpy() + rng.integers(-2, 2, n), 1, 7).astype(str)),
        COMMUNE_SOUHAITEE_2=np.where(rng.random(n) < 0.6, rng.choice(codes, n, p=communes.to_numpy()), ""),
        HANDICAP=np.where(rng.random(n) < 0.06, "O", "N"),
        COTATION_BASE=np.round(rng.gamma(3.0, 60.0, n)).astype(int),
    )
    d["COMMUNE_SOUHAITEE_3"] = np.where((d["COMMUNE_SOUHAITEE_2"] != "") & (rng.random(n) < 0.5),
                                        rng.choice(codes, n, p=communes.to_numpy()), "")
    for k in ("COMMUNE_SOUHAITEE_2", "COMMUNE_SOUHAITEE_3"):
        d.loc[d[k] == d["COMMUNE_SOUHAITEE_1"], k] = ""
    return d


def instantane(d: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
    """The demand file at the end of the month ``t``: active demands, age and renewal at ``t``."""
    a = d[(d["DATE_DEPOT"] <= t) & (d["FIN"] > t)].copy()
    depot = pd.DatetimeIndex(a["DATE_DEPOT"])
    years = np.where((depot.month > t.month) | ((depot.month == t.month) & (depot.day > t.day)),
                     t.year - depot.year - 1, t.year - depot.year)
    renew_year = depot.year + years
    renew = pd.to_datetime({"year": renew_year, "month": depot.month,
                            "day": np.minimum(depot.day, 28)}, errors="coerce")
    a["DATE_RENOUVELLEMENT"] = np.where(years >= 1, renew.dt.strftime("%Y-%m-%d"), "")
    a["AGE_DEMANDEUR"] = a["AGE_DEMANDEUR"].to_numpy() + ((t - depot).days.to_numpy() // 365)
    # The cotation is filled since 2023 (grid of the cotation of the demand); empty before.
    a["COTATION"] = np.where(t.year >= 2023, (a["COTATION_BASE"] + (t - depot).days.to_numpy() // 30).astype(str), "")
    a["DATE_DEPOT"] = depot.strftime("%Y-%m-%d")
    return a.sort_values("NUM_UNIQUE")[DEMANDE_COLUMNS]


# --------------------------------------------------------------------------------------------
# SYPLO
# --------------------------------------------------------------------------------------------

def syplo(examens: pd.DataFrame, demandes: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Every household ever labelled prioritaire, with its final status (relogé at its lease,
    struck off when its demand lapsed, still to rehouse otherwise)."""
    prio_e = examens[(examens["PRIORITAIRE"].eq("O") | examens["DALO"].eq("O"))]
    signed = prio_e[prio_e["DATE_BAIL"].notna()]
    others = demandes[(demandes["PRIORITAIRE"].eq("O") | demandes["DALO"].eq("O"))
                      & ~demandes["NUM_UNIQUE"].isin(signed["NUM_UNIQUE"])]
    rows = []
    cal_e = pd.to_datetime(signed["DATE_CAL"])
    depot_e = pd.to_datetime(signed["DATE_DEPOT"])
    label_e = depot_e + (cal_e - depot_e) * rng.uniform(0.1, 0.7, len(signed))
    rows.append(pd.DataFrame({
        "NUM_UNIQUE": signed["NUM_UNIQUE"].to_numpy(), "DATE_LABELLISATION": label_e.dt.normalize().to_numpy(),
        "MOTIF_PRIORITE": signed["MOTIF_PRIORITE"].to_numpy(), "STATUT": "RELOGE",
        "DATE_STATUT": pd.to_datetime(signed["DATE_BAIL"]).to_numpy(), "BAILLEUR_RELOGEMENT": signed["BAILLEUR"].to_numpy(),
        "RESERVATAIRE_RELOGEMENT": signed["RESERVATAIRE"].to_numpy(),
        "SORTANT_HEBERGEMENT": signed["SORTANT_HEBERGEMENT"].to_numpy(),
    }))
    n = len(others)
    depot_o = pd.to_datetime(others["DATE_DEPOT"])
    label_o = depot_o + pd.to_timedelta(rng.integers(20, 200, n), unit="D")
    fin_o = pd.to_datetime(others["FIN"])
    label_o = label_o.where(label_o < fin_o, depot_o)
    motif_o = np.where(others["DALO"].eq("O"), "DALO", rng.choice(MOTIFS_PRIORITE[0], n, p=MOTIFS_PRIORITE[1]))
    rows.append(pd.DataFrame({
        "NUM_UNIQUE": others["NUM_UNIQUE"].to_numpy(), "DATE_LABELLISATION": label_o.dt.normalize().to_numpy(),
        "MOTIF_PRIORITE": motif_o, "STATUT": "RADIE", "DATE_STATUT": fin_o.dt.normalize().to_numpy(),
        "BAILLEUR_RELOGEMENT": "", "RESERVATAIRE_RELOGEMENT": "",
        "SORTANT_HEBERGEMENT": np.where(others["LOGEMENT_ACTUEL"].eq("STRUCTURE_HEBERGEMENT"), "O", "N"),
    }))
    s = pd.concat(rows, ignore_index=True)
    s["ACCOMPAGNEMENT"] = rng.choice(ACCOMPAGNEMENTS[0], len(s), p=ACCOMPAGNEMENTS[1])
    return s.sort_values("NUM_UNIQUE", kind="stable").reset_index(drop=True)


def syplo_annee(s: pd.DataFrame, annee: int) -> pd.DataFrame:
    """The SYPLO extract of 31 December ``annee``: households labelled by then, still to rehouse or
    whose status changed during the year (status as known on that date)."""
    fin = pd.Timestamp(f"{annee}-12-31")
    debut = pd.Timestamp(f"{annee}-01-01")
    label = pd.to_datetime(s["DATE_LABELLISATION"])
    statut_date = pd.to_datetime(s["DATE_STATUT"])
    keep = (label <= fin) & (statut_date >= debut)
    out = s[keep].copy()
    pending = pd.to_datetime(out["DATE_STATUT"]) > fin
    out.loc[pending, ["STATUT", "DATE_STATUT", "BAILLEUR_RELOGEMENT", "RESERVATAIRE_RELOGEMENT"]] = \
        ["A_RELOGER", pd.NaT, "", ""]
    out["DATE_LABELLISATION"] = pd.to_datetime(out["DATE_LABELLISATION"]).dt.strftime("%Y-%m-%d")
    out["DATE_STATUT"] = pd.to_datetime(out["DATE_STATUT"]).dt.strftime("%Y-%m-%d").fillna("")
    return out[SYPLO_COLUMNS]


# --------------------------------------------------------------------------------------------
# Writing, and the whole demand side
# --------------------------------------------------------------------------------------------

def ecrire(df: pd.DataFrame, path: Path) -> Path:
    """A pivot-layout CSV: `;`, UTF-8, decimal point, ISO dates, booleans O/N."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, sep=";", index=False, encoding="utf-8", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return path


def _dates_iso(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for c in columns:
        out[c] = pd.to_datetime(out[c]).dt.strftime("%Y-%m-%d").fillna("")
    return out


def generer(data_dir: Path, rpls_par_annee: dict[int, pd.DataFrame], annees: tuple[int, int], seed: int,
            numeros: Numeros | None = None) -> list[Path]:
    """Write the monthly demand and attribution files and the yearly SYPLO extracts of ``annees``.

    ``rpls_par_annee`` holds the RPLS millésime (contract columns) of every year of ``annees``.
    """
    numeros = numeros or Numeros()
    years = list(range(annees[0], annees[1] + 1))
    examens = []
    for annee in years:
        rng = np.random.default_rng([seed, annee, 31])
        ex = examens_annee(annee, rpls_par_annee[annee], rng, numeros)
        if annee == 2020:
            marquer_sortants(ex, 2020, 254, rng)   # CIA: 254 sorties d'hébergement in 2020
        else:
            marquer_sortants(ex, annee, int(round(254 * EVOLUTION.get(annee, 1.0))), rng)
        examens.append(ex)
    examens_df = pd.concat(examens, ignore_index=True)
    rng = np.random.default_rng([seed, 32])
    parc = rpls_par_annee[years[-1]]
    communes = parc["DEPCOM"].astype(str).value_counts(normalize=True).sort_index()
    examinees = demandes_examinees(examens_df, rng)
    stock = demandes_stock(examens_df, examinees, annees, rng, numeros, communes)
    demandes = completer_demandes(pd.concat([examinees, stock], ignore_index=True), rng, communes)
    # Sheltered households leaving a structure are recorded as such in their demand.
    sortants = set(examens_df.loc[examens_df["SORTANT_HEBERGEMENT"].eq("O"), "NUM_UNIQUE"])
    is_sortant = demandes["NUM_UNIQUE"].isin(sortants)
    demandes.loc[is_sortant, ["LOGEMENT_ACTUEL", "NB_PIECES_ACTUEL"]] = ["STRUCTURE_HEBERGEMENT", ""]
    demandes.loc[is_sortant & demandes["TYPE_DEMANDE"].eq("EXTERNE"), "MOTIF_PRINCIPAL"] = "STRUCTURE_HEBERGEMENT"

    written = []
    sne = data_dir / "sne"
    cal_month = pd.to_datetime(examens_df["DATE_CAL"]).dt.to_period("M")
    out = _dates_iso(examens_df, ["DATE_DEPOT", "DATE_CAL", "DATE_BAIL"])
    for t in fins_de_mois(annees):
        period = t.to_period("M")
        written.append(ecrire(instantane(demandes, t), sne / f"demandes_{t:%Y-%m}.csv"))
        written.append(ecrire(out[cal_month == period][ATTRIBUTION_COLUMNS], sne / f"attributions_{t:%Y-%m}.csv"))
    s = syplo(examens_df, demandes, rng)
    for annee in years:
        written.append(ecrire(syplo_annee(s, annee), data_dir / "syplo" / f"syplo_{annee}.csv"))
    return written


# --------------------------------------------------------------------------------------------
# Calibration (computed from the files read back through the project's readers)
# --------------------------------------------------------------------------------------------

def _oui(values: pd.Series) -> pd.Series:
    """O/N or booleans → booleans (missing = False)."""
    if values.dtype == "boolean" or values.dtype == bool:
        return values.fillna(False).astype(bool)
    return values.astype("string").str.upper().isin(["O", "1", "TRUE", "OUI"]).fillna(False).astype(bool)


def prononcees(a: pd.DataFrame) -> pd.Series:
    """*Attribution prononcée* (indicators.md, section A): a positive decision at rank 1, or at rank
    n when every better-ranked positive candidate for the same dwelling and CALEOL refused
    (``REFUS`` or ``SANS_REPONSE``). The test-side twin of the dbt rule, for the calibration."""
    positive = a["DECISION_CAL"].isin(["ATTRIBUTION", "ATTRIBUTION_RANG", "ATTRIBUTION_CONDITION_SUSPENSIVE"])
    refus = a["REPONSE_DEMANDEUR"].isin(["REFUS", "SANS_REPONSE"])
    p = a[positive].assign(_refus=refus[positive], _rang=pd.to_numeric(a.loc[positive, "RANG"]))
    p = p.sort_values(["LOGEMENT_ID", "DATE_CAL", "_rang"], kind="stable")
    not_refused = (~p["_refus"]).astype(int)
    before = not_refused.groupby([p["LOGEMENT_ID"], p["DATE_CAL"]]).cumsum() - not_refused
    out = pd.Series(False, index=a.index)
    out[p.index] = (before == 0).to_numpy()
    return out


def premier_quartile(a: pd.DataFrame, annee: pd.Series) -> pd.Series:
    """Resources per UC per year strictly below Q1 of the year."""
    uc = unites_consommation(pd.to_numeric(a["NB_PERSONNES"]), pd.to_numeric(a["NB_ENFANTS_MOINS_14"]))
    par_uc = pd.to_numeric(a["REVENU_MENSUEL"]).astype(float) * 12 / uc
    return par_uc < annee.map(seuils_q1()).astype(float)


def section_a(a: pd.DataFrame) -> pd.DataFrame:
    """The section-A table (one row per year × bailleur, plus ``TOTAL``) from attribution rows."""
    a = a.reset_index(drop=True)
    cal = pd.to_datetime(a["DATE_CAL"])
    annee = cal.dt.year
    pr = prononcees(a)
    qpv = a["QPV_LOGEMENT"].fillna("").astype(str).str.len() > 0
    bail = a["DATE_BAIL"].notna() & (a["DATE_BAIL"].astype(str) != "")
    anru = _oui(a["RELOGEMENT_ANRU"])
    q1 = premier_quartile(a, annee)
    flux = ~_oui(a["HORS_FLUX"])
    prio = _oui(a["PRIORITAIRE"]) | _oui(a["DALO"])
    f = pd.DataFrame({
        "annee": annee, "bailleur": a["BAILLEUR"],
        "q1_hors_qpv": pr & bail & ~qpv & q1 & ~anru, "anru_hors_qpv": pr & bail & ~qpv & anru,
        "baux_hors_qpv": pr & bail & ~qpv, "q234_qpv": pr & qpv & ~q1, "attributions_qpv": pr & qpv,
        "prioritaires": pr & flux & prio, "attributions_flux": pr & flux,
    })
    t = f.groupby(["annee", "bailleur"]).sum().astype(int)
    total = t.groupby("annee").sum()
    total["bailleur"] = "TOTAL"
    return pd.concat([t.reset_index(), total.reset_index()], ignore_index=True).sort_values(["annee", "bailleur"])


def _mois_entre(debut: str, fin: str) -> set[tuple[int, int]]:
    return {(p.year, p.month) for p in pd.period_range(debut, fin, freq="M")}


def cibles(data_dir: Path) -> list[Cible]:
    """Calibration lines of the demand side, from the files read back with the project's readers."""
    lignes: list[Cible] = []
    a = lire(data_dir, "attributions", "sne", "attributions", periodes=_mois_entre("2020-01", "2021-07"))
    a = a.reset_index(drop=True)
    table = section_a(a)
    t2020 = table[table["annee"] == 2020].set_index("bailleur")
    libelles = {"q1_hors_qpv": "Q1 hors QPV (hors ANRU)", "anru_hors_qpv": "ANRU hors QPV",
                "baux_hors_qpv": "baux signés hors QPV", "q234_qpv": "Q2–Q4 en QPV",
                "attributions_qpv": "attributions en QPV", "prioritaires": "prioritaires (flux)",
                "attributions_flux": "attributions (flux)"}
    attendu = {b: vars(o) for b, o in TABLE_2020.items()}
    attendu["TOTAL"] = {k: sum(v[k] for v in attendu.values()) for k in libelles}
    for bailleur in [*TABLE_2020, "TOTAL"]:
        for col, lib in libelles.items():
            obtenu = int(t2020.loc[bailleur, col]) if bailleur in t2020.index else 0
            lignes.append(Cible("Objectifs loi Égalité et Citoyenneté, 2020 (règles légales appliquées aux fichiers)",
                                f"{bailleur} — {lib}", attendu[bailleur][col], obtenu, 0, "", SOURCE_CIA))

    # Key figures of 06/08/2021: the snapshot at the end of July 2021, and the leases signed
    # (attributions prononcées with DATE_BAIL) whose CALEOL sat in the previous twelve months.
    d = lire(data_dir, "demandes", "sne", "demandes", periodes={(2021, 7), (2020, 12)})
    juillet = d[(d["_ANNEE"] == 2021) & (d["_MOIS"] == 7)]
    cal = pd.to_datetime(a["DATE_CAL"])
    pr = prononcees(a)
    bail = a["DATE_BAIL"].notna()
    douze = pr & bail & (cal >= "2020-08-01") & (cal <= "2021-07-31")
    theme = "Fichier partagé, chiffres clés du 06/08/2021 (instantané fin juillet 2021)"
    par_typo = juillet["TYPOLOGIE_SOUHAITEE"].value_counts()
    for typo in TYPOLOGIES:
        cible = DEMANDES_CLES[typo]
        lignes.append(Cible(theme, f"demandes actives {typo}", cible, int(par_typo.get(typo, 0)),
                            max(10, round(0.04 * cible)), "", SOURCE_FP))
    att = a.loc[douze, "TYPOLOGIE_LOGEMENT"].value_counts()
    for typo in TYPOLOGIES:
        cible = ATTRIBUTIONS_CLES[typo]
        lignes.append(Cible(theme, f"attributions des 12 mois précédents {typo}", cible, int(att.get(typo, 0)),
                            max(5, round(0.1 * cible)), "", SOURCE_FP,
                            "baux signés, CALEOL d'août 2020 à juillet 2021" if typo == "CHAMBRE" else ""))

    # Tensions and the demand's profile at the end of 2020.
    dec = d[(d["_ANNEE"] == 2020) & (d["_MOIS"] == 12)].reset_index(drop=True)
    baux20 = a[pr & bail & (cal.dt.year == 2020)].reset_index(drop=True)
    q1_dec = premier_quartile(dec, pd.Series(2020, index=dec.index))
    q1_baux = premier_quartile(baux20, pd.Series(2020, index=baux20.index))
    theme = "Demande et tension, fin 2020 (demandes actives / baux signés de l'année)"
    src = "CIA Dijon métropole 2022, §2 (fichier partagé)"
    def tension(num: int, den: int) -> float:
        return num / den if den else float("nan")
    typo_d, typo_b = dec["TYPOLOGIE_SOUHAITEE"], baux20["TYPOLOGIE_LOGEMENT"]
    for lib, cible, num, den in [
        ("demandes par attribution", TENSION_2020["TOTAL"], len(dec), len(baux20)),
        ("tension T1", TENSION_2020["T1"], (typo_d == "T1").sum(), (typo_b == "T1").sum()),
        ("tension T2", TENSION_2020["T2"], (typo_d == "T2").sum(), (typo_b == "T2").sum()),
        ("tension T5–T6", TENSION_2020["T5_T6"], typo_d.isin(["T5", "T6"]).sum(), typo_b.isin(["T5", "T6"]).sum()),
        ("tension 60 ans et plus", TENSION_2020["60_PLUS"], (dec["AGE_DEMANDEUR"] >= 60).sum(),
         (baux20["AGE_DEMANDEUR"] >= 60).sum()),
        ("tension 1er quartile", TENSION_2020["Q1"], q1_dec.sum(), q1_baux.sum()),
    ]:
        lignes.append(Cible(theme, lib, cible, tension(int(num), int(den)), round(0.08 * cible, 2), "ratio", src))
    mutation = dec["TYPE_DEMANDE"].eq("MUTATION")
    lignes.append(Cible(theme, "part des mutations dans la demande", 0.43, mutation.mean(), 0.02, "%", src))
    motifs = dec.loc[mutation, "MOTIF_PRINCIPAL"].value_counts(normalize=True)
    for motif, cible in [("LOGEMENT_INADAPTE", 0.43), ("CADRE_DE_VIE", 0.16), ("MOBILITE_PRO", 0.12)]:
        lignes.append(Cible(theme, f"motif des mutations : {motif}", cible, float(motifs.get(motif, 0)), 0.02, "%", src))
    revenu = pd.to_numeric(dec["REVENU_MENSUEL"]).astype(float) * 12
    plai = plafond_plai(2020, pd.to_numeric(dec["NB_PERSONNES"]).to_numpy())
    lignes.append(Cible(theme, "demandeurs sous les plafonds PLAI", 0.74, float((revenu < plai).mean()), 0.02, "%", src))
    lignes.append(Cible(theme, "demandeurs sous le tiers des plafonds PLAI", 0.40, float((revenu < plai / 3).mean()),
                        None, "%", src, "incompatible avec 2 449 demandeurs du 1er quartile sur ~9 900 : un revenu "
                        "sous le tiers du plafond PLAI est toujours sous Q1 par UC ; la démo garde le compte du 1er quartile"))
    lignes.append(Cible(theme, "demandeurs du 1er quartile", 2449, int(q1_dec.sum()), 75, "", src))
    lignes.append(Cible(theme, "dont nouveaux entrants (demandes externes)", 1502,
                        int((q1_dec & dec["TYPE_DEMANDE"].eq("EXTERNE")).sum()), 60, "", src))
    delai = (cal - pd.to_datetime(a["DATE_DEPOT"])).dt.days / 30.4375
    lignes.append(Cible("Délais (PPGDID §7)", "délai moyen d'attribution des baux signés 2020 (mois)", 13.5,
                        float(delai[pr & bail & (cal.dt.year == 2020)].mean()), 0.5, "ratio",
                        "PPGDID Dijon métropole 2022, §7 (13 à 14 mois)"))
    s = lire(data_dir, "syplo", "syplo", "syplo", annees={2020})
    statut = pd.to_datetime(s["DATE_STATUT"])
    sorties = s["STATUT"].eq("RELOGE") & statut.dt.year.eq(2020) & _oui(s["SORTANT_HEBERGEMENT"])
    lignes.append(Cible("SYPLO 2020", "sorties d'hébergement relogées dans l'année", 254, int(sorties.sum()), 0, "",
                        "CIA Dijon métropole 2022, §2 (SYPLO)"))
    return lignes
