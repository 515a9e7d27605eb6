"""The embedded demo: fictitious extracts of a synthetic Dijon métropole, in the contract layouts.

Every file written here is fictitious (``DONNÉES FICTIVES``); the demo key below is public on
purpose. So far the generator writes the geography and RPLS (the walking skeleton's slice); the
other sources of the data contract come with the demo-territory issue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.demo.rpls import ecrire_rpls, generer_rpls
from pipeline.demo.territoire import communes_fictives

DEFAULT_SEED = 2021
DEMO_YEARS = (2021, 2021)
#: Name of the marker file that tells the pipeline a data folder holds demo data.
DEMO_MARKER = "DONNEES_FICTIVES.txt"


@dataclass
class DemoReport:
    """What the generator wrote."""

    data_dir: Path
    files: list[Path] = field(default_factory=list)


def generate(data_dir: Path, years: tuple[int, int] = DEMO_YEARS, seed: int = DEFAULT_SEED) -> DemoReport:
    """Write the demo extracts for ``years`` (inclusive) into ``data_dir``."""
    report = DemoReport(data_dir=data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    marker = data_dir / DEMO_MARKER
    marker.write_text(
        "DONNÉES FICTIVES — démonstration.\n"
        "Ce dossier a été écrit par `observatoire demo generate` : aucune de ces données n'est réelle.\n",
        encoding="utf-8",
    )
    report.files.append(marker)

    communes = communes_fictives()
    geo_dir = data_dir / "geo"
    geo_dir.mkdir(parents=True, exist_ok=True)
    geo_path = geo_dir / "communes.geojson"
    # Written in WGS84 as GeoJSON wants; ingestion brings every geography back to Lambert-93.
    communes.to_crs("EPSG:4326").to_file(geo_path, driver="GeoJSON", COORDINATE_PRECISION=6)
    report.files.append(geo_path)

    for annee in range(years[0], years[1] + 1):
        df = generer_rpls(annee, communes, seed=seed)
        report.files.append(ecrire_rpls(df, data_dir / "rpls" / f"rpls_{annee}.csv"))
    return report


def is_demo(data_dir: Path) -> bool:
    """True when ``data_dir`` holds the generator's fictitious data (its marker file)."""
    return (data_dir / DEMO_MARKER).exists()
