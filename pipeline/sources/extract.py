"""Reading one extract: dialect, layout, types — and saying exactly what happened to every row.

A *source* (``rpls``, ``demandes``, …) has a folder in ``pipeline/sources/layouts/<source>/`` holding:

- ``schema.toml`` — a ``[source]`` table saying where its files are dropped
  (``data_raw/<folder>/<prefix>_<période>.<ext>``, ``period = "annee"`` or ``"mois"``) and which
  direct identifiers the ingestion pseudonymises or drops; then the contract's ``[columns]`` (names as
  in ``data-contract.md``), each with a ``type`` (``str``, ``int``, ``float``, ``date``, ``bool``) and
  optionally the closed list of ``values`` it accepts;
- one TOML file per *layout* (an export's vintage or tool): which header names feed which contract
  column, which columns must be there for the layout to match (``required``), the export's declared
  ``encoding`` and ``[recodes.<COLUMN>]`` tables turning the export's codes into the contract's.

:func:`all_sources` discovers every source folder; :func:`source_for_file` says which source a
dropped file belongs to. The reader picks the layout that matches the header and says which. Rows
whose values cannot be typed, or carry a code outside the closed list (after the layout's recodes),
are not loaded: they are returned as *rejets* (row, column, value, rule, message) for the
quarantine. A file that cannot be read at all raises :class:`ExtractError` with a message naming the
file and what was expected.
"""

from __future__ import annotations

import codecs
import io
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

LAYOUTS_DIR = Path(__file__).resolve().parent / "layouts"
PERIOD_RE = re.compile(r"_(?P<annee>\d{4})(?:-(?P<mois>\d{2}))?\.(?:csv|txt|parquet|xlsx)$", re.IGNORECASE)
TRUE_VALUES = {"o", "oui", "1", "true", "vrai", "y", "yes"}
FALSE_VALUES = {"n", "non", "0", "false", "faux", "no"}
REJET_COLUMNS = ["fichier", "ligne", "colonne", "valeur", "regle", "message"]
#: C1 control characters (U+0080–U+009F): what Latin-1 makes of Windows-1252's ’ œ € and co.
C1_CONTROLS = re.compile("[\u0080-\u009f]")


class ExtractError(Exception):
    """An extract that cannot be read at all (the message says which file and what was expected)."""


@dataclass(frozen=True)
class Column:
    """A contract column of a source."""

    name: str
    type: str = "str"
    values: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Layout:
    """One export layout: header names → contract columns, declared encoding and code recodes."""

    name: str
    description: str
    sources: dict[str, tuple[str, ...]]
    patterns: dict[str, str]
    required: tuple[str, ...]
    #: The encoding the export is written in (``None``: detected from the bytes).
    encoding: str | None = None
    #: Contract column → {export value: contract code}, applied before typing and the closed list.
    recodes: dict[str, dict[str, str]] = field(default_factory=dict)

    def match(self, header: list[str]) -> tuple[dict[str, str], list[str]]:
        """Map contract columns to header names; return (mapping, missing required columns)."""
        mapping: dict[str, str] = {}
        for target, names in self.sources.items():
            found = next((h for h in header if h in names), None)
            if found:
                mapping[target] = found
        for target, pattern in self.patterns.items():
            found = next((h for h in header if re.fullmatch(pattern, h)), None)
            if found and target not in mapping:
                mapping[target] = found
        missing = [c for c in self.required if c not in mapping]
        return mapping, missing

    @classmethod
    def load(cls, path: Path, columns: tuple[Column, ...], drop: tuple[str, ...] = ()) -> "Layout":
        """Read one layout file, checked against the source's contract columns and ``drop`` list."""
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        by_name = {c.name: c for c in columns}
        schema = path.parent / "schema.toml"
        sources, patterns = {}, {}
        for target, spec in raw.get("columns", {}).items():
            if isinstance(spec, str):
                sources[target] = (spec,)
            elif isinstance(spec, list):
                sources[target] = tuple(spec)
            else:
                patterns[target] = spec["pattern"]
        unknown = (set(sources) | set(patterns)) - set(by_name)
        if unknown:
            raise ValueError(f"{path}: columns {sorted(unknown)} are not in {schema}")
        # A direct identifier the source drops must never feed a contract column.
        leaking = sorted({n for names in sources.values() for n in names} & set(drop))
        if leaking:
            raise ValueError(f"{path}: {leaking} are in the `drop` list of {schema} and cannot feed a column")
        required = tuple(raw.get("required", []))
        unmapped = set(required) - set(sources) - set(patterns)
        if unmapped:
            raise ValueError(f"{path}: required columns {sorted(unmapped)} are not mapped in [columns]")
        encoding = raw.get("encoding")
        if encoding is not None:
            try:
                codecs.lookup(encoding)
            except LookupError as err:
                raise ValueError(f"{path}: unknown encoding {encoding!r}") from err
        recodes: dict[str, dict[str, str]] = {}
        for target, table in raw.get("recodes", {}).items():
            if target not in by_name:
                raise ValueError(f"{path}: [recodes.{target}] is not a column of {schema}")
            recodes[target] = {str(k).strip(): str(v).strip() for k, v in table.items()}
            allowed = by_name[target].values
            wrong = sorted({v for v in recodes[target].values() if v and allowed and v not in allowed})
            if wrong:
                raise ValueError(f"{path}: [recodes.{target}] maps to {wrong}, which are not codes of "
                                 f"the contract ({', '.join(allowed or ())})")
        return cls(path.stem, raw.get("description", ""), sources, patterns, required, encoding, recodes)


