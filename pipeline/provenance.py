"""Whether a data folder holds the demo's fictitious extracts or real ones: the one place that decides.

The demo generator (``pipeline.demo``) writes, beside its files, a manifest of the SHA-256 of every
file it wrote (:data:`MANIFEST`, the ``sha256sum`` format: ``sha256sum -c DONNEES_FICTIVES.sha256``
checks it by hand). A folder is the demo's only when every file in it — recursively, but the
manifest itself and a top-level ``README.md`` — is listed there with the same SHA-256. Any other
file, or a listed file since modified, makes the folder real: the pseudonymisation key is required
(:mod:`pipeline.sources.pseudonymise`) and nothing is stamped « DONNÉES FICTIVES ». A folder
without a manifest is real.

The real-data path (readers, pseudonymisation, assets, publication, atlas) asks this module, never
the generator: it does not import ``pipeline.demo``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: The manifest the generator writes at the top of its folder: ``<sha256>  <relative path>`` a line.
MANIFEST = "DONNEES_FICTIVES.sha256"
#: Top-level files that say nothing about the data (a note for people; the manifest itself).
IGNORED = ("README.md", MANIFEST)


@functools.lru_cache(maxsize=4096)
def _sha256(path: str, inode: int, size: int, mtime_ns: int, ctime_ns: int) -> str:
    """SHA-256 of a file, computed once per process for a given inode, size and times (each ingest
    asset asks for the provenance of the same folder: a national demo is gigabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256(path: Path) -> str:
    """SHA-256 (hex) of the file ``path``."""
    stat = path.stat()
    return _sha256(str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def _files(data_dir: Path) -> list[Path]:
    """Every file of ``data_dir`` (recursively) that counts: all but :data:`IGNORED` at the top."""
    return sorted(p for p in data_dir.rglob("*")
                  if p.is_file() and not (p.parent == data_dir and p.name in IGNORED))


def write_manifest(data_dir: Path, files: Iterable[Path]) -> Path:
    """Write the manifest of ``files`` (inside ``data_dir``) at the top of ``data_dir``."""
    names = sorted(p.relative_to(data_dir).as_posix() for p in set(files)
                   if not (p.parent == data_dir and p.name in IGNORED))
    lines = [f"{sha256(data_dir / name)}  {name}\n" for name in names]
    path = data_dir / MANIFEST
    path.write_text("".join(lines), encoding="utf-8")
    return path


def read_manifest(data_dir: Path) -> dict[str, str] | None:
    """The manifest of ``data_dir``: relative path → SHA-256; None when there is none."""
    path = data_dir / MANIFEST
    if not path.is_file():
        return None
    listed: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        if name:
            listed[name] = digest
    return listed


@dataclass(frozen=True)
class Provenance:
    """What a data folder holds: ``foreign`` files the demo did not write, ``modified`` ones it wrote
    but that changed since (paths relative to the folder); without a manifest, every file is foreign."""

    data_dir: Path
    has_manifest: bool
    foreign: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()

    @property
    def demo(self) -> bool:
        """True only for a folder the demo generator wrote, untouched since."""
        return self.has_manifest and not self.foreign and not self.modified

    def reason(self, shown: int = 5) -> str:
        """Why the folder is not the demo's, in French, naming the files (empty for the demo)."""
        if self.demo:
            return ""
        if not self.has_manifest:
            return f"pas de manifeste de la démonstration, {MANIFEST}"
        parts = []
        for files, what in ((self.foreign, "absent(s) du manifeste de la démonstration"),
                            (self.modified, "modifié(s) depuis leur écriture par la démonstration")):
            if files:
                more = f" et {len(files) - shown} autre(s)" if len(files) > shown else ""
                parts.append(f"{len(files)} fichier(s) {what} : {', '.join(files[:shown])}{more}")
        return " ; ".join(parts)


def provenance(data_dir: Path) -> Provenance:
    """The provenance of ``data_dir`` (see the module's docstring)."""
    listed = read_manifest(data_dir) if data_dir.is_dir() else None
    if listed is None:
        files = _files(data_dir) if data_dir.is_dir() else []
        return Provenance(data_dir, False, tuple(p.relative_to(data_dir).as_posix() for p in files))
    foreign, modified = [], []
    for path in _files(data_dir):
        name = path.relative_to(data_dir).as_posix()
        if name not in listed:
            foreign.append(name)
        elif sha256(path) != listed[name]:
            modified.append(name)
    return Provenance(data_dir, True, tuple(foreign), tuple(modified))


def is_demo(data_dir: Path) -> bool:
    """True when ``data_dir`` holds only what the demo generator wrote (:func:`provenance`)."""
    return provenance(data_dir).demo
