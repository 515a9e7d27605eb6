"""The demo generator (walking-skeleton slice: geography and RPLS)."""

from __future__ import annotations

import hashlib

import pandas as pd

from pipeline.demo import generate, is_demo
from pipeline.demo.rpls import BAILLEURS_2021
from pipeline.sources.extract import SourceSpec, read_extract
from pipeline.sources.geo import read_communes


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_gives_byte_identical_files(tmp_path):
    first = generate(tmp_path / "a")
    second = generate(tmp_path / "b")
    assert [digest(p) for p in first.files] == [digest(p) for p in second.files]
    third = generate(tmp_path / "c", seed=7)
    assert digest(third.data_dir / "rpls" / "rpls_2021.csv") != digest(first.data_dir / "rpls" / "rpls_2021.csv")


def test_rpls_2021_matches_the_cia_counts_and_reads_without_rejects(tmp_path):
    report = generate(tmp_path)
    assert is_demo(tmp_path)
    result = read_extract(tmp_path / "rpls" / "rpls_2021.csv", SourceSpec.load("rpls"))
    assert result.rows_rejected == 0 and result.layout == "dido"
    data = result.data
    assert len(data) == 27008
    assert (data["QPV_CODE"] == "1").sum() == 7532
    counts = data["BAILLEUR"].value_counts()
    for code, expected in BAILLEURS_2021.items():
        assert counts[code] == expected
    assert data["IDENT_LOGT"].is_unique
    assert len(report.files) == 3


def test_2025_file_uses_depcom_and_grows(tmp_path):
    generate(tmp_path, years=(2025, 2025))
    header = (tmp_path / "rpls" / "rpls_2025.csv").read_text(encoding="utf-8").splitlines()[0].split(";")
    assert "DEPCOM" in header and "DEPCOM_CODE" not in header
    frame = pd.read_csv(tmp_path / "rpls" / "rpls_2025.csv", sep=";", dtype=str)
    assert len(frame) == 27008 + 4 * 370


def test_demo_dwellings_lie_in_their_fictitious_commune(tmp_path):
    generate(tmp_path)
    communes = read_communes(tmp_path / "geo" / "communes.geojson").set_index("CODE_INSEE")
    assert communes["FICTIF"].all() and len(communes) == 23
    frame = pd.read_csv(tmp_path / "rpls" / "rpls_2021.csv", sep=";", dtype={"DEPCOM_CODE": str})
    hors_qpv = frame[frame["QPV_CODE"] == 0].sample(300, random_state=1)
    import shapely

    inside = [communes.loc[c, "geometry"].buffer(1).contains(shapely.Point(x, y))
              for c, x, y in zip(hors_qpv["DEPCOM_CODE"], hors_qpv["X"], hors_qpv["Y"])]
    assert all(inside)
