"""Reading one extract: dialect, layout, types — and saying exactly what happened to every row.

A *source* (``rpls``, …) has a folder in ``pipeline/sources/layouts/<source>/`` holding:

- ``schema.toml`` — the contract's columns for that source (names as in ``data-contract.md``),
  each with a ``type`` (``str``, ``int``, ``float``, ``date``, ``bool``) and optionally the closed
  list of ``values`` it accepts;
- one TOML file per *layout* (an export's vintage or tool): which header names feed which contract
  column, and which columns must be there for the layout to match.

The reader picks the layout that matches the header and says which. Rows whose values cannot be
typed, or carry a code outside the closed list, are not loaded: they are returned as *rejets*
(row, column, value, rule, message) for the quarantine. A file that cannot be read at all raises
:class:`ExtractError` with a message naming the file and what was expected.
"""

from __future__ import annotations

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
    """One export layout: header names → contract columns."""

    name: str
    description: str
    sources: dict[str, tuple[str, ...]]
    patterns: dict[str, str]
    required: tuple[str, ...]

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


@dataclass(frozen=True)
class SourceSpec:
    """The contract schema of a source and the layouts that feed it."""

    source: str
    columns: tuple[Column, ...]
    layouts: tuple[Layout, ...]

    @classmethod
    def load(cls, source: str, layouts_dir: Path = LAYOUTS_DIR) -> "SourceSpec":
        """Read ``schema.toml`` and every layout file of ``source``."""
        folder = layouts_dir / source
        schema = tomllib.loads((folder / "schema.toml").read_text(encoding="utf-8"))
        columns = tuple(
            Column(name, spec.get("type", "str"), tuple(spec["values"]) if "values" in spec else None)
            for name, spec in schema["columns"].items()
        )
        layouts = []
        for path in sorted(folder.glob("*.toml")):
            if path.name == "schema.toml":
                continue
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
            sources, patterns = {}, {}
            for target, spec in raw.get("columns", {}).items():
                if isinstance(spec, str):
                    sources[target] = (spec,)
                elif isinstance(spec, list):
                    sources[target] = tuple(spec)
                else:
                    patterns[target] = spec["pattern"]
            unknown = (set(sources) | set(patterns)) - {c.name for c in columns}
            if unknown:
                raise ValueError(f"{path}: columns {sorted(unknown)} are not in {folder / 'schema.toml'}")
            layouts.append(Layout(path.stem, raw.get("description", ""), sources, patterns,
                                  tuple(raw.get("required", []))))
        return cls(source, columns, tuple(layouts))


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


def _decode(path: Path, raw: bytes) -> tuple[str, str]:
    """Decode a CSV's bytes: UTF-8 (with or without BOM), else Windows-1252."""
    if b"\x00" in raw[:8192]:
        raise ExtractError(
            f"{path.name}: ce n'est pas un fichier texte (octets nuls : fichier binaire renommé en "
            f".csv ?). Attendu : un CSV exporté en texte (UTF-8 ou Windows-1252)."
        )
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="strict"), "cp1252"


def _read_table(path: Path) -> tuple[pd.DataFrame, str, str | None]:
    """Read a CSV/Parquet/XLSX into strings; return (frame, encoding, separator)."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise ExtractError(f"{path}: fichier introuvable.")
    if path.stat().st_size == 0:
        raise ExtractError(f"{path.name}: fichier vide (0 octet). Attendu : une ligne d'en-tête puis des lignes.")
    if suffix == ".parquet":
        return pd.read_parquet(path).astype("string").fillna(""), "parquet", None
    if suffix == ".xlsx":
        return pd.read_excel(path, dtype=str).fillna(""), "xlsx", None
    text, encoding = _decode(path, path.read_bytes())
    first = text.split("\n", 1)[0]
    separator = max([";", ",", "\t"], key=first.count)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False,
                            skipinitialspace=False)
    except pd.errors.ParserError as err:
        raise ExtractError(f"{path.name}: CSV illisible ({err}). Attendu : séparateur « {separator} » "
                           f"et le même nombre de colonnes sur chaque ligne.") from err
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, encoding, separator


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
        numeric = pd.to_numeric(text.str.replace(",", ".", regex=False).str.replace(" ", "", regex=False),
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


def read_extract(path: Path, spec: SourceSpec) -> ReadResult:
    """Read ``path`` with the layout of ``spec`` that matches its header; type and check every row."""
    frame, encoding, separator = _read_table(path)
    header = list(frame.columns)
    tried = []
    best: tuple[Layout, dict[str, str]] | None = None
    for layout in spec.layouts:
        mapping, missing = layout.match(header)
        if not missing and (best is None or len(mapping) > len(best[1])):
            best = (layout, mapping)
        tried.append(f"{layout.name} (manque : {', '.join(missing)})" if missing else layout.name)
    if best is None:
        raise ExtractError(
            f"{path.name}: aucune disposition connue de la source « {spec.source} » ne correspond à "
            f"l'en-tête. Dispositions essayées : {'; '.join(tried)}. En-tête lu : {', '.join(header[:12])}"
            f"{'…' if len(header) > 12 else ''}. Ajoutez une disposition dans "
            f"pipeline/sources/layouts/{spec.source}/ si c'est un nouvel export."
        )
    layout, mapping = best
    used = set(mapping.values())
    extra = [h for h in header if h not in used]

    typed: dict[str, pd.Series] = {}
    rejets = []
    bad_rows = pd.Series(False, index=frame.index)
    for column in spec.columns:
        if column.name not in mapping:
            typed[column.name] = pd.Series(pd.NA, index=frame.index, dtype="string")
            continue
        source_name = mapping[column.name]
        values, bad, expected = _cast(frame[source_name], column)
        typed[column.name] = values
        if bad.any():
            bad_rows |= bad
            offenders = frame.loc[bad, source_name]
            rejets.append(pd.DataFrame({
                "fichier": path.name,
                "ligne": offenders.index + 2,  # 1-based, after the header line
                "colonne": source_name,
                "valeur": offenders.to_numpy(),
                "regle": "type" if column.values is None else "code_inconnu",
                "message": [f"{path.name}, ligne {i + 2}, colonne {source_name} : « {v} » n'est pas "
                            f"{expected}." for i, v in offenders.items()],
            }))
    data = pd.DataFrame(typed)
    data["_LIGNE"] = (frame.index + 2).astype("int64")
    data = data.loc[~bad_rows].reset_index(drop=True)
    rejets_df = pd.concat(rejets, ignore_index=True) if rejets else pd.DataFrame(columns=REJET_COLUMNS)
    return ReadResult(path, layout.name, encoding, separator, len(frame), data,
                      rejets_df.sort_values(["ligne", "colonne"]).reset_index(drop=True), extra)
