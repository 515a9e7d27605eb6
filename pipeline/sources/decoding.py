"""Bytes → something DuckDB reads: the encoding of a CSV, its header line, its blank lines.

A file is never held in memory: one streaming pass over its bytes (:func:`scan`) says whether it is
ASCII, valid UTF-8, a mix of UTF-8 and Windows-1252 lines, whether it holds the bytes that Latin-1
turns into control characters, quotes, empty lines (and where) and spaces at the edge of a field.
:func:`choose_encoding` decides the encoding from that, as a person would (see its docstring), and
:func:`readable` gives DuckDB a file in an encoding it reads — the file itself when it is UTF-8 or
plain Latin-1, else a UTF-8 copy transcoded chunk by chunk (Windows-1252, UTF-16, mixed files:
DuckDB lacks those encodings and the ``encodings`` extension cannot be installed offline).
"""

from __future__ import annotations

import codecs
import csv
import io
import re

import numpy as np
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.sources import messages
from pipeline.sources.contract import ExtractError

CHUNK = 16 << 20
#: A valid UTF-8 multi-byte sequence: in a file that is not UTF-8 as a whole, the sign of a mix.
UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
#: The bytes Latin-1 decodes as C1 control characters (U+0080–U+009F): what Windows-1252 writes ’ œ € as.
C1_BYTES = bytes(range(0x80, 0xA0))
#: Bytes without a character in Windows-1252 (Latin-1 is the last resort for them).
CP1252_UNDEFINED = b"\x81\x8d\x8f\x90\x9d"
#: A newline followed by an empty line.
_BLANK = re.compile(rb"\n(?=\r?\n)")


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    """Decode error handler: a byte that is not UTF-8 is read as Windows-1252 (Latin-1 if undefined)."""
    assert isinstance(error, UnicodeDecodeError)
    chunk = error.object[error.start:error.end]
    try:
        return chunk.decode("cp1252"), error.end
    except UnicodeDecodeError:
        return chunk.decode("latin-1"), error.end


codecs.register_error("observatoire_cp1252", _cp1252_fallback)


@dataclass
class Scan:
    """What the passes over a CSV's bytes found.

    :func:`scan` looks at what every file needs (cheap byte searches); the encoding facts are
    looked for by :func:`scan_encoding` only when the file is not ASCII and DuckDB found it is not
    valid UTF-8 either (``utf8`` is None until then: UTF-8 is assumed, and checked by ``read_csv``).
    """

    size: int
    bom: str | None = None  # "utf-8" or "utf-16"
    ascii: bool = True
    utf8: bool | None = None
    #: Some valid multi-byte UTF-8 sequence (in a file that is not UTF-8 as a whole: a mix).
    utf8_sequences: bool = False
    c1: bool = False
    cp1252_undefined: bool = False
    quotes: bool = False
    #: Line numbers (1-based) of the empty lines (``\n\n``), wherever they are.
    blank_lines: list[int] = field(default_factory=list)
    #: White space next to a separator, a quote or a line end: cells must be stripped.
    edge_spaces: bool = False
    #: Where the scan started (after a BOM).
    start: int = 0


def _chunks(handle: io.BufferedReader):
    """Chunks of about :data:`CHUNK` bytes, each ending after a newline (the last one excepted)."""
    while True:
        chunk = handle.read(CHUNK)
        if not chunk:
            return
        if not chunk.endswith(b"\n"):
            chunk += handle.readline()
        yield chunk


#: The bytes that may be (the end of) white space at the edge of a field, and how many bytes before
#: them the character may start: space, tab, vertical tab, form feed, the no-break spaces (UTF-8
#: ``C2 A0`` and ``E2 80 AF``, Latin-1 ``A0``).
_SPACES = ((b" ", 1), (b"\t", 1), (b"\x0b", 1), (b"\x0c", 1), (b"\xa0", 2), (b"\xaf", 3))
#: What ends a field: separators, line ends, quotes.
_BOUNDARY = np.zeros(256, dtype=bool)
_BOUNDARY[list(b';,\t\r\n"')] = True


def _edge_spaces(chunk: bytes, starts_line: bool) -> bool:
    """Is there a white-space byte next to a separator, a quote or a line end (or at a line start)?

    Conservative: a no-break space's last byte is looked at with the bytes before it (a false alarm
    only makes the reader strip every cell, never the other way round).
    """
    data = None
    for byte, reach in _SPACES:
        if byte not in chunk:  # memchr: most files have no tab, many no space at all
            continue
        data = np.frombuffer(chunk, np.uint8) if data is None else data
        where = np.flatnonzero(data == byte[0])
        if starts_line and where[0] < reach:
            return True
        if _BOUNDARY[data[where[where + 1 < len(data)] + 1]].any():
            return True
        for back in range(1, reach + 1):
            if _BOUNDARY[data[where[where >= back] - back]].any():
                return True
    return False


