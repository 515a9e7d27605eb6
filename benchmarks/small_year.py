"""A small year, to time what a run costs whatever its data: the first N rows of each extract of a year.

    .venv/bin/python benchmarks/small_year.py --from /tmp/demo --annee 2021 --lignes 30 --to /tmp/annee30
    .venv/bin/python benchmarks/annual.py --data-dir /tmp/annee30 --annee 2021 --cases e2e

Copies the demo's note and the contours, then, for every CSV extract of the year (annual and
monthly), its header and its first N lines: a year the pipeline runs through end to end, every
source present, with N rows per file. Cut from the demo's folder, the small year is a smaller demo:
it gets the manifest of what was written (``pipeline.provenance``), so it runs with the demo's key.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.provenance import MANIFEST, is_demo, write_manifest  # noqa: E402

PERIOD = re.compile(r"_(\d{4})(?:-\d{2})?\.csv$")


def small_year(source: Path, annee: int, lignes: int, target: Path) -> list[Path]:
    """Write the small year into ``target`` (which must not exist); return the extracts written."""
    target.mkdir(parents=True)
    for path in source.iterdir():
        if path.is_file() and not PERIOD.search(path.name) and path.name != MANIFEST:  # the demo's note, READMEs
            shutil.copy2(path, target / path.name)
    if (source / "geo").is_dir():
        shutil.copytree(source / "geo", target / "geo")
    written = []
    for path in sorted(source.rglob("*.csv")):
        match = PERIOD.search(path.name)
        if not match or int(match.group(1)) != annee or "geo" in path.relative_to(source).parts:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, required=True)
    parser.add_argument("--annee", type=int, required=True)
    parser.add_argument("--lignes", type=int, default=30)
    parser.add_argument("--to", dest="target", type=Path, required=True)
    args = parser.parse_args()
    written = small_year(args.source, args.annee, args.lignes, args.target)
    print(f"{len(written)} extraits de {args.annee}, {args.lignes} lignes chacun, dans {args.target}")


if __name__ == "__main__":
    main()
