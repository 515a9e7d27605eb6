"""Reading one extract: dialect, layout, types — and saying exactly what happened to every row.

A *source* (``rpls``, ``demandes``, …) has a folder in ``pipeline/sources/layouts/<source>/`` holding:

- ``schema.toml`` — a ``[source]`` table saying where its files are dropped
  (``data_raw/<folder>/<prefix>_<période>.<ext>``, ``period = "annee"`` or ``"mois"``), which
  direct identifiers the ingestion pseudonymises or drops, and the file-level checks (below); then
  the contract's ``[columns]`` (names as in ``data-contract.md``), each with a ``type`` (``str``,
  ``int``, ``float``, ``date``, ``bool``), optionally the closed list of ``values`` it accepts and
  ``min`` / ``max`` bounds (inclusive; numbers, or TOML dates for a date column); then the
  cross-column ``[[rules]]``;
- one TOML file per *layout* (an export's vintage or tool): which header names feed which contract
  column, which columns must be there for the layout to match (``required``), the export's declared
  ``encoding`` and ``[recodes.<COLUMN>]`` tables turning the export's codes into the contract's.

The checks a ``[source]`` table may declare::

    key = ["NUM_UNIQUE", "LOGEMENT_ID", "DATE_CAL"]  # one row per key: later rows are « doublon »
    period_columns = ["DATE_CAL"]          # a date inside the file's period (from its name)
    period_end_columns = ["DATE_DEPOT"]    # a date no later than the end of the file's period
    commune_columns = ["COMMUNE_LOGEMENT"] # a code of dbt_project/seeds/ref_communes.csv

A cross-column rule is a small comparison, never Python::

    [[rules]]
    name = "rang_decision_positive"        # the rejet's « regle »
    check = "RANG >= 1"                    # what must hold (a string, or a list: all must hold)
    when = "DECISION_CAL in [ATTRIBUTION, ATTRIBUTION_RANG]"  # optional: where the check applies
    reject_empty = true                    # optional: an empty cell in `check` is an error too
    message = "une décision d'attribution porte le rang du candidat"

A condition is ``A op B`` (``op`` one of ``< <= > >= == !=``; ``A`` and ``B`` a column, a number, a
date ``AAAA-MM-JJ``, a quoted text or ``true``/``false``, at least one a column of the same type),
``COLUMN in [a, b]`` / ``COLUMN not in [a, b]``, or ``COLUMN is empty`` / ``COLUMN is not empty``.
By default a check on an empty cell is not evaluated (« when filled »); a ``when`` on an empty cell
does not hold.

:func:`all_sources` discovers every source folder; :func:`source_for_file` says which source a
dropped file belongs to. The reader picks the layout that matches the header and says which. A row
is not loaded — it is returned as *rejets* (file, line, column, value, rule, message: one per broken
rule) for the quarantine — when its line is truncated or too long, a value cannot be typed, a code is
outside the closed list (after the layout's recodes), a bound or a rule is broken, a date falls
outside the file's period, a commune is outside the EPCI, or it repeats an earlier row. A file that
cannot be read at all raises :class:`ExtractError` with a message naming the file and what was
expected. Every check is vectorised: a 10 000-row file reads in a fraction of a second.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import operator
import re
import tomllib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.settings import DBT_PROJECT_DIR, PROJECT_DIR

LAYOUTS_DIR = Path(__file__).resolve().parent / "layouts"
#: The EPCI's communes, current and historical (COG history): what ``commune_columns`` accept.
COMMUNES_REF = DBT_PROJECT_DIR / "seeds" / "ref_communes.csv"
PERIOD_RE = re.compile(r"_(?P<annee>\d{4})(?:-(?P<mois>\d{2}))?\.(?:csv|txt|parquet|xlsx)$", re.IGNORECASE)
TRUE_VALUES = {"o", "oui", "1", "true", "vrai", "y", "yes"}
FALSE_VALUES = {"n", "non", "0", "false", "faux", "no"}
REJET_COLUMNS = ["fichier", "ligne", "colonne", "valeur", "regle", "message"]
#: C1 control characters (U+0080–U+009F): what Latin-1 makes of Windows-1252's ’ œ € and co.
C1_CONTROLS = re.compile("[\u0080-\u009f]")
#: A valid UTF-8 multi-byte sequence: in a file that is not UTF-8 as a whole, the sign of a mix.
UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
#: What a binary file renamed ``.csv`` usually is, from its first bytes.
MAGIC = (
    (b"PK\x03\x04", "un classeur Excel .xlsx ou une archive ZIP"),
    (b"\xd0\xcf\x11\xe0", "un classeur Excel 97-2003 (.xls)"),
    (b"%PDF", "un PDF"),
    (b"PAR1", "un fichier Parquet"),
    (b"\x89PNG", "une image PNG"),
    (b"\xff\xd8\xff", "une image JPEG"),
    (b"\x1f\x8b", "une archive gzip"),
)
#: The rule names the reader itself uses; a ``[[rules]]`` entry may not take one.
BUILTIN_RULES = frozenset({"type", "code_inconnu", "minimum", "maximum", "ligne_tronquee", "ligne_trop_longue",
                           "hors_periode", "commune_hors_epci", "doublon"})
MOIS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
        "novembre", "décembre")
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 avec BOM", "cp1252": "Windows-1252",
                  "latin-1": "Latin-1", "iso8859-1": "Latin-1", "utf-16": "UTF-16"}


class ExtractError(Exception):
    """An extract that cannot be read at all (the message says which file and what was expected)."""


# --- Declarations: columns, layouts, rules, sources ---------------------------------------------

#: The kind of value a column type compares as, in bounds and rules.
KINDS = {"str": "str", "int": "number", "float": "number", "date": "date", "bool": "bool"}


@dataclass(frozen=True)
class Column:
    """A contract column of a source."""

    name: str
    type: str = "str"
    values: tuple[str, ...] | None = None
    #: Inclusive bounds (a number, or a date for a date column); outside → rejet ``minimum``/``maximum``.
    min: float | dt.date | None = None
    max: float | dt.date | None = None

    @classmethod
    def load(cls, name: str, spec: dict, where: Path) -> "Column":
        """One ``[columns]`` entry of ``schema.toml``, its bounds checked against its type."""
        type_ = spec.get("type", "str")
        if type_ not in KINDS:
            raise ValueError(f"{where}: column {name} has unknown type {type_!r} (one of {sorted(KINDS)})")
        bounds = {}
        for bound in ("min", "max"):
            value = spec.get(bound)
            if value is None:
                continue
            kind = KINDS[type_]
            if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
                bounds[bound] = value
            elif kind == "date" and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                bounds[bound] = value
            else:
                raise ValueError(f"{where}: {bound} of {name} ({value!r}) does not fit its type {type_!r} "
                                 f"(a number for int/float, a TOML date AAAA-MM-JJ for date)")
        if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
            raise ValueError(f"{where}: min > max for column {name}")
        values = tuple(str(v) for v in spec["values"]) if "values" in spec else None
        return cls(name, type_, values, bounds.get("min"), bounds.get("max"))


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


_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_LITERAL = r"'[^']*'|\"[^\"]*\"|\d{4}-\d{2}-\d{2}|-?\d+(?:\.\d+)?|true|false"
_COMPARISON = re.compile(rf"\s*(?P<left>{_LITERAL}|{_NAME})\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<right>{_LITERAL}|{_NAME})\s*")
_MEMBERSHIP = re.compile(rf"\s*(?P<column>{_NAME})\s+(?P<negate>not\s+)?in\s*\[(?P<items>[^\]]*)\]\s*")
_EMPTINESS = re.compile(rf"\s*(?P<column>{_NAME})\s+is\s+(?P<negate>not\s+)?empty\s*")
_ITEM = re.compile(r"'[^']*'|\"[^\"]*\"|[^,\s'\"]+")
_OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
              "==": operator.eq, "!=": operator.ne}
_SYMBOLS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"}


def _literal(token: str, kind: str | None, where: str) -> tuple[str, object]:
    """(kind, value) of a literal token; ``kind`` forces the reading of a bare list item."""
    if token[0] in "'\"":
        value: object = token[1:-1]
        found = "str"
    elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", token):
        try:
            value = dt.date.fromisoformat(token)
        except ValueError as err:
            raise ValueError(f"{where}: {token!r} is not a date") from err
        found = "date"
    elif re.fullmatch(r"-?\d+(?:\.\d+)?", token):
        value, found = (float(token) if "." in token else int(token)), "number"
    elif token in ("true", "false"):
        value, found = token == "true", "bool"
    elif kind == "str":  # a bare code in a list: DECISION_CAL in [ATTRIBUTION, ATTRIBUTION_RANG]
        value, found = token, "str"
    else:
        raise ValueError(f"{where}: {token!r} is not a value (quote a text, write numbers plainly, "
                         f"dates as AAAA-MM-JJ)")
    if kind == "str" and found != "str":  # codes that look like numbers: FINAN_CODE in [10, 11]
        value, found = token.strip("'\""), "str"
    return found, value


@dataclass(frozen=True)
class Condition:
    """One comparison of a rule, parsed once when the schema is loaded."""

    text: str
    kind: str  # "compare", "in", "empty"
    #: (is_column, column name or literal value) for each side of a comparison; the column of the others.
    left: tuple[bool, object]
    op: str = ""
    right: tuple[bool, object] | None = None
    items: tuple = ()
    negate: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        sides = [self.left] + ([self.right] if self.right else [])
        return tuple(str(v) for is_column, v in sides if is_column)

    @classmethod
    def parse(cls, text: str, columns: dict[str, Column], where: str) -> "Condition":
        """Parse ``A op B``, ``COL [not] in [a, b]`` or ``COL is [not] empty`` (checked against ``columns``)."""
        def column(name: str) -> Column:
            if name not in columns:
                raise ValueError(f"{where}: {name!r} is not a column of the source")
            return columns[name]

        if match := _EMPTINESS.fullmatch(text):
            column(match["column"])
            return cls(text, "empty", (True, match["column"]), negate=bool(match["negate"]))
        if match := _MEMBERSHIP.fullmatch(text):
            col = column(match["column"])
            kind = KINDS[col.type]
            items = tuple(_literal(token, kind, where) for token in _ITEM.findall(match["items"]))
            if not items:
                raise ValueError(f"{where}: empty list in {text!r}")
            wrong = [v for k, v in items if k != kind]
            if wrong:
                raise ValueError(f"{where}: {wrong} do not fit column {col.name} ({col.type})")
            values = tuple(v for _, v in items)
            if col.values is not None and set(map(str, values)) - set(col.values):
                raise ValueError(f"{where}: {sorted(set(map(str, values)) - set(col.values))} are not codes "
                                 f"of {col.name} ({', '.join(col.values)})")
            return cls(text, "in", (True, col.name), items=values, negate=bool(match["negate"]))
        if match := _COMPARISON.fullmatch(text):
            sides, kinds = [], []
            for token in (match["left"], match["right"]):
                if re.fullmatch(_NAME, token) and token not in ("true", "false"):
                    sides.append((True, token))
                    kinds.append(KINDS[column(token).type])
                else:
                    kind, value = _literal(token, None, where)
                    sides.append((False, value))
                    kinds.append(kind)
            if not (sides[0][0] or sides[1][0]):
                raise ValueError(f"{where}: {text!r} compares two values, not a column")
            if kinds[0] != kinds[1]:
                raise ValueError(f"{where}: {text!r} compares a {kinds[0]} with a {kinds[1]}")
            if kinds[0] in ("str", "bool") and match["op"] not in ("==", "!="):
                raise ValueError(f"{where}: {text!r}: texts and booleans compare with == or != only")
            return cls(text, "compare", sides[0], match["op"], sides[1])
        raise ValueError(f"{where}: cannot read {text!r}; expected « A op B » (op one of < <= > >= == !=), "
                         f"« COLUMN in [a, b] », « COLUMN not in [a, b] » or « COLUMN is [not] empty »")

    def describe(self, names: dict[str, str]) -> str:
        """In French, columns shown under their export names (``names``)."""
        def show(side: tuple[bool, object]) -> str:
            is_column, value = side
            return names.get(str(value), str(value)) if is_column else _show_value(value)

        if self.kind == "empty":
            return f"{show(self.left)} {'renseigné' if self.negate else 'vide'}"
        if self.kind == "in":
            listed = _enumerate([_show_value(v) for v in self.items], "ou")
            return f"{show(self.left)} {'n’est pas' if self.negate else 'est'} {listed}"
        assert self.right is not None
        return f"{show(self.left)} {_SYMBOLS[self.op]} {show(self.right)}"

    def evaluate(self, values: dict[str, pd.Series], index: pd.Index) -> tuple[np.ndarray, np.ndarray]:
        """(holds, empty) per row; ``holds`` is False where a column operand is empty."""
        empty = np.zeros(len(index), dtype=bool)
        for name in self.columns:
            empty |= values[name].isna().to_numpy()
        if self.kind == "empty":
            return (~empty if self.negate else empty), np.zeros(len(index), dtype=bool)
        if self.kind == "in":
            items = [pd.Timestamp(v) if isinstance(v, dt.date) else v for v in self.items]
            found = values[str(self.left[1])].isin(items).to_numpy(dtype=bool)
            return (~found if self.negate else found) & ~empty, empty
        assert self.right is not None

        def operand(side: tuple[bool, object]) -> object:
            is_column, value = side
            if is_column:
                return values[str(value)]
            return pd.Timestamp(value) if isinstance(value, dt.date) else value

        result = _OPERATORS[self.op](operand(self.left), operand(self.right))
        holds = pd.Series(result, index=index).astype("boolean").fillna(False).to_numpy(dtype=bool)
        return holds & ~empty, empty


@dataclass(frozen=True)
class Rule:
    """A cross-column rule of ``[[rules]]``: where ``when`` holds, ``check`` must hold."""

    name: str
    message: str
    check: tuple[Condition, ...]
    when: tuple[Condition, ...] = ()
    reject_empty: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the rule reads, the checked ones first."""
        return tuple(dict.fromkeys(c for cond in self.check + self.when for c in cond.columns))

    @classmethod
    def load(cls, raw: dict, columns: dict[str, Column], where: Path) -> "Rule":
        name = raw.get("name", "")
        context = f"{where}: [[rules]] {name!r}"
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ValueError(f"{context}: `name` must be lower_snake_case (it is the rejet's rule)")
        if name in BUILTIN_RULES:
            raise ValueError(f"{context}: {name!r} is a rule of the reader itself; choose another name")
        unknown = set(raw) - {"name", "check", "when", "reject_empty", "message"}
        if unknown:
            raise ValueError(f"{context}: unknown keys {sorted(unknown)}")
        if "check" not in raw or "message" not in raw:
            raise ValueError(f"{context}: `check` and `message` are required")

        def conditions(value: str | list[str]) -> tuple[Condition, ...]:
            texts = [value] if isinstance(value, str) else list(value)
            return tuple(Condition.parse(t, columns, context) for t in texts)

        return cls(name, str(raw["message"]).strip().rstrip("."), conditions(raw["check"]),
                   conditions(raw.get("when", [])), bool(raw.get("reject_empty", False)))

    def expected(self, names: dict[str, str]) -> str:
        """What the rule expects, in French (« RANG ≥ 1 quand DECISION_CAL est … »)."""
        text = " et ".join(c.describe(names) for c in self.check)
        if self.reject_empty:
            text += " (une cellule vide est une erreur)"
        if self.when:
            text += " quand " + " et ".join(c.describe(names) for c in self.when)
        return text

    def violated(self, values: dict[str, pd.Series], index: pd.Index) -> np.ndarray:
        """Rows where ``when`` holds and a ``check`` condition fails (vectorised)."""
        applies = np.ones(len(index), dtype=bool)
        for cond in self.when:
            applies &= cond.evaluate(values, index)[0]
        failed = np.zeros(len(index), dtype=bool)
        for cond in self.check:
            holds, empty = cond.evaluate(values, index)
            failed |= ~holds & (~empty | self.reject_empty)
        return applies & failed


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
    #: Columns identifying a row: a later row with the same (filled) key is a « doublon ».
    key: tuple[str, ...] = ()
    #: Date columns that must fall inside the file's period (from its name).
    period_columns: tuple[str, ...] = ()
    #: Date columns that may not be later than the end of the file's period.
    period_end_columns: tuple[str, ...] = ()
    #: Commune code columns that must be communes of the EPCI (:data:`COMMUNES_REF`).
    commune_columns: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()

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
        """Read ``schema.toml`` (its ``[source]`` table, ``[columns]`` and ``[[rules]]``) and every
        layout of ``source``."""
        folder = layouts_dir / source
        schema_path = folder / "schema.toml"
        schema = tomllib.loads(schema_path.read_text(encoding="utf-8"))
        columns = tuple(Column.load(name, spec, schema_path) for name, spec in schema["columns"].items())
        by_name = {c.name: c for c in columns}
        meta = schema.get("source", {})
        names = set(by_name)
        pseudonymise = tuple(meta.get("pseudonymise", []))
        drop = tuple(meta.get("drop", []))
        if set(pseudonymise) - names:
            raise ValueError(f"{schema_path}: pseudonymise {sorted(set(pseudonymise) - names)} are not "
                             f"columns of the source")
        if set(drop) & names:
            raise ValueError(f"{schema_path}: drop {sorted(set(drop) & names)} are contract columns")
        checks: dict[str, tuple[str, ...]] = {}
        for entry, types in (("key", None), ("period_columns", {"date"}), ("period_end_columns", {"date"}),
                             ("commune_columns", {"str"})):
            listed = tuple(meta.get(entry, []))
            if set(listed) - names:
                raise ValueError(f"{schema_path}: {entry} {sorted(set(listed) - names)} are not columns of the source")
            wrong = [c for c in listed if types and by_name[c].type not in types]
            if wrong:
                raise ValueError(f"{schema_path}: {entry} {wrong} must be of type {'/'.join(sorted(types or ()))}")
            checks[entry] = listed
        rules = tuple(Rule.load(raw, by_name, schema_path) for raw in schema.get("rules", []))
        duplicated = sorted({r.name for r in rules if sum(s.name == r.name for s in rules) > 1})
        if duplicated:
            raise ValueError(f"{schema_path}: [[rules]] names {duplicated} are used twice")
        layouts = tuple(Layout.load(path, columns, drop)
                        for path in sorted(folder.glob("*.toml")) if path.name != "schema.toml")
        return cls(source, columns, layouts, folder=meta.get("folder", ""), prefix=meta.get("prefix", ""),
                   period=meta.get("period", "annee"), description=meta.get("description", ""),
                   pseudonymise=pseudonymise, drop=drop, rules=rules, **checks)


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
    #: What the reader decided about the file as a whole, in French (encoding other than declared,
    #: blank lines skipped, no data row, no duplicate check…); empty when there is nothing to say.
    notes: list[str] = field(default_factory=list)

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
    if mois is not None and not 1 <= int(mois) <= 12:
        raise ExtractError(f"{path.name}: le mois « {mois} » du nom n'existe pas. Attendu : <nom>_AAAA-MM.<ext> "
                           f"avec MM de 01 à 12. Renommez le fichier.")
    return int(match.group("annee")), int(mois) if mois else None


