"""A smaller demo cut from a demo folder: the first N rows of each extract of some years.

Used where a run's fixed costs matter, not its volume: the benchmark of a small year
(``benchmarks/small_year.py``) and the tests that start whole runs many times (faults, backfills).
The demo's note and contours are copied; every CSV extract of the years (annual and monthly) keeps its
header and its first N lines. Cut from the demo's folder, the result is a smaller demo: it gets the
manifest of what was written (:mod:`pipeline.provenance`), so it runs with the demo's key.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from pipeline.provenance import MANIFEST, is_demo, write_manifest

PERIOD = re.compile(r"_(\d{4})(?:-\d{2})?\.csv$")


def small_years(source: Path, annees: Iterable[int], lignes: int, target: Path) -> list[Path]:
    """Write the extracts of ``annees`` cut to ``lignes`` rows into ``target`` (which must not exist);
    return the extracts written."""
    annees = set(annees)
    target.mkdir(parents=True)
    for path in source.iterdir():
        if path.is_file() and not PERIOD.search(path.name) and path.name != MANIFEST:  # the demo's note, READMEs
            shutil.copy2(path, target / path.name)
    if (source / "geo").is_dir():
        shutil.copytree(source / "geo", target / "geo")
    written = []
    for path in sorted(source.rglob("*.csv")):
        match = PERIOD.search(path.name)
        if not match or int(match.group(1)) not in annees or "geo" in path.relative_to(source).parts:
            continue
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        with path.open("rb") as reading, out.open("wb") as writing:
            for _ in range(lignes + 1):
                line = reading.readline()
                if not line:
                    break
                writing.write(line)
        written.append(out)
    if is_demo(source):
        write_manifest(target, [p for p in target.rglob("*") if p.is_file()])
    return written
