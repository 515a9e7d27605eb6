"""The referential seeds against the public facts they were typed from (../shared/ref), and their marks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.settings import DBT_PROJECT_DIR

SEEDS = DBT_PROJECT_DIR / "seeds"


def seuils() -> pd.DataFrame:
    return pd.read_csv(SEEDS / "ref_seuils_quartiles.csv", dtype={"epci_siren": str}).set_index("annee")


def test_every_quartile_threshold_has_a_source_and_demo_is_only_a_mark():
    table = seuils()
    assert table[["source_q1", "source_q2_q3"]].notna().all(axis=None)
    officiels = {a for a, s in table["source_q1"].items() if s != "demo"}
    assert officiels == {2020, 2024, 2025, 2026}  # the CIA's Q1 2020 and the arrêtés 2024–2026
    assert {a for a, s in table["source_q2_q3"].items() if s != "demo"} == {2024, 2025, 2026}


def test_the_official_thresholds_are_the_arretes_of_the_shared_reference(shared_ref: Path):
    """2024–2026 for Dijon Métropole as ../shared/ref/quartiles_cote_d_or_2024_2026.csv gives them
    (ministerial arrêtés, via calculette-lec; SOURCES.md)."""
    reference = pd.read_csv(shared_ref / "quartiles_cote_d_or_2024_2026.csv")
    reference = reference[reference["epci"] == "Dijon Métropole"].set_index("annee")
    table = seuils()
    for annee, ligne in reference.iterrows():
        assert tuple(table.loc[annee, ["q1", "q2", "q3"]]) == (ligne.q1, ligne.q2, ligne.q3), annee
        assert "arrêté ministériel" in table.loc[annee, "source_q1"] and "arrêté" in table.loc[annee, "source_q2_q3"]