def period_bounds(path: Path) -> tuple[dt.date, dt.date, str]:
    """First day, last day and French name (« mars 2021 », « l'année 2021 ») of a file's period."""
    annee, mois = period_of(path)
    if mois is None:
        return dt.date(annee, 1, 1), dt.date(annee, 12, 31), f"l'année {annee}"
    following = dt.date(annee + mois // 12, mois % 12 + 1, 1)
    return dt.date(annee, mois, 1), following - dt.timedelta(days=1), f"{MOIS[mois - 1]} {annee}"


@functools.lru_cache(maxsize=4)
def _communes(path: Path, mtime: float) -> frozenset[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return frozenset(row["code_insee"].strip() for row in csv.DictReader(handle) if row.get("code_insee"))


def epci_communes(path: Path = COMMUNES_REF) -> frozenset[str]:
    """Every commune code of the referential (current and historical, e.g. 21213 Crimolois)."""
    try:
        return _communes(path, path.stat().st_mtime)
    except (OSError, KeyError) as err:
        raise ExtractError(f"référentiel des communes illisible ({path}: {err}). Attendu : le fichier "
                           f"dbt_project/seeds/ref_communes.csv du projet, avec une colonne code_insee.") from err


# --- Bytes → text → rows of strings --------------------------------------------------------------

def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    """Decode error handler: a byte that is not UTF-8 is read as Windows-1252 (Latin-1 if undefined)."""
    assert isinstance(error, UnicodeDecodeError)
    chunk = error.object[error.start:error.end]
    try:
        return chunk.decode("cp1252"), error.end
    except UnicodeDecodeError:
        return chunk.decode("latin-1"), error.end


codecs.register_error("observatoire_cp1252", _cp1252_fallback)


def _not_text(path: Path, raw: bytes) -> None:
    """Refuse a binary file (an Excel workbook, a PDF… renamed .csv) with what it seems to be."""
    kind = next((label for magic, label in MAGIC if raw.startswith(magic)), None)
    if kind is None and b"\x00" not in raw[:8192]:
        return
    what = f"c'est {kind}" if kind else "octets nuls : fichier binaire, ou texte UTF-16 sans BOM"
    raise ExtractError(
        f"{path.name}: ce n'est pas un fichier texte ({what}) — fichier binaire renommé en "
        f"{path.suffix or 'csv'} ? Attendu : un CSV exporté en texte (UTF-8 ou Windows-1252) ; un classeur "
        f"se dépose tel quel en .xlsx."
    )


def _decode(path: Path, raw: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode a CSV's bytes; return (text, encoding used).

    A BOM decides (UTF-8, or UTF-16 as Excel's « texte Unicode » writes). Otherwise the layout's
    ``declared`` encoding wins when the bytes are valid in it, with one exception: a declared
    single-byte encoding never overrides bytes that are valid, non-ASCII UTF-8. French text written
    in Latin-1 is never valid UTF-8 (« é » is a lone 0xE9), so such a file was re-saved in UTF-8 and
    reading it as Latin-1 could only give « ChenÃ´ve ». A file mixing UTF-8 lines and Windows-1252
    bytes (two exports concatenated) is read character by character in each (``utf-8+cp1252``).
    Undeclared (or not matching the declaration): UTF-8, else Windows-1252, else Latin-1 (which
    decodes any byte).
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as err:
            raise ExtractError(f"{path.name}: marque UTF-16 en tête mais texte UTF-16 invalide ({err}). "
                               f"Attendu : un CSV en UTF-8 ou Windows-1252.") from err
    _not_text(path, raw)
    if raw.startswith(codecs.BOM_UTF8):
        return raw[3:].decode("utf-8", errors="observatoire_cp1252"), "utf-8-sig"
    try:
        utf8: str | None = raw.decode("utf-8")
    except UnicodeDecodeError:
        utf8 = None
    if utf8 is None and UTF8_SEQUENCE.search(raw):
        return raw.decode("utf-8", errors="observatoire_cp1252"), "utf-8+cp1252"
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
    #: Line of each row in the file (1-based, the header being line 1 unless blank lines precede it).
    lines: pd.Series
    raw: bytes | None = None  # CSV only: kept to decode again in the layout's declared encoding
    text: str | None = None
    #: CSV only: the number of fields of each line, and what a too long line carries past the header.
    fields: np.ndarray | None = None
    overflow: dict[int, str] = field(default_factory=dict)
    blank_lines: list[int] = field(default_factory=list)
    #: CSV only: each row's text, to find identical lines without hashing every column.
    signature: pd.Series | None = None


def _unique(names: list[str]) -> list[str]:
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


def _parse_regular(text: str, separator: str) -> tuple[pd.DataFrame, pd.Series] | None:
    """The fast path: a file without quotes whose every line has the header's number of fields,
    read by pandas' C parser; ``None`` when the file is not that regular (then :func:`_parse_csv`
    reads it line by line). Returns (frame, the lines of the rows as read, for duplicates)."""
    if '"' in text:
        return None
    lines = text.split("\n")
    while lines and not lines[-1].strip("\r"):
        lines.pop()
    if len(lines) < 1:
        return None
    series = pd.Series(lines, dtype="str").str.removesuffix("\r")
    counts = series.str.count(re.escape(separator)).to_numpy()
    if (counts != counts[0]).any():
        return None
    if (series.str.replace(separator, "", regex=False).str.strip() == "").any():
        return None  # blank lines: the line-by-line path skips and lists them
    names = [c.strip() for c in lines[0].removesuffix("\r").split(separator)]
    if not names[-1]:
        return None
    try:
        frame = pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False,
                            quoting=csv.QUOTE_NONE, header=0, skip_blank_lines=False)
    except (pd.errors.ParserError, ValueError):
        return None
    if len(frame) != len(series) - 1 or len(frame.columns) != len(names):
        return None
    frame.columns = _unique(names)
    return frame, series.iloc[1:].reset_index(drop=True)


def _parse_csv(path: Path, text: str, encoding: str, raw: bytes | None = None) -> _Table:
    """Parse decoded CSV text into strings, keeping each row's line and field count.

    A regular file goes through pandas (:func:`_parse_regular`); any other through the ``csv``
    module, line by line, because pandas pads a short line silently and, when every line has one
    field more than the header, silently shifts the columns. Blank lines (or lines of separators
    only) are skipped and listed; a line with fewer or more fields than the header is kept here and
    quarantined by :func:`read_extract`.
    """
    first = text.lstrip("\r\n\t ").split("\n", 1)[0]
    separator = max([";", ",", "\t"], key=first.count)
    regular = _parse_regular(text, separator)
    if regular is not None:
        frame, signature = regular
        width = len(frame.columns)
        return _Table(frame, encoding, separator, pd.Series(np.arange(2, len(frame) + 2), dtype="int64"),
                      raw, text, np.full(len(frame), width, dtype=np.int64), signature=signature)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    try:
        rows = list(reader)
    except csv.Error as err:
        raise ExtractError(
            f"{path.name}: CSV illisible vers la ligne {reader.line_num} ({err}). Attendu : des valeurs "
            f"séparées par « {separator} », chaque guillemet ouvrant refermé."
        ) from err
    joined = pd.Series(list(map("\x1f".join, rows)), dtype="str")
    blank = (joined.str.replace("\x1f", "", regex=False).str.strip() == "").to_numpy(dtype=bool)
    # A quoted value may span lines: each row starts after the lines the previous ones took.
    spans = 1 + joined.str.count("\n").to_numpy(dtype=np.int64)
    starts = np.cumsum(spans) - spans + 1
    filled = np.flatnonzero(~blank)
    if not len(filled):
        raise ExtractError(f"{path.name}: fichier vide (aucune ligne d'en-tête, seulement des lignes blanches). "
                           f"Attendu : une ligne d'en-tête puis des lignes.")
    header_at = filled[0]
    names = [c.strip() for c in rows[header_at]]
    while names and not names[-1]:  # « A;B;C; »: a trailing separator is not a column
        names.pop()
    width = len(names)
    positions = filled[1:]
    body = [rows[i] for i in positions]
    counts = np.fromiter(map(len, body), dtype=np.int64, count=len(body))
    overflow: dict[int, str] = {}
    for i in np.flatnonzero(counts != width):  # the few broken lines only
        row = body[i]
        if len(row) > width:
            if "".join(row[width:]).strip():
                overflow[int(i)] = separator.join(row[width:])
            else:  # trailing empty fields: « 1;2;3;; » under a 3-column header
                counts[i] = width
            body[i] = row[:width]
        else:
            body[i] = row + [""] * (width - len(row))
    frame = pd.DataFrame(body, columns=_unique(names), dtype=object)
    signature = pd.Series(list(map("\x1f".join, body)), dtype="str")
    # Blank lines at the very end are how many exports finish: only those between rows are listed.
    blanks = [int(starts[i]) for i in np.flatnonzero(blank) if header_at < i < filled[-1]]
    return _Table(frame, encoding, separator, pd.Series(starts[positions], dtype="int64"), raw, text,
                  counts, overflow, blanks, signature)


def _read_table(path: Path) -> _Table:
    """Read a CSV/Parquet/XLSX into strings (a CSV's encoding detected from its bytes)."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise ExtractError(f"{path}: fichier introuvable.")
    if path.is_dir():
        raise ExtractError(f"{path}: c'est un dossier, pas un fichier.")
    if path.stat().st_size == 0:
        raise ExtractError(f"{path.name}: fichier vide (0 octet). Attendu : une ligne d'en-tête puis des lignes.")
    if suffix in (".parquet", ".xlsx"):
        try:
            if suffix == ".parquet":
                frame = pd.read_parquet(path).astype("string").fillna("")
            else:
                frame = pd.read_excel(path, dtype=str).fillna("")
        except Exception as err:  # noqa: BLE001 — any reader failure is an unreadable file, said plainly
            kind = "Parquet" if suffix == ".parquet" else "Excel (.xlsx)"
            raise ExtractError(f"{path.name}: fichier {kind} illisible ({type(err).__name__}: {err}). "
                               f"Attendu : un fichier {kind} valide, ou un CSV.") from err
        frame.columns = [str(c).strip() for c in frame.columns]
        blank = (frame.astype(str).apply(lambda s: s.str.strip()) == "").all(axis=1)
        lines = pd.Series(frame.index + 2, dtype="int64")  # spreadsheet row, after the header row
        blanks = lines[blank].tolist()
        keep = ~blank.to_numpy()
        return _Table(frame[keep].reset_index(drop=True), suffix[1:] if suffix == ".parquet" else "xlsx",
                      None, lines[keep].reset_index(drop=True), blank_lines=blanks)
    raw = path.read_bytes()
    text, encoding = _decode(path, raw)
    return _parse_csv(path, text, encoding, raw)


# --- Typing and checking -------------------------------------------------------------------------

def _cast(values: pd.Series, column: Column) -> tuple[pd.Series, pd.Series, str]:
    """Cast strings to the column's type; return (typed values, bad mask, expectation).

    Dates are returned as ``datetime64`` (comparable in bounds and rules); :func:`read_extract`
    hands them over as ``datetime.date``.
    """
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
        cleaned = text.str.replace(",", ".", regex=False)
        for space in (" ", "\u00a0", "\u202f"):  # literal replaces stay in Arrow (a regex would not)
            cleaned = cleaned.str.replace(space, "", regex=False)
        numeric = pd.to_numeric(cleaned, errors="coerce")
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
        return typed, ~empty & typed.isna(), "une date AAAA-MM-JJ ou JJ/MM/AAAA"
    if column.type == "bool":
        lower = text.str.lower()
        typed = pd.Series(pd.NA, index=values.index, dtype="boolean")
        typed[lower.isin(TRUE_VALUES).fillna(False)] = True
        typed[lower.isin(FALSE_VALUES).fillna(False)] = False
        return typed, ~empty & typed.isna(), "un booléen (O/N, 1/0, true/false)"
    raise ValueError(f"unknown column type {column.type!r} for {column.name}")


def _show_value(value: object) -> str:
    """A bound or a literal as a French reader writes it (0,01; 31/03/2021)."""
    if isinstance(value, bool):
        return "vrai" if value else "faux"
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)


def _enumerate(items: list[str], last: str) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {last} " + items[-1]


Part = str | pd.Series


class _Rejets:
    """The rejected rows of one file, gathered check by check (each check a vectorised mask)."""

    def __init__(self, fichier: str, lines: pd.Series) -> None:
        self.fichier = fichier
        self.lines = lines
        self.parts: list[pd.DataFrame] = []

    def add(self, mask: np.ndarray, colonne: str, valeur: Part | list[pd.Series], regle: str,
            *message: Part) -> None:
        """One rejet per row of ``mask``.

        The message is « <fichier>, ligne <N> » followed by the ``message`` parts, texts or series
        aligned on the file's rows; ``valeur`` is a text, a series, or series joined by « ; ». Only
        the masked rows are formatted: a clean file costs no string work.
        """
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        index = self.lines.index[mask]
        lines = self.lines.loc[index].astype(str)

        def text(parts: list[Part], sep: str = "") -> pd.Series:
            out = None
            for part in parts:
                piece = part.loc[index].astype(str) if isinstance(part, pd.Series) else pd.Series(part, index=index)
                out = piece if out is None else out + sep + piece
            return out if out is not None else pd.Series("", index=index)

        values = text(valeur if isinstance(valeur, list) else [valeur], " ; ")
        self.parts.append(pd.DataFrame({
            "fichier": self.fichier,
            "ligne": self.lines.loc[index].to_numpy(),
            "colonne": colonne,
            "valeur": values.to_numpy(),
            "regle": regle,
            "message": (f"{self.fichier}, ligne " + lines + text(list(message))).to_numpy(),
            "_row": index.to_numpy(),
        }))

    def rows(self) -> np.ndarray:
        """Positions of every rejected row."""
        if not self.parts:
            return np.array([], dtype=np.int64)
        return np.unique(np.concatenate([p["_row"].to_numpy() for p in self.parts]))

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(columns=REJET_COLUMNS)
        out = pd.concat(self.parts, ignore_index=True)
        return out.sort_values(["ligne", "colonne"], kind="stable")[REJET_COLUMNS].reset_index(drop=True)


def _shown(values: pd.Series) -> pd.Series:
    """Cells as a message shows them: « 4 », or « vide » for an empty cell."""
    text = values.astype(str)
    return ("= « " + text + " »").where(text.str.strip() != "", "vide")


def _as_mask(values: pd.Series | np.ndarray) -> np.ndarray:
    """A comparison result as a plain boolean array, NA (an empty cell) as False."""
    if isinstance(values, np.ndarray):
        return values.astype(bool)
    if values.dtype == bool:
        return values.to_numpy()
    return values.astype("boolean").fillna(False).to_numpy(dtype=bool)


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
        table.encoding = encoding
        return table, mapping
    new = _parse_csv(path, text, encoding, table.raw)
    new_mapping, missing = layout.match(list(new.frame.columns))
    if missing:  # the declared encoding garbles the header: trust detection
        return table, mapping
    return new, new_mapping


def _encoding_note(declared: str | None, used: str) -> str | None:
    """A French note when the bytes were not in the encoding the layout declares."""
    if used == "utf-8+cp1252":
        return ("encodage mixte : des lignes en UTF-8 et d'autres en Windows-1252 (exports concaténés ?) ; "
                "chaque caractère a été lu dans son encodage. Vérifiez les accents.")
    if used == "utf-8-sig":
        return "le fichier commence par une marque d'ordre des octets (BOM) UTF-8 : ignorée."
    if used == "utf-16":
        return "fichier en UTF-16 (export « texte Unicode ») : lu comme tel."
    if declared is None or used in ("parquet", "xlsx"):
        return None
    family = {"utf-8": "utf8", "utf-8-sig": "utf8", "cp1252": "single", "iso8859-1": "single",
              "iso8859-15": "single"}
    declared_name, used_name = codecs.lookup(declared).name, codecs.lookup(used).name
    if family.get(declared_name, declared_name) == family.get(used_name, used_name):
        return None
    name = ENCODING_NAMES.get(declared_name, declared)
    if family.get(used_name) == "utf8":
        return (f"la disposition déclare l'encodage {name}, mais le fichier est en UTF-8 valide "
                f"(ré-enregistré ?) : lu en UTF-8.")
    return (f"la disposition déclare l'encodage {name}, mais le fichier n'est pas de l'UTF-8 valide : "
            f"lu en {ENCODING_NAMES.get(used, used)} (accents d'un ancien export Windows).")


def read_extract(path: Path, spec: SourceSpec, communes: Collection[str] | None = None) -> ReadResult:
    """Read ``path`` with the layout of ``spec`` that matches its header; type and check every row.

    The layout's recodes turn export values into contract codes before typing; a value neither in
    the closed list nor recoded is a rejected row (never mapped to « autre »). Then, in order: the
    columns' ``min``/``max``, the ``[[rules]]``, the period of the file (from its name), the
    communes (``communes``, default :func:`epci_communes`), and duplicates (identical lines, then
    ``key``). A row breaking several checks has one rejet per check — except a truncated or too long
    line, whose fields cannot be trusted: it has that one rejet only. Duplicates are looked for among
    every well-formed row: the first occurrence is the one loaded (when it passes the other checks).
    """
    table = _read_table(path)
    layout, mapping = _pick_layout(path, spec, list(table.frame.columns))
    table, mapping = _with_declared_encoding(path, table, layout, mapping)
    frame = table.frame
    used = set(mapping.values())
    extra = [h for h in frame.columns if h not in used]
    notes = _file_notes(layout, table)

    rejets = _Rejets(path.name, table.lines)
    well_formed = _check_lines(rejets, table)
    typed = _type_columns(rejets, frame, spec, layout, mapping, well_formed)
    names = {column: mapping[column] for column in typed if column in mapping}
    _check_bounds(rejets, frame, spec, typed, names, well_formed)
    _check_rules(rejets, frame, spec, typed, names, well_formed)
    _check_period(rejets, path, frame, spec, typed, names, well_formed)
    _check_communes(rejets, frame, spec, typed, names, well_formed, communes)
    _check_duplicates(rejets, frame, spec, typed, names, well_formed, notes, table.signature)

    data = pd.DataFrame({name: (values.dt.date if values.dtype.kind == "M" else values)
                         for name, values in typed.items()})
    data["_LIGNE"] = table.lines.to_numpy(dtype="int64")
    keep = np.ones(len(frame), dtype=bool)
    keep[rejets.rows()] = False
    data = data.loc[keep].reset_index(drop=True)
    return ReadResult(path, layout.name, table.encoding, table.separator, len(frame), data,
                      rejets.frame(), extra, notes)


def _file_notes(layout: Layout, table: _Table) -> list[str]:
    """What the reader decided about the file as a whole (encoding, blank lines, no rows)."""
    notes = []
    if note := _encoding_note(layout.encoding, table.encoding):
        notes.append(note)
    if table.blank_lines:
        shown = ", ".join(map(str, table.blank_lines[:10])) + ("…" if len(table.blank_lines) > 10 else "")
        notes.append(f"{len(table.blank_lines)} ligne(s) vide(s) ignorée(s) (ligne(s) {shown}).")
    if table.frame.empty:
        notes.append("aucune ligne de données : le fichier n'a que sa ligne d'en-tête.")
    return notes


def _check_lines(rejets: _Rejets, table: _Table) -> np.ndarray:
    """Quarantine the CSV lines with fewer or more fields than the header; return the others' mask."""
    frame, fields = table.frame, table.fields
    well_formed = np.ones(len(frame), dtype=bool)
    if fields is None:
        return well_formed
    width = len(frame.columns)
    header = list(frame.columns)
    for i in np.flatnonzero(fields < width):  # rare: one rejet per broken line, worded one by one
        missing = header[fields[i]:]
        listed = ", ".join(missing[:5]) + (f" et {len(missing) - 5} autre(s)" if len(missing) > 5 else "")
        rejets.add(np.arange(len(frame)) == i, missing[0], f"{fields[i]} champ(s) sur {width}", "ligne_tronquee",
                   f" : {fields[i]} champ(s) au lieu de {width} — ligne tronquée ; manque : {listed}. "
                   f"Ligne non chargée : vérifiez que l'export est complet (fichier coupé ?).")
        well_formed[i] = False
    separator = table.separator
    decimal = ' ; une virgule décimale s\'écrit « "48,5" »' if separator == "," else ""
    for i, surplus in table.overflow.items():
        rejets.add(np.arange(len(frame)) == i, f"(après {header[-1]})", surplus, "ligne_trop_longue",
                   f" : {fields[i]} champs au lieu de {width} — ligne trop longue (en trop : « {surplus} »). "
                   f"Attendu : « {separator} » seulement entre les colonnes ; une valeur qui contient "
                   f"« {separator} » s'écrit entre guillemets{decimal}. Ligne non chargée.")
        well_formed[i] = False
    return well_formed


def _type_columns(rejets: _Rejets, frame: pd.DataFrame, spec: SourceSpec, layout: Layout,
                  mapping: dict[str, str], well_formed: np.ndarray) -> dict[str, pd.Series]:
    """Every contract column typed (absent ones empty); a value that does not type, or a code
    outside the closed list, is a rejet ``type`` / ``code_inconnu``."""
    typed: dict[str, pd.Series] = {}
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
        hint = ""
        if column.values is not None:
            hint = (f" Si c'est un code de l'export, ajoutez sa correspondance dans "
                    f"[recodes.{column.name}] de pipeline/sources/layouts/{spec.source}/{layout.name}.toml.")
        # The export's own value is shown, before any recode.
        rejets.add(_as_mask(bad) & well_formed, source_name, frame[source_name],
                   "type" if column.values is None else "code_inconnu",
                   f", colonne {source_name} : « ", frame[source_name], f" » n'est pas {expected}.{hint}")
    return typed


def _check_bounds(rejets: _Rejets, frame: pd.DataFrame, spec: SourceSpec, typed: dict[str, pd.Series],
                  names: dict[str, str], well_formed: np.ndarray) -> None:
    """The columns' inclusive ``min`` / ``max`` (rejets ``minimum`` / ``maximum``)."""
    for column in spec.columns:
        if column.name not in names:
            continue
        source_name = names[column.name]
        for limit, compare, regle, words in (
                (column.min, operator.lt, "minimum", "en dessous du minimum (attendu : au moins"),
                (column.max, operator.gt, "maximum", "au-dessus du maximum (attendu : au plus")):
            if limit is None:
                continue
            threshold = pd.Timestamp(limit) if column.type == "date" else limit
            out = _as_mask(compare(typed[column.name], threshold)) & well_formed
            rejets.add(out, source_name, frame[source_name], regle,
                       f", colonne {source_name} : « ", frame[source_name],
                       f" » est {words} {_show_value(limit)}).")


def _check_rules(rejets: _Rejets, frame: pd.DataFrame, spec: SourceSpec, typed: dict[str, pd.Series],
                 names: dict[str, str], well_formed: np.ndarray) -> None:
    """The ``[[rules]]``: one rejet named after the rule per row that breaks it."""
    for rule in spec.rules:
        if any(c not in names for c in rule.columns):
            continue  # a column the layout does not carry: nothing to compare
        violated = rule.violated(typed, frame.index) & well_formed
        if not violated.any():
            continue
        exports = [names[c] for c in rule.columns]
        message: list[Part] = [f", colonne{'s' if len(exports) > 1 else ''} "]
        for i, export in enumerate(exports):
            message += [f"{', ' if i else ''}{export} ", _shown(frame[export][violated])]
        message.append(f" : {rule.message}. Attendu : {rule.expected(names)}.")
        rejets.add(violated, " ; ".join(exports), [frame[e] for e in exports], rule.name, *message)


def _check_period(rejets: _Rejets, path: Path, frame: pd.DataFrame, spec: SourceSpec,
                  typed: dict[str, pd.Series], names: dict[str, str], well_formed: np.ndarray) -> None:
    """``period_columns`` inside the file's period, ``period_end_columns`` not after its end."""
    dated = [(c, True) for c in spec.period_columns] + [(c, False) for c in spec.period_end_columns]
    dated = [(c, inside) for c, inside in dated if c in names]
    if not dated:
        return
    start, end, label = period_bounds(path)
    for name, inside in dated:
        values = typed[name]
        out = _as_mask(values > pd.Timestamp(end))
        if inside:
            out = out | _as_mask(values < pd.Timestamp(start))
            text = (f" » est hors de la période du fichier ({label}, du {_show_value(start)} au "
                    f"{_show_value(end)}). Une ligne d'une autre période va dans le fichier de sa période.")
        else:
            text = (f" » est postérieure à la fin de la période du fichier (attendu : au plus tard le "
                    f"{_show_value(end)}, fin de {label}).")
        source_name = names[name]
        rejets.add(out & well_formed, source_name, frame[source_name], "hors_periode",
                   f", colonne {source_name} : « ", frame[source_name], text)


def _check_communes(rejets: _Rejets, frame: pd.DataFrame, spec: SourceSpec, typed: dict[str, pd.Series],
                    names: dict[str, str], well_formed: np.ndarray, communes: Collection[str] | None) -> None:
    """``commune_columns``: a filled code must be a commune of the EPCI (historical ones included)."""
    located = [c for c in spec.commune_columns if c in names]
    if not located:
        return
    known = list(epci_communes() if communes is None else communes)
    try:
        reference = COMMUNES_REF.relative_to(PROJECT_DIR)
    except ValueError:
        reference = COMMUNES_REF
    for name in located:
        values = typed[name]
        out = _as_mask(values.notna() & ~values.isin(known)) & well_formed
        source_name = names[name]
        rejets.add(out, source_name, frame[source_name], "commune_hors_epci",
                   f", colonne {source_name} : « ", frame[source_name],
                   f" » n'est pas une commune de l'EPCI (attendu : un code INSEE de {reference}, anciens "
                   f"codes compris). Si la commune a rejoint l'EPCI, ajoutez-la au référentiel.")


def _repeats(values: pd.DataFrame | pd.Series, considered: np.ndarray,
             lines: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(repeat of an earlier row, line of the first occurrence) among the ``considered`` rows.

    A frame is compared through a 64-bit hash of each row; a series (a line's text) as it is.
    """
    repeat = np.zeros(len(values), dtype=bool)
    first = pd.Series(0, index=lines.index, dtype="int64")
    if not considered.any():
        return repeat, first
    if isinstance(values, pd.DataFrame):
        compared = pd.Series(pd.util.hash_pandas_object(values.loc[considered], index=False).to_numpy())
    else:
        compared = values[considered].reset_index(drop=True)
    repeat[considered] = compared.duplicated(keep="first").to_numpy()
    first[considered] = lines[considered].groupby(compared.to_numpy()).transform("first").to_numpy()
    return repeat, first


def _check_duplicates(rejets: _Rejets, frame: pd.DataFrame, spec: SourceSpec, typed: dict[str, pd.Series],
                      names: dict[str, str], well_formed: np.ndarray, notes: list[str],
                      table_signature: pd.Series | None = None) -> None:
    """Quarantine every repeat of an earlier line: identical lines, then rows sharing the ``key``
    (compared on typed values: « 09/03/2021 » and « 2021-03-09 » are the same date)."""
    if frame.empty:
        return
    has_key = bool(spec.key) and all(c in names for c in spec.key)
    exports = [names.get(c, c) for c in spec.key]
    key_text = " × ".join(exports)
    colonne = " ; ".join(exports) if has_key else "(ligne entière)"
    valeur: Part | list[pd.Series] = [frame[e] for e in exports] if has_key else ""

    signature = frame if table_signature is None else table_signature
    identical, first = _repeats(signature, well_formed, rejets.lines)
    rejets.add(identical, colonne, valeur, "doublon", " : ligne identique à la ligne ", first,
               " (doublon exact). Seule la première occurrence est chargée.")
    if spec.key and not has_key:
        missing = [c for c in spec.key if c not in names]
        notes.append(f"pas de contrôle des doublons sur la clé {key_text} : colonne(s) {', '.join(missing)} "
                     f"absente(s) du fichier.")
    if not has_key:
        return
    keys = pd.DataFrame({c: typed[c] for c in spec.key})
    filled = keys.notna().all(axis=1).to_numpy() & well_formed & ~identical
    repeat, first = _repeats(keys, filled, rejets.lines)
    message: list[Part] = [f", colonne{'s' if len(exports) > 1 else ''} "]
    for i, export in enumerate(exports):
        message += [f"{', ' if i else ''}{export} = « ", frame[export], " »"]
    message += [" : doublon de la ligne ", first,
                f" (même {key_text}). Seule la première occurrence est chargée ; attendu : une seule "
                f"ligne par {key_text}."]
    rejets.add(repeat, colonne, valeur, "doublon", *message)
