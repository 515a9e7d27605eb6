"""The demo geography and the persistent demo RPLS stock (2016–2025)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from pipeline.demo.calibration import texte
from pipeline.demo.rpls import (
    AUTRE_2021,
    BAILLEURS_2021,
    REGIONAL_COLUMNS,
    cibles,
    ecrire_rpls,
    generer_rpls,
    millesime,
    parc_demo,
)
from pipeline.demo.territoire import CONTOURS_REELS, QPV_DEMO, ecrire_geographie, geographie
from pipeline.sources.extract import LAYOUTS_DIR, SourceSpec, read_extract
from pipeline.sources.geo import read_communes, read_contours

ANNEES = range(2016, 2026)
REGIONAL_LAYOUT = LAYOUTS_DIR / "rpls" / "regional.toml"
needs_regional = pytest.mark.skipif(not REGIONAL_LAYOUT.exists(),
                                    reason=f"{REGIONAL_LAYOUT} (the `regional` layout) is not written yet")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def geo():
    return geographie()


@pytest.fixture(scope="module")
def parc(geo):
    return parc_demo(geo, seed=2021)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory, geo, parc) -> Path:
    """Geography and RPLS 2016–2025 as the demo writes them (2018 in the regional layout)."""
    data_dir = tmp_path_factory.mktemp("demo")
    ecrire_geographie(geo, data_dir / "geo")
    for annee in ANNEES:
        layout = "regional" if annee == 2018 and REGIONAL_LAYOUT.exists() else "dido"
        ecrire_rpls(millesime(parc, annee), data_dir / "rpls" / f"rpls_{annee}.csv", annee, layout=layout)
    return data_dir


def test_geography_has_real_communes_fictitious_iris_and_qpv_lambert93_and_nested(demo_dir: Path, geo) -> None:
    fichier = gpd.read_file(demo_dir / "geo" / "communes.geojson")
    iris = gpd.read_file(demo_dir / "geo" / "iris.geojson")
    qpv = gpd.read_file(demo_dir / "geo" / "qpv.geojson")
    for frame in (fichier, iris, qpv):
        assert frame.crs.to_epsg() == 2154
    # real outlines, COG 2018 (Crimolois apart), saying so; the IRIS and QPV are fictitious
    assert not fichier["FICTIF"].any() and fichier["SOURCE"].str.contains("Admin Express").all()
    assert iris["FICTIF"].all() and qpv["FICTIF"].all()
    assert len(fichier) == 24 and {"21213", "21452"} <= set(fichier["INSEE_COM"])
    # read as the ingestion reads it: 23 communes of the current COG, not fictitious
    communes = read_communes(demo_dir / "geo" / "communes.geojson").rename(columns={"CODE_INSEE": "INSEE_COM"})
    assert len(communes) == 23 and "21213" not in set(communes["INSEE_COM"]) and not communes["FICTIF"].any()
    assert 100 <= len(iris) <= 140 and iris["CODE_IRIS"].is_unique
    par_commune = iris.groupby("INSEE_COM").size()
    assert par_commune["21231"] >= 50
    uniques = par_commune[par_commune == 1].index
    assert set(iris.loc[iris["INSEE_COM"].isin(uniques), "CODE_IRIS"]) == {f"{c}0000" for c in uniques}
    assert iris["CODE_IRIS"].str.fullmatch(r"\d{9}").all()
    assert (iris["CODE_IRIS"].str[:5] == iris["INSEE_COM"]).all()
    # every IRIS lies within its commune and the IRIS tile it; the QPV lie inside theirs
    polys = communes.set_index("INSEE_COM").geometry
    for row in iris.itertuples():
        assert row.geometry.intersection(polys[row.INSEE_COM]).area >= 0.99 * row.geometry.area, row.CODE_IRIS
    for code, group in iris.groupby("INSEE_COM"):
        assert abs(shapely.union_all(group.geometry.values).area - polys[code].area) < 1e-3 * polys[code].area
    assert sorted(qpv["code_qp"]) == sorted(QPV_DEMO)
    for row in qpv.itertuples():
        assert row.INSEE_COM == QPV_DEMO[row.code_qp]["code_insee"]
        assert polys[row.INSEE_COM].buffer(1).contains(row.geometry)


#: Area of the commune of Dijon, INSEE (comparateur de territoires): 40,41 km². The simplified
#: Admin Express outline measures 41,7 km² (3 % more): the test allows 5 % (Voronoi cells were 12,7).
SUPERFICIE_DIJON_KM2 = 40.41


def test_demo_communes_are_the_real_outlines(demo_dir: Path) -> None:
    communes = read_communes(demo_dir / "geo" / "communes.geojson").set_index("CODE_INSEE").geometry
    assert abs(communes["21231"].area / 1e6 - SUPERFICIE_DIJON_KM2) < 0.05 * SUPERFICIE_DIJON_KM2
    # Neuilly-Crimolois is Neuilly-lès-Dijon and Crimolois, and the communes do not overlap
    fichier = gpd.read_file(demo_dir / "geo" / "communes.geojson").set_index("INSEE_COM").geometry
    reunion = fichier["21452"].union(fichier["21213"])
    assert communes["21452"].symmetric_difference(reunion).area < 1e-6 * reunion.area
    assert sum(g.area for g in communes) == pytest.approx(shapely.union_all(communes.to_numpy()).area, rel=1e-6)


def test_demo_communes_equal_the_shared_reference_file(demo_dir: Path, shared_ref: Path) -> None:
    source = shared_ref / "dijon_metropole_communes_cog2018.geojson"
    assert CONTOURS_REELS.read_bytes() == source.read_bytes(), "the carried copy differs from ../shared/ref"
    reference = read_contours(source).set_index("CODE_COG").geometry
    fichier = gpd.read_file(demo_dir / "geo" / "communes.geojson").set_index("INSEE_COM").geometry
    assert sorted(fichier.index) == sorted(reference.index)
    for code, geometry in fichier.items():  # written at 0.1 m: equal up to the rounding
        assert geometry.symmetric_difference(reference[code]).area < 1e-4 * reference[code].area, code


def test_crimolois_dwellings_lie_in_the_real_crimolois(demo_dir: Path) -> None:
    fichier = gpd.read_file(demo_dir / "geo" / "communes.geojson").set_index("INSEE_COM").geometry
    frame = read_extract(demo_dir / "rpls" / "rpls_2018.csv", SourceSpec.load("rpls")).data
    x, y = frame["X"].to_numpy(float), frame["Y"].to_numpy(float)
    for code in ("21213", "21452"):  # 2018: Crimolois is still a commune in the RPLS
        rows = (frame["DEPCOM"] == code).to_numpy()
        assert rows.sum() > 0 and shapely.contains_xy(fichier[code], x[rows], y[rows]).all(), code


def test_same_seed_gives_byte_identical_files(tmp_path: Path, demo_dir: Path, parc: pd.DataFrame) -> None:
    again = tmp_path / "again"
    ecrire_geographie(geographie(), again / "geo")
    for name in ("communes", "iris", "qpv"):
        assert digest(again / "geo" / f"{name}.geojson") == digest(demo_dir / "geo" / f"{name}.geojson")
    same = parc_demo(geographie(), seed=2021)
    for annee, layout in ((2018, "regional"), (2021, "dido")):
        first = ecrire_rpls(millesime(parc, annee), tmp_path / "a" / f"rpls_{annee}.csv", annee, layout)
        second = ecrire_rpls(millesime(same, annee), tmp_path / "b" / f"rpls_{annee}.csv", annee, layout)
        assert digest(first) == digest(second)
    other = ecrire_rpls(millesime(parc_demo(geographie(), seed=7), 2021), tmp_path / "c" / "rpls_2021.csv", 2021)
    assert digest(other) != digest(tmp_path / "a" / "rpls_2021.csv")


def test_ident_logt_is_stable_across_millesimes(parc: pd.DataFrame) -> None:
    assert parc["IDENT_LOGT"].is_unique
    stable = ["IDENT_LOGT", "BAILLEUR", "RESIDENCE_ID", "NBPIECE", "SURFHAB", "CONSTRUCT", "LOCAT", "X", "Y",
              "PLG_IRIS", "PLG_QP"]
    years = {a: millesime(parc, a) for a in ANNEES}
    for a in ANNEES:
        assert years[a]["IDENT_LOGT"].is_unique
    # one dwelling = one set of stable attributes, whatever the millésime
    distinct = pd.concat([years[a][stable] for a in ANNEES]).drop_duplicates()
    assert distinct["IDENT_LOGT"].is_unique
    for a, b in zip(ANNEES, ANNEES[1:]):
        before, after = years[a].set_index("IDENT_LOGT"), years[b].set_index("IDENT_LOGT")
        new = after.index.difference(before.index)
        assert (after.loc[new, "LOCAT"] == b - 1).all()  # new = let during the year before
        gone = before.index.difference(after.index)
        assert before.loc[gone, "PLG_QP"].isin(["QPDEMO01", "QPDEMO02"]).all()  # demolished in ANRU QPV
        assert 40 <= len(gone) <= 80
        assert (before.loc[gone, "MODE"] == 3).all()  # emptied before demolition


def test_millesime_2021_has_the_exact_cia_counts(demo_dir: Path) -> None:
    result = read_extract(demo_dir / "rpls" / "rpls_2021.csv", SourceSpec.load("rpls"))
    assert result.layout == "dido" and result.rows_rejected == 0
    data = result.data
    assert len(data) == 27008
    assert (data["QPV_CODE"] == "1").sum() == 7532
    assert data["BAILLEUR"].value_counts().to_dict() == dict(BAILLEURS_2021, AUTRE=AUTRE_2021)
    assert data.loc[data["QPV_CODE"] == "1", "PLG_QP"].value_counts().to_dict() == {
        code: q["logements_2021"] for code, q in QPV_DEMO.items()}
    assert (data.loc[data["QPV_CODE"] == "0", "PLG_QP"].fillna("") == "").all()
    residences = data.groupby("RESIDENCE_ID").agg(n=("IDENT_LOGT", "size"), b=("BAILLEUR", "nunique"),
                                                   c=("DEPCOM", "nunique"), q=("QPV_CODE", "nunique"))
    assert (residences[["b", "c", "q"]] == 1).all().all()
    assert 20 <= residences["n"].median() <= 80
    assert 0.02 < (data["PMR_CODE"] == "1").mean() < 0.15
    modes = data["MODE"].value_counts(normalize=True)
    assert modes["1"] > 0.9 and 0.02 < modes["2"] < 0.05


def test_dido_header_follows_the_millesime(demo_dir: Path) -> None:
    def header(annee: int) -> list[str]:
        return (demo_dir / "rpls" / f"rpls_{annee}.csv").read_text(encoding="utf-8").split("\n", 1)[0].split(";")

    assert "DEPCOM_CODE" in header(2024) and "DEPCOM" not in header(2024)
    assert "DEPCOM" in header(2025) and "DEPCOM_CODE" not in header(2025)
    assert "PLG_IRIS2022_CODE" in header(2021)


def test_regional_file_is_latin1_with_decimal_comma(tmp_path: Path, parc: pd.DataFrame) -> None:
    path = ecrire_rpls(millesime(parc, 2018), tmp_path / "rpls" / "rpls_2018.csv", 2018, layout="regional")
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("latin-1")
    lines = text.split("\n")
    assert lines[0].split(";") == REGIONAL_COLUMNS
    row = dict(zip(REGIONAL_COLUMNS, lines[1].split(";")))
    assert "," in row["SURFHAB"] and "," in row["LOYERPRINC"] and "." not in row["LOYERPRINC"]
    assert "É" in text


@needs_regional
def test_regional_file_reads_back_through_the_regional_layout(demo_dir: Path) -> None:
    result = read_extract(demo_dir / "rpls" / "rpls_2018.csv", SourceSpec.load("rpls"))
    assert result.layout == "regional" and result.rows_rejected == 0
    assert result.encoding.replace("_", "-").lower() in ("latin-1", "cp1252", "iso-8859-1")
    data = result.data
    assert data["NOMVOIE"].str.contains("É").any()
    assert data["SURFHAB"].notna().all() and (data["SURFHAB"] % 1 != 0).any()  # decimal comma read
    assert (data["DEPCOM"] == "21213").any()  # the former commune, before 2019
    assert set(data["QPV_CODE"]) == {"0", "1"}


def test_crimolois_carries_21213_up_to_2018_only(parc: pd.DataFrame) -> None:
    for annee in ANNEES:
        frame = millesime(parc, annee)
        crimolois = frame["DEPCOM"] == "21213"
        if annee <= 2018:
            assert crimolois.sum() > 0 and (frame.loc[crimolois, "DEPCOM_LIBELLE"] == "Crimolois").all()
            assert (frame["DEPCOM"] == "21452").sum() > 0
        else:
            assert crimolois.sum() == 0
    before = millesime(parc, 2018).set_index("IDENT_LOGT")
    after = millesime(parc, 2019).set_index("IDENT_LOGT")
    ids = before.index[before["DEPCOM"] == "21213"]
    assert (after.loc[ids, "DEPCOM"] == "21452").all()


def test_dwellings_lie_in_their_iris_and_qpv(demo_dir: Path) -> None:
    iris = gpd.read_file(demo_dir / "geo" / "iris.geojson").set_index("CODE_IRIS").geometry
    qpv = gpd.read_file(demo_dir / "geo" / "qpv.geojson").set_index("code_qp").geometry
    frame = pd.read_csv(demo_dir / "rpls" / "rpls_2021.csv", sep=";", dtype=str, keep_default_na=False)
    x, y = frame["X"].astype(float).to_numpy(), frame["Y"].astype(float).to_numpy()
    for code, idx in frame.groupby("PLG_IRIS2022_CODE").indices.items():
        assert shapely.contains_xy(iris[code], x[idx], y[idx]).all(), code
    assert (frame["PLG_IRIS2022_CODE"].str[:5] == frame["DEPCOM_CODE"]).all()
    for code, idx in frame[frame["QPV_CODE"] == "1"].groupby("PLG_QP").indices.items():
        rows = frame.index[frame["QPV_CODE"] == "1"][idx]
        assert shapely.contains_xy(qpv[code], x[rows], y[rows]).all(), code
    hors = (frame["QPV_CODE"] == "0").to_numpy()
    assert not shapely.contains_xy(shapely.union_all(qpv.values), x[hors], y[hors]).any()


def test_real_contours_host_the_fictitious_iris_qpv_and_dwellings(tmp_path: Path) -> None:
    geo_dir = tmp_path / "geo"
    geo_dir.mkdir()
    shutil.copy(CONTOURS_REELS, geo_dir / "communes.geojson")  # a user's file: no FICTIF field
    before = digest(geo_dir / "communes.geojson")
    geo = geographie(geo_dir)
    assert geo.fichier_communes is None and not geo.communes["FICTIF"].any() and len(geo.communes) == 23
    assert geo.iris["FICTIF"].all() and geo.qpv["FICTIF"].all()
    written = ecrire_geographie(geo, geo_dir)
    assert geo_dir / "communes.geojson" not in written and digest(geo_dir / "communes.geojson") == before
    assert {p.name for p in written} == {"iris.geojson", "qpv.geojson"}
    polys = geo.communes.set_index("INSEE_COM").geometry
    for code, group in geo.iris.groupby("INSEE_COM"):
        assert abs(shapely.union_all(group.geometry.values).area - polys[code].area) < 2e-3 * polys[code].area
    for row in geo.qpv.itertuples():
        assert polys[row.INSEE_COM].buffer(1).contains(row.geometry)
    frame = millesime(parc_demo(geo), 2021)
    assert len(frame) == 27008
    for code, idx in frame.groupby("DEPCOM").indices.items():
        inside = shapely.contains_xy(polys[code].buffer(1), frame["X"].to_numpy(float)[idx], frame["Y"].to_numpy(float)[idx])
        assert inside.all(), code
    # a second call reads the user's contours again (they are not replaced by the demo's own)
    assert geographie(geo_dir).communes.geometry.equals(geo.communes.geometry)


def test_generer_rpls_compatibility_wrapper() -> None:
    frame = generer_rpls(2021, read_communes(CONTOURS_REELS), seed=2021)
    assert len(frame) == 27008 and "DEPCOM" in frame.columns


def test_every_calibration_line_is_within_tolerance(demo_dir: Path) -> None:
    lignes = cibles(demo_dir)
    rapport = texte(lignes)
    assert all(ligne.ok is not False for ligne in lignes), rapport
    exactes = [l for l in lignes if l.tolerance == 0]
    assert len(exactes) >= 13
    informatives = [l for l in lignes if l.tolerance is None]
    assert any("30,4" in l.note for l in informatives)
    assert all(l.source for l in lignes)
    themes = {l.theme for l in lignes}
    assert any("dynamique" in t for t in themes) and any("Fichier partagé" in t for t in themes)
    assert np.isclose(next(l.obtenu for l in lignes if l.libelle == "Logements sociaux au 1er janvier 2021"), 27008)
