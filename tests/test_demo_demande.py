"""The demo's demand side: the 2020 section-A table, the calibration report, the links between files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from pipeline.demo import generate
from pipeline.demo.calibration import lire, rapport, texte
from pipeline.demo.demande import TABLE_2020, premier_quartile, prononcees, section_a
from pipeline.sources.extract import SourceSpec, read_extract, source_for_file

YEARS = (2020, 2021)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo of 2020–2021 (the years the CIA's figures describe), generated once for the module."""
    data_dir = tmp_path_factory.mktemp("demo")
    generate(data_dir, years=YEARS)
    return data_dir


def test_section_a_2020_is_reproduced_count_for_count(demo_dir: Path) -> None:
    attributions = lire(demo_dir, "attributions", "sne", "attributions", annees={2020})
    table = section_a(attributions).set_index(["annee", "bailleur"])
    for bailleur, expected in TABLE_2020.items():
        got = table.loc[(2020, bailleur)]
        assert {k: int(got[k]) for k in vars(expected)} == vars(expected), bailleur
    total = table.loc[(2020, "TOTAL")]
    assert (total["baux_hors_qpv"], total["attributions_qpv"], total["attributions_flux"]) == (1990, 874, 2627)
    assert (total["q1_hors_qpv"], total["anru_hors_qpv"], total["q234_qpv"], total["prioritaires"]) == (248, 6, 691, 900)


def test_counting_all_positive_rows_would_not_reproduce_the_table(demo_dir: Path) -> None:
    """The files hold rows the rules must discard (ranked candidates after an acceptance,
    NON_ATTRIBUTION, IRRECEVABILITE): the table is reached only through the rules."""
    a = lire(demo_dir, "attributions", "sne", "attributions", annees={2020})
    positive = a["DECISION_CAL"].isin(["ATTRIBUTION", "ATTRIBUTION_RANG", "ATTRIBUTION_CONDITION_SUSPENSIVE"])
    assert positive.sum() > prononcees(a).sum()
    assert a["DECISION_CAL"].isin(["NON_ATTRIBUTION", "IRRECEVABILITE"]).any()
    assert a["REPONSE_DEMANDEUR"].eq("SANS_REPONSE").any()


def test_every_calibration_line_is_within_tolerance(demo_dir: Path) -> None:
    lignes = rapport(demo_dir)
    report = texte(lignes)
    assert not [l for l in lignes if l.ok is False], report
    informatives = [l for l in lignes if l.ok is None]
    assert all(l.note for l in informatives), "an informative line must say why it is not asserted"
    assert len(lignes) - len(informatives) >= 60


def test_examinations_point_to_rpls_dwellings_and_demands(demo_dir: Path) -> None:
    rpls = lire(demo_dir, "rpls", "rpls", "rpls", annees={2020}).set_index("IDENT_LOGT")
    a = lire(demo_dir, "attributions", "sne", "attributions", annees={2020})
    dwellings = rpls.loc[a["LOGEMENT_ID"]]
    assert (dwellings["BAILLEUR"].to_numpy() == a["BAILLEUR"].to_numpy()).all()
    qpv_rpls = dwellings["PLG_QP"].fillna("").to_numpy()
    assert (qpv_rpls == a["QPV_LOGEMENT"].fillna("").to_numpy()).all()
    rooms = pd.to_numeric(dwellings["NBPIECE"]).clip(1, 6).astype(int).astype(str).to_numpy()
    assert (("T" + rooms) == a["TYPOLOGIE_LOGEMENT"].to_numpy()).all()
    # The household examined in a month was an active demand at the end of the previous month
    # (or filed during the month).
    d = lire(demo_dir, "demandes", "sne", "demandes", periodes={(2020, 5)})
    mai = a[pd.to_datetime(a["DATE_CAL"]).dt.to_period("M") == pd.Period("2020-06")]
    filed_in_june = pd.to_datetime(mai["DATE_DEPOT"]) >= "2020-06-01"
    assert mai.loc[~filed_in_june, "NUM_UNIQUE"].isin(d["NUM_UNIQUE"]).all()
    # Signed leases leave the stock.
    decembre = lire(demo_dir, "demandes", "sne", "demandes", periodes={(2021, 12)})
    signed_2020 = a.loc[a["DATE_BAIL"].notna(), "NUM_UNIQUE"]
    assert not signed_2020.isin(decembre["NUM_UNIQUE"]).any()