def scan(path: Path, start: int = 0) -> Scan:
    """One streaming pass over the bytes of ``path`` (from ``start``): ASCII or not, quotes, blank
    lines, white space at the edge of a field. Byte searches only (memchr speed)."""
    found = Scan(size=path.stat().st_size, start=start)
    blank_offsets: list[int] = []
    offset = start
    ended_line = True  # the previous chunk ended a line (the start of the file does)
    with path.open("rb") as handle:
        handle.seek(start)
        for chunk in _chunks(handle):
            found.ascii = found.ascii and chunk.isascii()
            found.quotes = found.quotes or b'"' in chunk
            found.edge_spaces = found.edge_spaces or _edge_spaces(chunk, ended_line)
            if ended_line and (chunk.startswith(b"\n") or chunk.startswith(b"\r\n")):
                blank_offsets.append(offset)
            blank_offsets += [offset + m.start() + 1 for m in _BLANK.finditer(chunk)]
            offset += len(chunk)
            ended_line = chunk.endswith(b"\n")
    if blank_offsets:
        found.blank_lines = _line_numbers(path, start, blank_offsets)
    return found


def _line_numbers(path: Path, start: int, offsets: list[int]) -> list[int]:
    """The line (1-based, counted from the start of the file) of each byte offset (ascending)."""
    lines, done, position = [], 0, 0
    with path.open("rb") as handle:
        before = handle.read(start).count(b"\n")
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            while done < len(offsets) and offsets[done] < start + position + len(chunk):
                lines.append(before + chunk.count(b"\n", 0, offsets[done] - start - position) + 1)
                done += 1
            before += chunk.count(b"\n")
            position += len(chunk)
    return lines + [before + 1] * (len(offsets) - done)