#: How each kind of period is written in a file name.
PERIODS = {"annee": "AAAA", "mois": "AAAA-MM"}


@dataclass(frozen=True)
class SourceSpec:
    """The contract schema of a source, where its files are dropped, and the layouts that feed it."""

    source: str
    columns: tuple[Column, ...]
    layouts: tuple[Layout, ...]
    #: Sub-folder of ``data_raw`` (default: the source's name).
    folder: str = ""
    #: File name before ``_<période>`` (default: the source's name).
    prefix: str = ""
    #: ``"annee"`` (files ``_AAAA``) or ``"mois"`` (files ``_AAAA-MM``).
    period: str = "annee"
    description: str = ""
    #: Contract columns the ingestion replaces by a keyed hash (``NUM_UNIQUE``).
    pseudonymise: tuple[str, ...] = ()
    #: Export columns holding direct identifiers (names, birth date, phone, e-mail, address): never
    #: mapped to a contract column, never loaded.
    drop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.folder:
            object.__setattr__(self, "folder", self.source)
        if not self.prefix:
            object.__setattr__(self, "prefix", self.source)
        if self.period not in PERIODS:
            raise ValueError(f"source {self.source!r}: period must be one of {sorted(PERIODS)}, "
                             f"not {self.period!r}")

    @property
    def file_pattern(self) -> str:
        """Where a file of this source is dropped in ``data_raw``, e.g. ``sne/demandes_AAAA-MM.<ext>``."""
        return f"{self.folder}/{self.prefix}_{PERIODS[self.period]}.<ext>"

    @classmethod
    def load(cls, source: str, layouts_dir: Path = LAYOUTS_DIR) -> "SourceSpec":
        """Read ``schema.toml`` (its ``[source]`` table and ``[columns]``) and every layout of ``source``."""
        folder = layouts_dir / source
        schema_path = folder / "schema.toml"
        schema = tomllib.loads(schema_path.read_text(encoding="utf-8"))
        columns = tuple(
            Column(name, spec.get("type", "str"), tuple(spec["values"]) if "values" in spec else None)
            for name, spec in schema["columns"].items()
        )
        meta = schema.get("source", {})
        names = {c.name for c in columns}
        pseudonymise = tuple(meta.get("pseudonymise", []))
        drop = tuple(meta.get("drop", []))
        if set(pseudonymise) - names:
            raise ValueError(f"{schema_path}: pseudonymise {sorted(set(pseudonymise) - names)} are not "
                             f"columns of the source")
        if set(drop) & names:
            raise ValueError(f"{schema_path}: drop {sorted(set(drop) & names)} are contract columns")
        layouts = tuple(Layout.load(path, columns, drop)
                        for path in sorted(folder.glob("*.toml")) if path.name != "schema.toml")
        return cls(source, columns, layouts, folder=meta.get("folder", ""), prefix=meta.get("prefix", ""),
                   period=meta.get("period", "annee"), description=meta.get("description", ""),
                   pseudonymise=pseudonymise, drop=drop)


