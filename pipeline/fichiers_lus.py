"""What a process reads from the project's configuration files once per state of those files.

The contracts (``pipeline/sources/layouts/*/*.toml``) and the catalogue (``catalogue/indicateurs.yaml``)
are asked for many times in a run (the sensor, the status, the GX checks, the publication); reading them
again each time cost seconds. :func:`selon_etat` keeps what was read from a set of files under their
paths, modification times and sizes: a file edited, added or removed while ``dagster dev`` runs is read
again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

#: Beyond this many states kept in one cache, it starts afresh (tests write files of their own).
ETATS_GARDES = 16


def selon_etat(cache: dict[tuple, T], fichiers: Iterable[Path], lire: Callable[[], T]) -> T:
    """``lire()``, or what it gave for ``fichiers`` as they are now (a missing file raises
    ``FileNotFoundError``, as reading it would)."""
    cle = tuple(sorted((str(p), s.st_mtime_ns, s.st_size) for p in fichiers for s in [p.stat()]))
    if cle not in cache:
        valeur = lire()  # what it raises is not kept
        if len(cache) >= ETATS_GARDES:
            cache.clear()
        cache[cle] = valeur
    return cache[cle]