def test_syplo_households_are_demanders(demo_dir: Path) -> None:
    s = lire(demo_dir, "syplo", "syplo", "syplo", annees={2020})
    demands = pd.concat([lire(demo_dir, "demandes", "sne", "demandes", annees={2020}),
                         lire(demo_dir, "attributions", "sne", "attributions", annees={2020})])
    relogés = s[s["STATUT"].eq("RELOGE")]
    assert len(relogés) > 500
    assert s["NUM_UNIQUE"].isin(set(demands["NUM_UNIQUE"])).mean() > 0.95
    assert set(s["STATUT"]) == {"A_RELOGER", "RELOGE", "RADIE"}


def test_every_generated_file_reads_without_a_rejected_row(demo_dir: Path) -> None:
    files = [p for p in sorted(demo_dir.rglob("*.csv"))]
    assert len(files) > 50
    for path in files:
        result = read_extract(path, source_for_file(path))
        assert result.rows_rejected == 0, (path.name, result.rejets.head(3).to_dict("records"))
    regional = read_extract(demo_dir / "rpls" / "rpls_2020.csv", SourceSpec.load("rpls"))
    assert regional.layout == "dido"


def test_same_seed_same_bytes_for_the_demand_side(tmp_path: Path) -> None:
    def digests(folder: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.rglob("*")) if p.is_file() and p.parent.name in ("sne", "syplo")}
    generate(tmp_path / "a", years=(2021, 2021))
    generate(tmp_path / "b", years=(2021, 2021))
    first, second = digests(tmp_path / "a"), digests(tmp_path / "b")
    assert first == second and len(first) == 25


# --- the test-side twin of the legal rules, on hand-made rows -------------------------------

def _row(**kw: object) -> dict:
    base = {"LOGEMENT_ID": "L1", "DATE_CAL": "2020-03-02", "DECISION_CAL": "ATTRIBUTION_RANG", "RANG": 1,
            "REPONSE_DEMANDEUR": "ACCEPTE"}
    return base | kw


def test_rank_two_counts_after_a_refusal_or_no_answer_not_after_an_acceptance() -> None:
    a = pd.DataFrame([
        _row(RANG=1, REPONSE_DEMANDEUR="REFUS"), _row(RANG=2),                          # L1: both count
        _row(LOGEMENT_ID="L2", RANG=1), _row(LOGEMENT_ID="L2", RANG=2, REPONSE_DEMANDEUR=None),  # L2: rank 1 only
        _row(LOGEMENT_ID="L3", RANG=1, REPONSE_DEMANDEUR="SANS_REPONSE"), _row(LOGEMENT_ID="L3", RANG=2),
        _row(LOGEMENT_ID="L4", DECISION_CAL="NON_ATTRIBUTION", RANG=None, REPONSE_DEMANDEUR=None),
        _row(LOGEMENT_ID="L4", DECISION_CAL="IRRECEVABILITE", RANG=None, REPONSE_DEMANDEUR=None),
        _row(LOGEMENT_ID="L4", DECISION_CAL="ATTRIBUTION", RANG=1),
    ])
    assert prononcees(a).tolist() == [True, True, True, False, True, True, False, False, True]


def test_resources_exactly_at_q1_are_not_first_quartile() -> None:
    # 2020: Q1 = 8 434 €/UC. One adult + one teenager = 1,5 UC: 1 054,25 €/month is exactly Q1.
    a = pd.DataFrame({"NB_PERSONNES": [2, 2, 2], "NB_ENFANTS_MOINS_14": [0, 0, 1],
                      "REVENU_MENSUEL": [1054.25, 1054.24, 1054.24]})
    # With a child under 14 (0,3 UC: 1,3 UC) the same income is above Q1.
    assert premier_quartile(a, pd.Series([2020] * 3)).tolist() == [False, True, False]


@pytest.mark.slow
def test_the_default_demo_is_within_tolerance_on_every_line(tmp_path: Path) -> None:
    """The demo `make demo` writes (2016–2025): `observatoire demo calibration` on it is all green."""
    generate(tmp_path)
    lignes = rapport(tmp_path)
    assert not [l for l in lignes if l.ok is False], texte(lignes)
