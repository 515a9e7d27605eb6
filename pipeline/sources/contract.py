"""The data contract of a source, as its layout folder declares it: columns, layouts, checks, rules.

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
dropped file belongs to. Everything here is a declaration, read and checked once when a source is
loaded: what it means for the rows of a file is compiled to SQL by :mod:`pipeline.sources.sql` and
worded in French by :mod:`pipeline.sources.messages`.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.fichiers_lus import selon_etat
from pipeline.settings import DBT_PROJECT_DIR
from pipeline.sources.messages import enumerate_fr, show_value

LAYOUTS_DIR = Path(__file__).resolve().parent / "layouts"
#: The EPCI's communes, current and historical (COG history): what ``commune_columns`` accept.
COMMUNES_REF = DBT_PROJECT_DIR / "seeds" / "ref_communes.csv"
PERIOD_RE = re.compile(r"_(?P<annee>\d{4})(?:-(?P<mois>\d{2}))?\.(?:csv|txt|parquet|xlsx)$", re.IGNORECASE)
TRUE_VALUES = ("o", "oui", "1", "true", "vrai", "y", "yes")
FALSE_VALUES = ("n", "non", "0", "false", "faux", "no")
#: The rule names the reader itself uses; a ``[[rules]]`` entry may not take one.
BUILTIN_RULES = frozenset({"type", "code_inconnu", "minimum", "maximum", "ligne_tronquee", "ligne_trop_longue",
                           "hors_periode", "commune_hors_epci", "doublon"})
MOIS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
        "novembre", "décembre")


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
            return names.get(str(value), str(value)) if is_column else show_value(value)

        if self.kind == "empty":
            return f"{show(self.left)} {'renseigné' if self.negate else 'vide'}"
        if self.kind == "in":
            listed = enumerate_fr([show_value(v) for v in self.items], "ou")
            return f"{show(self.left)} {'n’est pas' if self.negate else 'est'} {listed}"
        assert self.right is not None
        return f"{show(self.left)} {_SYMBOLS[self.op]} {show(self.right)}"


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
        if not_text := sorted(c for c in pseudonymise if by_name[c].type != "str"):
            raise ValueError(f"{schema_path}: pseudonymise {not_text} must be of type str (the keyed hash "
                             f"is computed on the text)")
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


#: The sources read from a layouts folder, per state of its contract files (:func:`all_sources`).
_SOURCES: dict[tuple, tuple[SourceSpec, ...]] = {}


def all_sources(layouts_dir: Path = LAYOUTS_DIR) -> list[SourceSpec]:
    """Every source with a ``schema.toml`` in a folder of ``layouts_dir``, sorted by name.

    Two sources claiming the same ``<folder>/<prefix>`` are a configuration error: a dropped file
    would belong to both.

    The contract files are read once per process and state of the files (their paths, sizes and
    modification times are the key: a layout added or edited while ``dagster dev`` runs is read
    again): reading the 40-odd TOML files takes ≈ 0.1 s, and a caller may ask for every file it sees
    (the sensor, the status, the benchmarks).
    """
    def lire() -> tuple[SourceSpec, ...]:
        specs = [SourceSpec.load(d.name, layouts_dir)
                 for d in sorted(layouts_dir.iterdir()) if (d / "schema.toml").is_file()]
        seen: dict[tuple[str, str], str] = {}
        for spec in specs:
            key = (spec.folder, spec.prefix)
            if key in seen:
                raise ValueError(f"{layouts_dir}: sources {seen[key]!r} and {spec.source!r} both claim "
                                 f"{spec.folder}/{spec.prefix}_*")
            seen[key] = spec.source
        return tuple(specs)

    return list(selon_etat(_SOURCES, layouts_dir.glob("*/*.toml"), lire))


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
