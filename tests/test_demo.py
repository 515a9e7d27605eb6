"""The demo generator as a whole: every source written, its manifest, the scale mode."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.assets.ingest import read_zones
from pipeline.demo import DEMO_NOTE, generate
from pipeline.demo.saisies import MANQUANTE
from pipeline.provenance import MANIFEST, provenance, read_manifest, sha256
from pipeline.sources.extract import all_sources, read_extract, source_for_file
from pipeline.sources.geo import read_communes


def test_one_year_writes_every_source_of_the_contract(tmp_path: Path) -> None:
    report = generate(tmp_path, years=(2020, 2020))
    assert (tmp_path / DEMO_NOTE).read_text(encoding="utf-8").startswith("DONNÉES FICTIVES")
    # The manifest lists every file written — the real commune contours too — with its SHA-256, and
    # nothing else is in the folder: it is the demo's.
    listed = read_manifest(tmp_path)
    assert sorted(listed) == sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                                    if p.is_file() and p.name != MANIFEST)
    assert {"geo/communes.geojson", "geo/iris.geojson", "geo/qpv.geojson", DEMO_NOTE} <= set(listed)
    assert all(sha256(tmp_path / name) == digest for name, digest in listed.items())
    assert provenance(tmp_path).demo
    folders = {p.relative_to(tmp_path).parts[0] for p in report.files if p.parent != tmp_path}
    assert folders == {"geo", "rpls", "sne", "syplo", "ops", "sls", "sisal", "bailleurs", "saisies"}
    # Every source the readers know has a file, but the saisie left out on purpose for the first
    # year (to show « non renseigné »).
    written = {source_for_file(p).source for p in report.files if p.suffix == ".csv"}
    assert {s.source for s in all_sources()} - {f"saisie_{MANQUANTE[0]}"} <= written
    assert len([p for p in report.files if p.name.startswith("demandes_")]) == 12
    # real commune outlines, fictitious IRIS and QPV, as the ingestion reads them
    communes = read_communes(tmp_path / "geo" / "communes.geojson")
    assert len(communes) == 23 and not communes["FICTIF"].any()
    for kind in ("iris", "qpv"):
        assert read_zones(tmp_path / "geo" / f"{kind}.geojson", kind)["FICTIF"].all()


def test_scale_mode_appends_territories_with_distinct_codes(tmp_path: Path) -> None:
    one = tmp_path / "one"
    two = tmp_path / "two"
    generate(one, years=(2021, 2021))
    generate(two, years=(2021, 2021), scale=2)
    for name in ("rpls/rpls_2021.csv", "sne/demandes_2021-06.csv", "sne/attributions_2021-06.csv"):
        a = read_extract(one / name, source_for_file(one / name))
        b = read_extract(two / name, source_for_file(two / name))
        assert b.rows_rejected == 0
        assert len(b.data) > 1.8 * len(a.data), name
    rpls = read_extract(two / "rpls/rpls_2021.csv", source_for_file(two / "rpls/rpls_2021.csv")).data
    assert set(rpls["EPCI_CODE"]) == {"242100410", "900000001"}
    assert rpls["IDENT_LOGT"].is_unique
    demandes = pd.read_csv(two / "sne/demandes_2021-06.csv", sep=";", dtype=str)
    assert demandes["NUM_UNIQUE"].is_unique
    # The first territory of a scaled demo is the demo itself, byte for byte.
    first = (two / "rpls/rpls_2021.csv").read_bytes()
    assert first.startswith((one / "rpls/rpls_2021.csv").read_bytes())
    # Every file of a scaled demo reads without a rejected row: the extracts keyed without an EPCI
    # (SISAL, saisies) would be duplicate keys in a second territory of the same geography, so they
    # are the first territory's.
    rejected = {p.relative_to(two).as_posix(): r.rows_rejected
                for p in sorted(two.rglob("*.csv")) if (r := read_extract(p, source_for_file(p))).rows_rejected}
    assert rejected == {}
    for name in ("sisal/sisal_2021.csv", "saisies/ind_21_2021.csv"):
        assert (two / name).read_bytes() == (one / name).read_bytes()


def test_a_file_only_a_later_territory_writes_keeps_its_header(tmp_path: Path) -> None:
    from pipeline.demo import _ajouter

    (tmp_path / "a.csv").write_text("A;B\n1;2\n", encoding="utf-8")
    _ajouter(tmp_path / "a.csv", tmp_path / "out" / "a.csv")
    _ajouter(tmp_path / "a.csv", tmp_path / "out" / "a.csv")
    assert (tmp_path / "out" / "a.csv").read_text(encoding="utf-8") == "A;B\n1;2\n1;2\n"