def all_sources(layouts_dir: Path = LAYOUTS_DIR) -> list[SourceSpec]:
    """Every source with a ``schema.toml`` in a folder of ``layouts_dir``, sorted by name.

    Two sources claiming the same ``<folder>/<prefix>`` are a configuration error: a dropped file
    would belong to both.
    """
    specs = [SourceSpec.load(d.name, layouts_dir)
             for d in sorted(layouts_dir.iterdir()) if (d / "schema.toml").is_file()]
    seen: dict[tuple[str, str], str] = {}
    for spec in specs:
        key = (spec.folder, spec.prefix)
        if key in seen:
            raise ValueError(f"{layouts_dir}: sources {seen[key]!r} and {spec.source!r} both claim "
                             f"{spec.folder}/{spec.prefix}_*")
        seen[key] = spec.source
    return specs


def source_for_file(path: Path, layouts_dir: Path = LAYOUTS_DIR) -> SourceSpec:
    """The source of a file dropped in ``data_raw``: its folder is ``path.parent.name``, its prefix
    the file name before ``_<période>``."""
    period_of(path)  # a name without a period is refused first, with how to name the file
    prefix = path.name[: PERIOD_RE.search(path.name).start()]
    folder = path.parent.name
    specs = all_sources(layouts_dir)
    for spec in specs:
        if spec.folder == folder and spec.prefix == prefix:
            return spec
    known = "; ".join(f"{s.source} : {s.file_pattern}" for s in specs)
    raise ExtractError(
        f"{folder}/{path.name}: aucune source connue pour ce fichier (dossier « {folder} », préfixe "
        f"« {prefix} »). Sources connues : {known}. Déposez le fichier dans le bon dossier de data_raw, "
        f"sous le nom attendu, ou déclarez la source dans pipeline/sources/layouts/<source>/schema.toml."
    )


@dataclass
class ReadResult:
    """An extract read into the contract's columns, and what happened on the way."""

    path: Path
    layout: str
    encoding: str
    separator: str | None
    rows_read: int
    data: pd.DataFrame
    rejets: pd.DataFrame
    extra_columns: list[str] = field(default_factory=list)

    @property
    def rows_kept(self) -> int:
        return len(self.data)

    @property
    def rows_rejected(self) -> int:
        return self.rows_read - self.rows_kept


