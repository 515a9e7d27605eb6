"""Where a published file or folder goes when a run publishes its successor: ``archives/`` beside it.

The atlas's PDF and the folder of indicator exports are archived the same way, never overwritten in
place: ``<dossier>/archives/<nom>_<AAAAMMJJTHHMMSS><ext>``, the date being the last modification of
the published version, with ``-1``, ``-2``… when two publications share the second.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path


def chemin_archive(publie: Path) -> Path:
    """A free path in ``archives/`` (created) for the published file or folder ``publie``."""
    archives = publie.parent / "archives"
    archives.mkdir(exist_ok=True)
    nom, extension = (publie.stem, publie.suffix) if publie.is_file() else (publie.name, "")
    date = datetime.fromtimestamp(publie.stat().st_mtime).strftime("%Y%m%dT%H%M%S")
    chemin, n = archives / f"{nom}_{date}{extension}", 1
    while chemin.exists():
        chemin, n = archives / f"{nom}_{date}-{n}{extension}", n + 1
    return chemin
