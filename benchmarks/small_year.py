"""A small year, to time what a run costs whatever its data: the first N rows of each extract of a year.

    .venv/bin/python benchmarks/small_year.py --from /tmp/demo --annee 2021 --lignes 30 --to /tmp/annee30
    .venv/bin/python benchmarks/annual.py --data-dir /tmp/annee30 --annee 2021 --cases e2e

A year the pipeline runs through end to end, every source present, with N rows per file
(:func:`pipeline.demo.reduction.small_years`: the demo's note and contours, the header and first N
lines of every extract of the year; a smaller demo, with its manifest).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.demo.reduction import small_years  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, required=True)
    parser.add_argument("--annee", type=int, required=True)
    parser.add_argument("--lignes", type=int, default=30)
    parser.add_argument("--to", dest="target", type=Path, required=True)
    args = parser.parse_args()
    written = small_years(args.source, [args.annee], args.lignes, args.target)
    print(f"{len(written)} extraits de {args.annee}, {args.lignes} lignes chacun, dans {args.target}")


if __name__ == "__main__":
    main()