def scan_encoding(path: Path, found: Scan) -> Scan:
    """The encoding facts of a file that is not ASCII: valid UTF-8 or not, UTF-8 sequences in it (a
    mix), bytes Latin-1 turns into C1 control characters, bytes Windows-1252 lacks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    found.utf8 = True
    with path.open("rb") as handle:
        handle.seek(found.start)
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            if found.utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    found.utf8 = False
            if not found.utf8 and not found.utf8_sequences:
                found.utf8_sequences = UTF8_SEQUENCE.search(chunk) is not None
            found.c1 = found.c1 or len(chunk.translate(None, C1_BYTES)) != len(chunk)
            found.cp1252_undefined = found.cp1252_undefined or len(chunk.translate(None, CP1252_UNDEFINED)) != len(chunk)
    if found.utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            found.utf8 = False
    return found


def inspect(path: Path, workdir: Path) -> tuple[Scan, Path | None]:
    """Refuse what is not a text CSV; scan it. A UTF-16 file is first transcoded to UTF-8 in
    ``workdir``: the scan is of that copy, returned as the second element (None otherwise)."""
    if not path.exists():
        raise ExtractError(messages.not_found(path))
    if path.is_dir():
        raise ExtractError(messages.is_a_folder(path))
    if path.stat().st_size == 0:
        raise ExtractError(messages.empty_file(path.name))
    with path.open("rb") as handle:
        head = handle.read(8192)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _utf16(path, workdir)
    if problem := messages.not_text(path, head):
        raise ExtractError(problem)
    if head.startswith(codecs.BOM_UTF8):
        found = scan(path, start=len(codecs.BOM_UTF8))
        found.bom = "utf-8"
        return found, None
    return scan(path), None


def _utf16(path: Path, workdir: Path) -> tuple[Scan, Path]:
    copy = workdir / f"{path.stem}.utf8{path.suffix}"
    try:
        _transcode(path, copy, "utf-16", "strict")
    except UnicodeDecodeError as err:
        raise ExtractError(messages.bad_utf16(path.name, err)) from err
    found = scan(copy)
    found.bom, found.utf8 = "utf-16", True
    return found, copy


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


#: Single-byte codecs that decode every byte, 0x80–0x9F as C1 control characters.
_C1_CODECS = {"latin-1", "iso8859-1", "iso8859-15"}


def choose_encoding(found: Scan, declared: str | None = None) -> str:
    """The encoding to read the file in.

    A BOM decides (UTF-8, or UTF-16 as Excel's « texte Unicode » writes). Otherwise the layout's
    ``declared`` encoding wins when the bytes are valid in it, with one exception: a declared
    single-byte encoding never overrides bytes that are valid, non-ASCII UTF-8. French text written
    in Latin-1 is never valid UTF-8 (« é » is a lone 0xE9), so such a file was re-saved in UTF-8 and
    reading it as Latin-1 could only give « ChenÃ´ve ». A file mixing UTF-8 lines and Windows-1252
    bytes (two exports concatenated) is read character by character in each (``utf-8+cp1252``).
    Windows tools label their exports « Latin-1 » but write Windows-1252 (’ œ €): the C1 control
    characters Latin-1 gives for those bytes never occur in real text, so such a file is read in
    Windows-1252. Undeclared (or not matching the declaration): UTF-8, else Windows-1252, else
    Latin-1 (which decodes any byte).
    """
    if found.bom == "utf-16":
        return "utf-16"
    if found.bom == "utf-8":
        return "utf-8-sig"
    if found.ascii:
        found.utf8 = True
    if found.utf8 is None:
        raise ValueError("the encoding of a file that is not ASCII is chosen once it is known (scan_encoding)")
    if not found.utf8 and found.utf8_sequences:
        return "utf-8+cp1252"
    if declared is not None:
        if _is_utf8(declared):
            if found.utf8:
                return declared
        elif not found.utf8 or found.ascii:
            name = codecs.lookup(declared).name
            if name == "cp1252":
                if not found.cp1252_undefined:
                    return declared
            elif name in _C1_CODECS:
                if found.c1 and not found.cp1252_undefined:
                    return "cp1252"
                return declared
            else:
                return declared
    if found.utf8:
        return "utf-8"
    return "cp1252" if not found.cp1252_undefined else "latin-1"


def readable(path: Path, encoding: str, found: Scan, workdir: Path) -> tuple[Path, str]:
    """(file, DuckDB encoding) to read ``path`` decoded in ``encoding``: the file itself when DuckDB
    reads its encoding (UTF-8; Latin-1 without C1 bytes, which DuckDB refuses), else a UTF-8 copy
    written in ``workdir``."""
    if encoding == "utf-16":
        return path, "utf-8"  # already the transcoded copy (see inspect)
    if encoding != "utf-8+cp1252" and _is_utf8(encoding) and (found.utf8 or encoding != "utf-8-sig"):
        return path, "utf-8"
    if encoding != "utf-8+cp1252" and codecs.lookup(encoding).name in _C1_CODECS and not found.c1:
        return path, "latin-1"
    copy = workdir / f"{path.stem}.utf8{path.suffix}"
    if encoding == "utf-8+cp1252" or encoding == "utf-8-sig":
        _transcode(path, copy, "utf-8-sig" if encoding == "utf-8-sig" else "utf-8", "observatoire_cp1252")
    else:
        _transcode(path, copy, encoding, "strict")
    return copy, "utf-8"


def _transcode(source: Path, target: Path, encoding: str, errors: str) -> None:
    decoder = codecs.getincrementaldecoder(encoding)(errors=errors)
    with source.open("rb") as reading, target.open("w", encoding="utf-8", newline="") as writing:
        for chunk in iter(lambda: reading.read(CHUNK), b""):
            writing.write(decoder.decode(chunk))
        writing.write(decoder.decode(b"", final=True))


@dataclass(frozen=True)
class Header:
    """The header line of a CSV: its cells, its line number (1-based), the separator it uses."""

    cells: list[str]
    line: int
    separator: str


def read_header(path: Path, encoding: str) -> Header:
    """The first non-blank line of ``path`` read in ``encoding``; the separator is the most frequent
    of ``;``, ``,`` and tab in it."""
    python_encoding = {"utf-8+cp1252": "utf-8"}.get(encoding, encoding)
    # UTF-8 assumed (not checked yet) must fail loudly: the caller then looks at the bytes.
    errors = {"utf-8+cp1252": "observatoire_cp1252"}.get(encoding, "strict" if _is_utf8(python_encoding) else "replace")
    with path.open("r", encoding=python_encoding, errors=errors, newline="") as handle:
        number = 0
        for text in handle:
            number += 1
            if text.strip(" \t\r\n;,"):
                separator = max([";", ",", "\t"], key=text.count)
                cells = next(csv.reader([text.rstrip("\r\n")], delimiter=separator), [])
                return Header(cells, number, separator)
            if number > 10_000:
                break
    raise ExtractError(messages.only_blank_lines(path.name))
