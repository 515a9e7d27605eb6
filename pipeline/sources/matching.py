"""Which layout of a source a file follows, from its header — and the encoding that layout declares.

The layout is only known once the header is read, so a CSV's header is first read in the encoding
detected from its bytes; the layout found may declare another one (a regional RPLS file is
Latin-1), which then decides (:func:`pipeline.sources.decoding.choose_encoding`). Header names are
ASCII, or accented letters that read the same in Windows-1252 and Latin-1, so the layout found does
not depend on it; should the declared encoding garble the header, the detected one is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.sources import messages
from pipeline.sources.contract import ExtractError, Layout, SourceSpec
from pipeline.sources.decoding import Header, Scan, choose_encoding, read_header


def unique(names: list[str]) -> list[str]:
    """Header names made unique the way pandas does (``X``, ``X.1``), empty ones named by position."""
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(names):
        name = name or f"(colonne {i + 1} sans nom)"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return out


def header_names(cells: list[str]) -> list[str]:
    """The columns of a header line: names stripped, a trailing separator (« A;B;C; ») no column."""
    names = [c.strip() for c in cells]
    while names and not names[-1]:
        names.pop()
    return unique(names)


def pick_layout(path: Path, spec: SourceSpec, header: list[str], masked: bool = False) -> tuple[Layout, dict[str, str]]:
    """The layout mapping the most columns among those whose required columns are all there.
    ``masked``: the refusal does not copy the header read (a file without a header has a data line
    there: see :func:`pipeline.sources.messages.no_layout`)."""
    tried = []
    best: tuple[Layout, dict[str, str]] | None = None
    for layout in spec.layouts:
        mapping, missing = layout.match(header)
        if not missing and (best is None or len(mapping) > len(best[1])):
            best = (layout, mapping)
        if missing:
            expected = [f"{c} (colonne {' ou '.join(layout.sources[c])})" if c in layout.sources else c
                        for c in missing]
            tried.append(f"{layout.name} (manque : {', '.join(expected)})")
        else:
            tried.append(layout.name)
    if best is None:
        raise ExtractError(messages.no_layout(path.name, spec.source, tried, header, masked))
    return best


@dataclass(frozen=True)
class Matched:
    """A CSV's header matched to a layout, and the encoding the file is read in."""

    layout: Layout
    #: Contract column → header name.
    mapping: dict[str, str]
    names: list[str]
    encoding: str
    header: Header


def match_csv(path: Path, spec: SourceSpec, found: Scan, text_file: Path, masked: bool = False) -> Matched:
    """Read the header of ``text_file`` (``path`` or its UTF-8 copy) and pick the layout
    (``masked``: see :func:`pick_layout`)."""
    detected = choose_encoding(found)
    header = read_header(text_file, "utf-8" if text_file != path else detected)
    names = header_names(header.cells)
    layout, mapping = pick_layout(path, spec, names, masked)
    declared = choose_encoding(found, layout.encoding)
    if declared == detected or text_file != path:
        return Matched(layout, mapping, names, declared, header)
    again = read_header(path, declared)
    again_names = header_names(again.cells)
    again_mapping, missing = layout.match(again_names)
    if missing:  # the declared encoding garbles the header: trust detection
        return Matched(layout, mapping, names, detected, header)
    return Matched(layout, again_mapping, again_names, declared, again)


def extra_columns(names: list[str], mapping: dict[str, str]) -> list[str]:
    """Header names no contract column reads (listed, never loaded)."""
    used = set(mapping.values())
    return [n for n in names if n not in used]


def is_blank_line(text: str) -> bool:
    """A line of white space and separators only."""
    return not re.sub(r"[;,\t]", "", text).strip()
