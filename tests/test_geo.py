"""Geography: any CRS to Lambert-93, usual field names, COG history."""

from __future__ import annotations

import tomllib

import pytest

from pipeline.demo.territoire import CONTOURS_REELS
from pipeline.settings import PROJECT_DIR
from pipeline.sources.extract import ExtractError
from pipeline.sources.geo import read_communes, read_contours

PACKAGE_DIR = PROJECT_DIR / "pipeline"


def test_real_cog2018_contours_give_23_communes(shared_ref):
    communes = read_communes(shared_ref / "dijon_metropole_communes_cog2018.geojson")
    assert len(communes) == 23
    assert communes.crs.to_epsg() == 2154
    assert "21213" not in set(communes["CODE_INSEE"])
    neuilly = communes.set_index("CODE_INSEE").loc["21452"]
    assert neuilly["NOM"] == "Neuilly-Crimolois"
    assert not communes["FICTIF"].any()


def test_departement_file_is_cut_to_the_epci(shared_ref):
    communes = read_communes(shared_ref / "communes-21-cote-d-or.geojson")
    assert len(communes) == 23


def test_contours_without_code_field_are_refused(tmp_path):
    path = tmp_path / "communes.geojson"
    path.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"x":1},'
                    '"geometry":{"type":"Point","coordinates":[5.0,47.3]}}]}')
    with pytest.raises(ExtractError, match="code commune"):
        read_communes(path)


def test_contours_before_dissolution_keep_the_file_codes():
    polygones = read_contours(CONTOURS_REELS)
    assert len(polygones) == 24 and polygones["CODE_COG"].is_unique
    crimolois = polygones.set_index("CODE_COG").loc["21213"]
    assert (crimolois["NOM_COG"], crimolois["CODE_INSEE"], crimolois["NOM"]) == ("Crimolois", "21452", "Neuilly-Crimolois")
    assert polygones.set_index("CODE_COG").loc["21452", "NOM_COG"] == "Neuilly-lès-Dijon"
    # dissolving gives read_communes: Neuilly-Crimolois is the union of its two polygons
    communes = read_communes(CONTOURS_REELS).set_index("CODE_INSEE")
    deux = polygones.loc[polygones["CODE_INSEE"] == "21452", "geometry"]
    assert abs(communes.geometry["21452"].area - deux.area.sum()) < 1.0


def test_the_real_contours_of_the_demo_ship_with_the_package():
    package_data = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    carried = sorted((PACKAGE_DIR / "demo" / "contours").iterdir())
    assert {p.name for p in carried} >= {CONTOURS_REELS.name, "SOURCE.md"}
    shipped = {path for glob in package_data["pipeline"] for path in PACKAGE_DIR.glob(glob)}  # setuptools' globs
    assert set(carried) <= shipped, sorted(p.name for p in set(carried) - shipped)
