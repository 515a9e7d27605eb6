"""Ingestion benchmark: read, check, pseudonymise and load every extract of a folder; print figures.

    .venv/bin/python benchmarks/ingestion.py --data-dir /tmp/demo --years 2021-2021
    .venv/bin/python benchmarks/ingestion.py --data-dir /tmp/national --years 2021-2021

Loads into a fresh warehouse (under a temporary home, removed after) through the same ``ingest_files`` the Dagster
assets call (a source's files two at a time, written one at a time; a source of several files
checkpoints the warehouse once, at its end), so the figures are those of a real run minus Dagster's own overhead. Prints, per
source, files, rows read / kept / rejected, seconds and rows per second, then the total and the peak
memory (max RSS) of the process. The demo key pseudonymises (on a folder the demo wrote, untouched).
``benchmarks/annual.py`` sets the same ingestion against a bare DuckDB scan and the whole run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

if __name__ == "__main__":  # run as a script: the project is the folder above (imported, the caller chose)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.assets import ingest  # noqa: E402
from pipeline.assets.ingest import EXTENSIONS  # noqa: E402
from pipeline.settings import Settings  # noqa: E402
from pipeline.sources.extract import ExtractError, SourceSpec, period_of, source_for_file  # noqa: E402
from pipeline.sources.pseudonymise import pseudo_key  # noqa: E402
from pipeline.warehouse import connect  # noqa: E402


def ingest_folder(settings: Settings, first: int = 0, last: int = 9999) -> dict[str, list[float]]:
    """Ingest every extract of ``settings.data_dir`` whose year is in ``first``–``last`` (contours
    apart), source by source as the Dagster assets do (``ingest_files``: a source's files side by side,
    written one at a time); per source: [files, rows read, kept, rejected, seconds]."""
    key = pseudo_key(settings.data_dir)
    sources: dict[str, tuple[SourceSpec, list[tuple[str, Path]]]] = {}
    for path in sorted(settings.data_dir.rglob("*")):
        if path.suffix.lower() not in EXTENSIONS or "geo" in path.relative_to(settings.data_dir).parts:
            continue
        try:
            annee, mois = period_of(path)
            if not first <= annee <= last:
                continue
            spec = source_for_file(path)
        except ExtractError as err:
            print(f"ignoré : {err}")
            continue
        period = f"{annee}" if mois is None else f"{annee}-{mois:02d}"
        sources.setdefault(spec.source, (spec, []))[1].append((period, path))
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0, 0.0])
    with connect(settings.warehouse) as conn:
        for source, (spec, fichiers) in sources.items():
            started = time.perf_counter()
            if hasattr(ingest, "ingest_files"):
                records = [record for _, (_, record) in ingest.ingest_files(conn, settings, spec, fichiers, "benchmark", key)]
            else:  # an older checkout (``annual.py --project``): one file at a time
                records = [ingest.ingest_file(conn, settings, spec, path, period, "benchmark", key)[1]
                           for period, path in fichiers]
            line = totals[source]
            line[0] += len(records)
            line[1] += sum(r.lignes_lues for r in records)
            line[2] += sum(r.lignes_gardees for r in records)
            line[3] += sum(r.lignes_rejetees for r in records)
            line[4] += time.perf_counter() - started
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--years", default=None, help="AAAA-AAAA (défaut : toutes)")
    args = parser.parse_args()
    first, last = (int(y) for y in args.years.split("-")) if args.years else (0, 9999)
    home = Path(tempfile.mkdtemp(prefix="bench_ingestion_"))
    os.environ["OBSERVATOIRE_HOME"] = str(home)
    os.environ["OBSERVATOIRE_DATA_DIR"] = str(args.data_dir.resolve())
    settings = Settings.from_env().activate()
    started = time.perf_counter()
    totals = ingest_folder(settings, first, last)
    elapsed = time.perf_counter() - started
    print(f"{'source':<16}{'fichiers':>9}{'lues':>12}{'gardées':>12}{'rejetées':>10}{'s':>9}{'lignes/s':>11}")
    for source, (files, read, kept, rejected, seconds) in sorted(totals.items()):
        print(f"{source:<16}{files:>9}{read:>12,}{kept:>12,}{rejected:>10,}{seconds:>9.1f}{read / max(seconds, 1e-9):>11,.0f}")
    rows = sum(v[1] for v in totals.values())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"total : {sum(v[0] for v in totals.values())} fichiers, {rows:,} lignes en {elapsed:.1f} s "
          f"({rows / elapsed:,.0f} lignes/s) ; mémoire max {rss:,.0f} Mo ; entrepôt {settings.warehouse} "
          f"({settings.warehouse.stat().st_size / 1e6:,.0f} Mo)")
    shutil.rmtree(home)


if __name__ == "__main__":
    main()