def period_of(path: Path) -> tuple[int, int | None]:
    """The period in a file name (``rpls_2021.csv`` → (2021, None); ``x_2021-03.csv`` → (2021, 3))."""
    match = PERIOD_RE.search(path.name)
    if not match:
        raise ExtractError(
            f"{path.name}: le nom du fichier ne porte pas de période. Attendu : <nom>_AAAA.<ext> "
            f"ou <nom>_AAAA-MM.<ext> (par ex. rpls_2021.csv). Renommez le fichier."
        )
    mois = match.group("mois")
    return int(match.group("annee")), int(mois) if mois else None


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def _decode(path: Path, raw: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode a CSV's bytes; return (text, encoding used).

    A UTF-8 BOM decides. Otherwise the layout's ``declared`` encoding wins when the bytes are valid
    in it, with one exception: a declared single-byte encoding never overrides bytes that are valid,
    non-ASCII UTF-8. French text written in Latin-1 is never valid UTF-8 (« é » is a lone 0xE9), so
    such a file was re-saved in UTF-8 and reading it as Latin-1 could only give « ChenÃ´ve ».
    Undeclared (or not matching the declaration): UTF-8, else Windows-1252, else Latin-1 (which
    decodes any byte).
    """
    if b"\x00" in raw[:8192]:
        raise ExtractError(
            f"{path.name}: ce n'est pas un fichier texte (octets nuls : fichier binaire renommé en "
            f".csv ?). Attendu : un CSV exporté en texte (UTF-8 ou Windows-1252)."
        )
    if raw.startswith(codecs.BOM_UTF8):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    try:
        utf8: str | None = raw.decode("utf-8")
    except UnicodeDecodeError:
        utf8 = None
    if declared is not None:
        if _is_utf8(declared):
            if utf8 is not None:
                return utf8, declared
        elif utf8 is None or raw.isascii():
            try:
                text = raw.decode(declared)
            except UnicodeDecodeError:
                pass
            else:
                # Windows tools label their exports « Latin-1 » but write Windows-1252 (’ œ €): the
                # C1 control characters Latin-1 gives for those bytes never occur in real text.
                if C1_CONTROLS.search(text):
                    try:
                        return raw.decode("cp1252"), "cp1252"
                    except UnicodeDecodeError:
                        pass
                return text, declared
    if utf8 is not None:
        return utf8, "utf-8"
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D are undefined in Windows-1252
        return raw.decode("latin-1"), "latin-1"


@dataclass
class _Table:
    """A file read into strings, before any layout is applied."""

    frame: pd.DataFrame
    encoding: str
    separator: str | None
    raw: bytes | None = None  # CSV only: kept to decode again in the layout's declared encoding
    text: str | None = None


def _parse_csv(path: Path, text: str) -> tuple[pd.DataFrame, str]:
    """Parse decoded CSV text into strings; return (frame, separator)."""
    first = text.split("\n", 1)[0]
    separator = max([";", ",", "\t"], key=first.count)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False,
                            skipinitialspace=False)
    except pd.errors.ParserError as err:
        raise ExtractError(f"{path.name}: CSV illisible ({err}). Attendu : séparateur « {separator} » "
                           f"et le même nombre de colonnes sur chaque ligne.") from err
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, separator


def _read_table(path: Path) -> _Table:
    """Read a CSV/Parquet/XLSX into strings (a CSV's encoding detected from its bytes)."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise ExtractError(f"{path}: fichier introuvable.")
    if path.stat().st_size == 0:
        raise ExtractError(f"{path.name}: fichier vide (0 octet). Attendu : une ligne d'en-tête puis des lignes.")
    if suffix == ".parquet":
        return _Table(pd.read_parquet(path).astype("string").fillna(""), "parquet", None)
    if suffix == ".xlsx":
        return _Table(pd.read_excel(path, dtype=str).fillna(""), "xlsx", None)
    raw = path.read_bytes()
    text, encoding = _decode(path, raw)
    frame, separator = _parse_csv(path, text)
    return _Table(frame, encoding, separator, raw, text)


def _cast(values: pd.Series, column: Column) -> tuple[pd.Series, pd.Series, str]:
    """Cast strings to the column's type; return (typed values, bad mask, expectation)."""
    text = values.astype("string").str.strip()
    empty = text.isna() | (text == "")
    if column.type == "str":
        typed = text.mask(empty)
        bad = pd.Series(False, index=values.index)
        expected = "un texte"
        if column.values is not None:
            bad = ~empty & ~text.isin(column.values)
            expected = "un code parmi " + ", ".join(column.values)
        return typed, bad, expected
    if column.type in ("int", "float"):
        # French exports group thousands with (non-breaking) spaces: « 1 234,5 ».
        numeric = pd.to_numeric(text.str.replace(",", ".", regex=False).str.replace(r"\s", "", regex=True),
                                errors="coerce")
        bad = ~empty & numeric.isna()
        if column.type == "int":
            bad |= ~empty & numeric.notna() & (numeric % 1 != 0)
            typed = numeric.where(~bad).round().astype("Int64")
            return typed, bad, "un nombre entier"
        return numeric.where(~bad).astype("Float64"), bad, "un nombre (virgule ou point décimal)"
    if column.type == "date":
        iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        fr = pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")
        typed = iso.fillna(fr)
        return typed.dt.date, ~empty & typed.isna(), "une date AAAA-MM-JJ ou JJ/MM/AAAA"
    if column.type == "bool":
        lower = text.str.lower()
        typed = pd.Series(pd.NA, index=values.index, dtype="boolean")
        typed[lower.isin(TRUE_VALUES).fillna(False)] = True
        typed[lower.isin(FALSE_VALUES).fillna(False)] = False
        return typed, ~empty & typed.isna(), "un booléen (O/N, 1/0, true/false)"
    raise ValueError(f"unknown column type {column.type!r} for {column.name}")


def _pick_layout(path: Path, spec: SourceSpec, header: list[str]) -> tuple[Layout, dict[str, str]]:
    """The layout mapping the most columns among those whose required columns are all there."""
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
        raise ExtractError(
            f"{path.name}: aucune disposition connue de la source « {spec.source} » ne correspond à "
            f"l'en-tête. Dispositions essayées : {'; '.join(tried)}. En-tête lu : {', '.join(header[:12])}"
            f"{'…' if len(header) > 12 else ''}. Ajoutez une disposition dans "
            f"pipeline/sources/layouts/{spec.source}/ si c'est un nouvel export."
        )
    return best


def _with_declared_encoding(path: Path, table: _Table, layout: Layout,
                            mapping: dict[str, str]) -> tuple[_Table, dict[str, str]]:
    """Decode a CSV again in its layout's declared encoding, when that changes anything.

    The layout is only known once the header is read, so the first decoding is always detected.
    Header names are ASCII, or accented letters that read the same in Windows-1252 and Latin-1, so
    the layout found does not depend on it; should the declared encoding garble the header, the
    detected one is kept.
    """
    if layout.encoding is None or table.raw is None or table.text is None:
        return table, mapping
    text, encoding = _decode(path, table.raw, layout.encoding)
    if text == table.text:
        return _Table(table.frame, encoding, table.separator, table.raw, text), mapping
    frame, separator = _parse_csv(path, text)
    new_mapping, missing = layout.match(list(frame.columns))
    if missing:  # the declared encoding garbles the header: trust detection
        return table, mapping
    return _Table(frame, encoding, separator, table.raw, text), new_mapping


def read_extract(path: Path, spec: SourceSpec) -> ReadResult:
    """Read ``path`` with the layout of ``spec`` that matches its header; type and check every row.

    The layout's recodes turn export values into contract codes before typing; a value neither in
    the closed list nor recoded is a rejected row (never mapped to « autre »).
    """
    table = _read_table(path)
    layout, mapping = _pick_layout(path, spec, list(table.frame.columns))
    table, mapping = _with_declared_encoding(path, table, layout, mapping)
    frame = table.frame
    used = set(mapping.values())
    extra = [h for h in frame.columns if h not in used]

    typed: dict[str, pd.Series] = {}
    rejets = []
    bad_rows = pd.Series(False, index=frame.index)
    for column in spec.columns:
        if column.name not in mapping:
            typed[column.name] = pd.Series(pd.NA, index=frame.index, dtype="string")
            continue
        source_name = mapping[column.name]
        raw_values = frame[source_name]
        recode = layout.recodes.get(column.name)
        if recode:
            raw_values = raw_values.astype("string").str.strip().map(lambda v: recode.get(v, v),
                                                                     na_action="ignore")
        values, bad, expected = _cast(raw_values, column)
        typed[column.name] = values
        if bad.any():
            bad_rows |= bad
            offenders = frame.loc[bad, source_name]  # the export's own value, before any recode
            hint = ""
            if column.values is not None:
                hint = (f" Si c'est un code de l'export, ajoutez sa correspondance dans "
                        f"[recodes.{column.name}] de pipeline/sources/layouts/{spec.source}/{layout.name}.toml.")
            rejets.append(pd.DataFrame({
                "fichier": path.name,
                "ligne": offenders.index + 2,  # 1-based, after the header line
                "colonne": source_name,
                "valeur": offenders.to_numpy(),
                "regle": "type" if column.values is None else "code_inconnu",
                "message": [f"{path.name}, ligne {i + 2}, colonne {source_name} : « {v} » n'est pas "
                            f"{expected}.{hint}" for i, v in offenders.items()],
            }))
    data = pd.DataFrame(typed)
    data["_LIGNE"] = (frame.index + 2).astype("int64")
    data = data.loc[~bad_rows].reset_index(drop=True)
    rejets_df = pd.concat(rejets, ignore_index=True) if rejets else pd.DataFrame(columns=REJET_COLUMNS)
    return ReadResult(path, layout.name, table.encoding, table.separator, len(frame), data,
                      rejets_df.sort_values(["ligne", "colonne"]).reset_index(drop=True), extra)
