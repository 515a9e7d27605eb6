"""The embedded demo: fictitious extracts of a synthetic Dijon métropole, in the contract layouts.

Every file written here is fictitious (``DONNÉES FICTIVES``) but the commune outlines, which are the
real ones (IGN Admin Express, carried in ``demo/contours/``). One call writes every source of the
data contract for the years asked (default 2016–2025), from one seed, byte-identically:

- ``territoire`` — the geography (real communes; ~113 fictitious IRIS, 5 fictitious QPV with visibly
  fictitious codes);
- ``rpls`` — the parc, one stock of dwellings followed across millésimes (2018 in the ``regional``
  Latin-1 layout, every other year in ``dido``);
- ``demande`` — monthly demand snapshots and CALEOL examinations, SYPLO;
- ``occupation`` — OPS (even years), SLS, SISAL, the bailleurs' résidences;
- ``saisies`` — the hand-kept figures.

``scale`` > 1 writes that many territories of the same shape one after the other (distinct EPCI
codes and identifiers, same geography), appending to the same files, so memory stays that of one
territory: about 200 reach the national size. The extracts keyed without an EPCI (SISAL, saisies)
are those of the first territory only (:data:`SANS_EPCI`).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.demo import demande, occupation, rpls, saisies, territoire
from pipeline.provenance import read_manifest, sha256, write_manifest

DEFAULT_SEED = 2021
DEMO_YEARS = (2016, 2025)
#: The millésime written in the ``regional`` (Latin-1) RPLS layout, so that path is exercised.
ANNEE_REGIONALE = 2018
#: The note that tells people the folder is fictitious (whether the pipeline takes it for the demo is
#: decided from the manifest of the files written, :mod:`pipeline.provenance`, which lists it too).
DEMO_NOTE = "DONNEES_FICTIVES.txt"
#: EPCI code of the demo territory (Dijon métropole's SIREN); scale copies get fictitious ones.
EPCI_DEMO = "242100410"
ID_COLUMNS = ("IDENT_LOGT", "RESIDENCE_ID")


@dataclass
class DemoReport:
    """What the generator wrote."""

    data_dir: Path
    files: list[Path] = field(default_factory=list)


def epci_territoire(k: int) -> str:
    """EPCI code of the k-th scale territory (0 = the demo's own; others visibly fictitious)."""
    return EPCI_DEMO if k == 0 else f"9{k:08d}"


def _copie(parc: pd.DataFrame, k: int) -> pd.DataFrame:
    """A territory's copy of a millésime: its own EPCI code and identifiers."""
    if k == 0:
        return parc
    out = parc.copy()
    for column in ID_COLUMNS:
        out[column] = f"T{k:03d}-" + out[column].astype(str)
    out["EPCI_CODE"] = epci_territoire(k)
    return out


def _territoire(data_dir: Path, geo: "territoire.Geographie", years: tuple[int, int], seed: int, k: int) -> list[Path]:
    """Every source but the geography, for one territory, into ``data_dir``."""
    files: list[Path] = []
    parc = rpls.parc_demo(geo, seed=seed + k)
    par_annee = {a: _copie(rpls.millesime(parc, a), k) for a in range(years[0], years[1] + 1)}
    for annee, df in par_annee.items():
        layout = "regional" if annee == ANNEE_REGIONALE else "dido"
        files.append(rpls.ecrire_rpls(df, data_dir / "rpls" / f"rpls_{annee}.csv", annee, layout=layout))
    numeros = demande.Numeros(prefix="021" if k == 0 else f"9{k:02d}")
    files += demande.generer(data_dir, par_annee, years, seed + k, numeros=numeros)
    files += occupation.generer(data_dir, par_annee, seed + k)
    files += saisies.generer(data_dir, years, seed + k)
    return files


#: Folders whose extracts have no EPCI column and are keyed by commune or by year alone: the SISAL
#: agréments (commune × bailleur × produit × QPV) and the hand-kept saisies of one EPCI. The scale
#: territories share the geography, so their copies would be duplicate keys: a scaled demo carries
#: those of territory 0 only (a few hundred rows; nothing a benchmark measures).
SANS_EPCI = ("sisal", "saisies")


def _ajouter(source: Path, target: Path) -> None:
    """Append a CSV to another without its header line (streamed, bounded memory); a file the first
    territory did not write is copied whole, header included."""
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return
    with source.open("rb") as src, target.open("ab") as dst:
        src.readline()
        shutil.copyfileobj(src, dst, length=1 << 20)


def generate(data_dir: Path, years: tuple[int, int] = DEMO_YEARS, seed: int = DEFAULT_SEED,
             scale: int = 1) -> DemoReport:
    """Write the demo extracts for ``years`` (inclusive) into ``data_dir``, then the manifest of their
    SHA-256 (:func:`pipeline.provenance.write_manifest`), which makes the folder the demo's.

    The communes are the real outlines the demo carries; the user's own commune contours already in
    ``data_dir/geo`` (a file without the ``FICTIF`` field) are kept instead, and listed in the
    manifest with the files written: the fictitious IRIS, QPV and dwellings are placed inside them.
    The files of an earlier demo in ``data_dir`` still as it wrote them (other years) stay listed.
    """
    report = DemoReport(data_dir=data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    earlier = [data_dir / name for name, digest in (read_manifest(data_dir) or {}).items()
               if (data_dir / name).is_file() and sha256(data_dir / name) == digest]
    note = data_dir / DEMO_NOTE
    note.write_text(
        "DONNÉES FICTIVES — démonstration.\n"
        "Ce dossier a été écrit par `observatoire demo generate` : aucune de ces données n'est réelle, "
        "hormis les contours des communes (geo/communes.geojson : IGN Admin Express, Licence Ouverte).\n"
        f"Années {years[0]}–{years[1]}, graine {seed}, {scale} territoire(s).\n",
        encoding="utf-8",
    )
    report.files.append(note)
    geo_dir = data_dir / "geo"
    contours_utilisateur = [p for p in geo_dir.rglob("*") if p.is_file()] if geo_dir.is_dir() else []
    geo = territoire.geographie(geo_dir)
    report.files += territoire.ecrire_geographie(geo, geo_dir)
    report.files += _territoire(data_dir, geo, years, seed, 0)
    for k in range(1, scale):
        with tempfile.TemporaryDirectory(dir=data_dir, prefix=".territoire-") as tmp:
            for path in _territoire(Path(tmp), geo, years, seed, k):
                relative = path.relative_to(tmp)
                if relative.parts[0] not in SANS_EPCI:
                    _ajouter(path, data_dir / relative)
    report.files = sorted(set(report.files), key=lambda p: str(p))
    kept = [p for p in {*earlier, *contours_utilisateur} if p.is_file() and p not in set(report.files)]
    write_manifest(data_dir, [*report.files, *kept])
    return report
