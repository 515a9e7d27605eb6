"""The data contract compiled to SQL: every rule of a source checked by DuckDB, not row by row in Python.

:func:`compile_checks` turns a source's declarations (:mod:`pipeline.sources.contract`), the layout a
file follows and where its columns are, into

- one ``SELECT`` over the file's cells (``c0``, ``c1``… as read, strings) that types every contract
  column (``TRY_CAST``, both date forms, the boolean spellings, the layout's recodes) and evaluates
  every per-row check — a value that does not type, a code outside its closed list, a bound, a
  ``[[rules]]`` entry, the file's period, the EPCI's communes — into one list of flags per row,
  ``NULL`` for a row that breaks nothing (the cells of a flagged row are kept for its messages);
- for each check, the ``SELECT`` of its rejets (line, column, value, rule, French message);
- the two duplicate checks, by window over the typed rows: identical lines (a hash of the cells,
  confirmed on the values) and repeated keys (compared typed: « 09/03/2021 » is « 2021-03-09 »).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from pipeline.sources import messages
from pipeline.sources.contract import FALSE_VALUES, TRUE_VALUES, Column, Condition, Layout, Rule, SourceSpec
from pipeline.sources.messages import Cell, Part

SQL_TYPES = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "date": "DATE", "bool": "BOOLEAN"}
REJET_COLUMNS = ["fichier", "ligne", "colonne", "valeur", "regle", "message"]
#: Where the line number of a typed row is (see :func:`pipeline.sources.extract.read_extract`).
LINE = "_LIGNE"
_OPERATORS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=", "!=": "<>"}
#: What Python's ``str.strip()`` removes, as an RE2 class (DuckDB's ``trim`` with a set of characters
#: is two orders of magnitude slower).
_SPACE = r"[\s\pZ\x0b\x1c-\x1f\x85]"
#: Lists up to this length are written as a chain of comparisons, longer ones as ``IN``. DuckDB plans
#: an ``IN`` of constants as a MARK join with the list (its ``in_clause`` optimizer), which costs more
#: to plan than a small file costs to read: a monthly file of the SNE (400 rows, 20 lists of 5 to 14
#: codes) took 80 ms to type and check with ``IN``, 20 ms with chains. On 10 M rows a chain of 16 is
#: as fast as the join (0.16 s), of 32 slower (0.20 s against 0.17 s): an EPCI's communes keep the join.
CHAINED_LIST = 16


def quote(name: str) -> str:
    """A SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    """A SQL literal for a text, a number, a date or a boolean."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def member(value: str, items: list[str], negate: bool = False) -> str:
    """``value [NOT] IN (items)`` (SQL literals), with SQL's NULL logic: a chain of comparisons up to
    :data:`CHAINED_LIST` items, ``IN`` beyond (see there); ``IN (NULL)`` for an empty list."""
    if not items or len(items) > CHAINED_LIST:
        return f"{value} {'NOT ' if negate else ''}IN ({', '.join(items) or 'NULL'})"
    return "(" + (" AND " if negate else " OR ").join(f"{value} {'<>' if negate else '='} {i}" for i in items) + ")"


def text(parts: list[Part]) -> str:
    """A message as a SQL string expression: texts as literals, cells as their values (empty if NULL)."""
    return " || ".join(literal(p) if isinstance(p, str) else f"coalesce(CAST({p.sql} AS VARCHAR), '')"
                       for p in parts) or "''"


def has_line_break(cell: str) -> str:
    """Whether ``cell`` holds a line break: ``\\n``, ``\\r\\n`` or a lone ``\\r`` (a file with CR line ends)."""
    return f"(strpos({cell}, chr(10)) > 0 OR strpos({cell}, chr(13)) > 0)"


def line_breaks(cell: str) -> str:
    """The number of line breaks in ``cell`` (as :func:`has_line_break` reads them; NULL for NULL)."""
    return (f"(length(replace({cell}, chr(13) || chr(10), chr(10)))"
            f" - length(replace(replace({cell}, chr(13), ''), chr(10), '')))")


def one_line(cell: str) -> str:
    """``cell`` as a rejet shows it when ingesting a source that carries an identifier from a text file
    with quotes: a value over several lines is counted, not copied (:func:`messages.multiline_not_copied`)."""
    return (f"CASE WHEN {has_line_break(cell)} "
            f"THEN {text(messages.multiline_not_copied(Cell(f'{line_breaks(cell)} + 1')))} ELSE {cell} END")


def raw(position: int) -> str:
    """The cell as the file wrote it, in the typed table (kept for flagged rows only)."""
    return f"_bruts[{position + 1}]"


@dataclass(frozen=True)
class Check:
    """A per-row check: its flag (SQL over the typed row) and the rejet it gives."""

    flag: str
    colonne: str
    valeur: str  # SQL
    regle: str
    message: list[Part]


@dataclass
class Compiled:
    """The SQL of one file's checks (see the module docstring)."""

    columns: tuple[Column, ...]
    #: Contract column → position of its cell (``c<i>``) in the file.
    positions: dict[str, int]
    width: int
    checks: list[Check]
    layers: list[str]
    #: Contract key column → the SQL of its cell as written (for the messages of duplicates), or
    #: empty when the file lacks a key column.
    key_cells: dict[str, str]
    #: Whether the typed table has ``_nl``, the newlines inside each row's cells.
    counts_newlines: bool
    #: The columns whose cells the rejets show as their pseudonym, and the SQL of a pseudonym
    #: (:func:`compile_checks`' ``pseudonyme``).
    hidden: frozenset[str] = frozenset()
    pseudonyme: Callable[[str], str] | None = None

    def key_cell(self, column: str, alias: str) -> str:
        """The SQL of a key's cell in a row ``alias`` as a rejet shows it (a hidden column's pseudonym;
        when ingesting, another's value over several lines counted: :func:`one_line`)."""
        cell = f"{alias}.{self.key_cells[column]}"
        if self.pseudonyme is None:
            return cell
        if column in self.hidden:
            return self.pseudonyme(cell)
        return one_line(cell) if self.counts_newlines else cell

    def typed_select(self, source: str) -> str:
        """The ``SELECT`` typing and flagging the rows of ``source`` (columns ``c0``… and ``_ligne_connue``)."""
        sql = f"SELECT * FROM {source}"
        for layer in self.layers:
            sql = layer.replace("{source}", f"({sql})")
        return sql

    def rejets_select(self, rows: str, fichier: str, broken: Collection[int]) -> str:
        """The per-row rejets of ``rows`` (flagged rows of the typed table, with :data:`LINE`) for the
        checks ``broken`` (1-based: those some row breaks; the others are left out of the query)."""
        selects = []
        for index, check in enumerate(self.checks, start=1):
            if index not in broken:
                continue
            message = text([f"{fichier}, ligne ", Cell(LINE), *check.message])
            selects.append(f"SELECT {literal(fichier)} AS fichier, {LINE} AS ligne, {literal(check.colonne)} AS colonne, {check.valeur} AS valeur, "
                           f"{literal(check.regle)} AS regle, {message} AS message, {index + 1} AS _ordre "
                           f"FROM {rows} WHERE _defauts[{index}]")
        return " UNION ALL ".join(selects) if selects else ""


def strip(value: str) -> str:
    """``value`` without white space at its ends (a regular expression only where there is some)."""
    return (f"CASE WHEN regexp_matches({value}, '^{_SPACE}|{_SPACE}$') "
            f"THEN regexp_replace({value}, '^{_SPACE}+|{_SPACE}+$', '', 'g') ELSE {value} END")


def _value(position: int, trim: bool) -> str:
    cell = f"c{position}"
    return f"nullif({strip(cell)}, '')" if trim else f"nullif({cell}, '')"


def _recoded(value: str, recode: dict[str, str] | None) -> str:
    if not recode:
        return value
    cases = " ".join(f"WHEN {literal(k)} THEN {literal(v) if v else 'NULL'}" for k, v in recode.items())
    return f"(CASE {value} {cases} ELSE {value} END)"


def _number(value: str) -> str:
    """A number as French exports write it: decimal comma, thousands grouped with (narrow) spaces."""
    cleaned = f"replace(replace(replace(replace({value}, ',', '.'), ' ', ''), '\u00a0', ''), '\u202f', '')"
    return f"coalesce(TRY_CAST({value} AS DOUBLE), TRY_CAST({cleaned} AS DOUBLE))"


def _condition(cond: Condition) -> tuple[str, str]:
    """(holds, empty) of a condition, as SQL booleans never NULL."""
    columns = [quote(c) for c in cond.columns]
    empty = " OR ".join(f"{c} IS NULL" for c in columns) or "false"
    if cond.kind == "empty":
        return (f"({columns[0]} IS {'NOT ' if cond.negate else ''}NULL)", "false")
    if cond.kind == "in":
        holds = f"coalesce({member(columns[0], [literal(v) for v in cond.items], cond.negate)}, false)"
        return f"({holds} AND NOT ({empty}))", f"({empty})"

    def side(part: tuple[bool, object]) -> str:
        is_column, value = part
        return quote(str(value)) if is_column else literal(value)

    assert cond.right is not None
    holds = f"coalesce({side(cond.left)} {_OPERATORS[cond.op]} {side(cond.right)}, false)"
    return f"({holds} AND NOT ({empty}))", f"({empty})"


def rule_flag(rule: Rule) -> str:
    """Rows where ``when`` holds and a ``check`` condition fails (an empty cell only if ``reject_empty``)."""
    applies = " AND ".join(_condition(c)[0] for c in rule.when) or "true"
    failures = []
    for cond in rule.check:
        holds, empty = _condition(cond)
        failures.append(f"(NOT {holds}{'' if rule.reject_empty else f' AND NOT {empty}'})")
    return f"(({applies}) AND ({' OR '.join(failures)}))"


def compile_checks(spec: SourceSpec, layout: Layout, mapping: dict[str, str], names: list[str], *, trim: bool,
                   fichier_period: tuple[dt.date, dt.date, str] | None, communes: list[str],
                   communes_reference: str, count_newlines: bool,
                   pseudonyme: Callable[[str], str] | None = None) -> Compiled:
    """The SQL checking a file whose header is ``names`` and whose layout maps ``mapping``.

    ``trim``: cells may carry white space at their ends (else they are used as read, which is much
    faster); ``count_newlines``: cells may hold newlines (a quoted value over several lines).
    ``pseudonyme``: when ingesting, the SQL of the pseudonym of an expression — the rejets then show
    the cells of the source's ``pseudonymise`` columns as their pseudonyms (the value stored in
    ``raw``), never as written: the quarantine is kept in the warehouse and in ``var/``.
    """
    positions = {column: names.index(header) for column, header in mapping.items()}
    export = mapping  # contract column → the export's own name, as messages show it
    by_name = {c.name: c for c in spec.columns}
    width = len(names)
    cells = [f"c{i}" for i in range(width)]
    first: list[str] = []  # layer 1 (see the end): cells recoded and parsed
    second: list[str] = []  # layer 2: the typed columns
    parsed: list[str] = []  # what layer 1 parsed that the type checks of layer 3 need
    checks: list[Check] = []
    if spec.pseudonymise and count_newlines:
        # A source that carries an identifier has no column of text over several lines (an address may
        # span lines, but it is dropped, never loaded): a row whose contract cells hold line breaks
        # is lines a stray quote joined (an identifier in another column): refused whole, its values
        # not copied (``shown_cells`` below).
        joined = " OR ".join(has_line_break(f"c{positions[c.name]}") for c in spec.columns if c.name in positions)
        checks.append(Check(f"coalesce({joined or 'false'}, false)", "(ligne entière)", "'sur ' || (_nl + 1) || ' lignes'",
                            "lignes_jointes", messages.joined_lines(Cell(LINE), Cell(f"{LINE} + _nl"))))
    for column in spec.columns:
        name = quote(column.name)
        if column.name not in positions:
            second.append(f"CAST(NULL AS {SQL_TYPES[column.type]}) AS {name}")
            continue
        i = positions[column.name]
        value = _recoded(f"_v{i}", layout.recodes.get(column.name))
        cell = Cell(raw(i))
        if column.type == "str":
            first.append(f"{value} AS {name}")
            second.append(name)
            if column.values is not None:
                hint = messages.recode_hint(column.name, spec.source, layout.name)
                checks.append(Check(f"({name} IS NOT NULL AND {member(name, [literal(v) for v in column.values], True)})",
                                    export[column.name], f"coalesce({raw(i)}, '')", "code_inconnu",
                                    messages.not_typed(export[column.name], cell, messages.code_list(column.values), hint)))
            continue
        filled = f"_p{i}"
        first.append(f"({value}) IS NOT NULL AS {filled}")
        parsed.append(filled)
        if column.type in ("int", "float"):
            first.append(f"{_number(value)} AS _n{i}")
            parsed.append(f"_n{i}")
            bad = f"(_n{i} IS NULL OR isnan(_n{i}))"
            if column.type == "int":
                bad = f"({bad} OR fmod(_n{i}, 1) <> 0 OR TRY_CAST(_n{i} AS BIGINT) IS NULL)"
                second.append(f"TRY_CAST(_n{i} AS BIGINT) AS {name}")
            else:
                second.append(f"_n{i} AS {name}")
            checks.append(Check(f"({filled} AND {bad})", export[column.name], f"coalesce({raw(i)}, '')", "type",
                                messages.not_typed(export[column.name], cell, messages.EXPECTED[column.type], "")))
            continue
        if column.type == "date":
            first.append(f"CAST(coalesce(try_strptime({value}, '%Y-%m-%d'), try_strptime({value}, '%d/%m/%Y')) AS DATE)"
                         f" AS {name}")
        else:  # bool
            lowered = f"lower({value})"
            truthy = member(lowered, [literal(v) for v in TRUE_VALUES])
            falsy = member(lowered, [literal(v) for v in FALSE_VALUES])
            first.append(f"(CASE WHEN {truthy} THEN true WHEN {falsy} THEN false END) AS {name}")
        second.append(name)
        checks.append(Check(f"({filled} AND {name} IS NULL)", export[column.name], f"coalesce({raw(i)}, '')", "type",
                            messages.not_typed(export[column.name], cell, messages.EXPECTED[column.type], "")))

    # The checks on typed values, in the order the rejets of one line are listed.
    for column in spec.columns:
        if column.name not in positions:
            continue
        i = positions[column.name]
        for limit, minimum in ((column.min, True), (column.max, False)):
            if limit is None:
                continue
            checks.append(Check(f"({quote(column.name)} {'<' if minimum else '>'} {literal(limit)})",
                                export[column.name], f"coalesce({raw(i)}, '')", "minimum" if minimum else "maximum",
                                messages.out_of_bounds(export[column.name], Cell(raw(i)), minimum, limit)))
    names_by_column = {c: export[c] for c in positions}
    nothing = "''"
    for rule in spec.rules:
        if any(c not in positions for c in rule.columns):
            continue  # a column the layout does not carry: nothing to compare
        exports = [export[c] for c in rule.columns]
        raws = [raw(positions[c]) for c in rule.columns]
        shown = [Cell(f"CASE WHEN {strip(f'coalesce({r}, {nothing})')} <> '' THEN '= « ' || {r} || ' »' ELSE 'vide' END")
                 for r in raws]
        checks.append(Check(rule_flag(rule), " ; ".join(exports),
                            " || ' ; ' || ".join(f"coalesce({r}, '')" for r in raws), rule.name,
                            messages.rule_broken(exports, shown, rule.message, rule.expected(names_by_column))))
    dated = [(c, True) for c in spec.period_columns] + [(c, False) for c in spec.period_end_columns]
    for column, inside in ((c, inside) for c, inside in dated if c in positions):
        assert fichier_period is not None
        start, end, label = fichier_period
        flag = f"{quote(column)} > {literal(end)}" + (f" OR {quote(column)} < {literal(start)}" if inside else "")
        i = positions[column]
        checks.append(Check(f"coalesce({flag}, false)", export[column], f"coalesce({raw(i)}, '')", "hors_periode",
                            messages.outside_period(export[column], Cell(raw(i)), inside, start, end, label)))
    for column in (c for c in spec.commune_columns if c in positions):
        i = positions[column]
        known = member(quote(column), [literal(c) for c in sorted(communes)], True)
        checks.append(Check(f"({quote(column)} IS NOT NULL AND {known})", export[column],
                            f"coalesce({raw(i)}, '')", "commune_hors_epci",
                            messages.outside_epci(export[column], Cell(raw(i)), communes_reference)))

    # The columns the rejets show as their pseudonym (of the typed value, as raw stores it).
    hidden = frozenset(c for c in spec.pseudonymise if c in positions) if pseudonyme else frozenset()
    # The cells of a key, as written, for the messages of duplicates: a text read as is is its own
    # typed value; others (a date, a stripped text) are kept beside it — but a hidden column's
    # (its pseudonym is of the typed value: no copy as written is kept).
    key_cells: dict[str, str] = {}
    kept_cells: list[str] = []
    if all(c in positions for c in spec.key):
        for column in spec.key:
            if column in hidden or (by_name[column].type == "str" and not trim and not layout.recodes.get(column)):
                key_cells[column] = quote(column)
            else:
                key_cells[column] = f"_k{positions[column]}"
                kept_cells.append(f"c{positions[column]} AS _k{positions[column]}")

    # the cells a flagged row keeps for its rejets: a hidden column's as its pseudonym; when ingesting a
    # source with an identifier, a value over several lines counted (the lines a stray quote joined
    # can hold another row's identifier, in any column; a file without quotes has no such value, and a
    # workbook's cell over several lines joins no rows)
    shown_cells = [one_line(c) for c in cells] if pseudonyme and count_newlines else list(cells)
    for column in hidden:
        shown_cells[positions[column]] = pseudonyme(quote(column))
    flags = [f"({c.flag})" for c in checks]
    flag_names = [f"_f{k}" for k in range(len(flags))]
    typed = ", ".join(quote(c.name) for c in spec.columns)
    meta = ", ".join(cells) + ", _ligne_connue, _h, _vide" + (", _nl" if count_newlines else "")
    newlines = " + ".join(f"coalesce({line_breaks(c)}, 0)" for c in cells)
    layers = [
        # 0. each cell as a value: NULL when empty, stripped when the file needs it; the row's hash
        "SELECT " + ", ".join([*cells, "_ligne_connue", f"hash({', '.join(cells)}) AS _h",
                               *(f"{_value(i, trim)} AS _v{i}" for i in range(width)),
                               *([f"{newlines} AS _nl"] if count_newlines else [])]) + " FROM {source}",
        # 1. recoded and parsed; a row of empty cells is a blank line
        f"SELECT {_list(first)}{', '.join(cells)}, _ligne_connue, _h, "
        f"coalesce({', '.join(f'_v{i}' for i in range(width))}) IS NULL AS _vide"
        f"{', _nl' if count_newlines else ''} FROM {{source}}",
        # 2. the contract's typed columns
        f"SELECT {', '.join(second)}, {_list(parsed)}{meta} FROM {{source}}",
        # 3. every per-row check
        f"SELECT {typed}, {_list(parsed)}{meta}, {_list(f'{f} AS {n}' for f, n in zip(flags, flag_names))}"
        f"{' OR '.join(flag_names) or 'false'} AS _signale FROM {{source}}",
        # 4. the flags as one list, NULL for a clean row; the cells of a flagged row; the key's cells
        f"SELECT {typed}, {_list(kept_cells)}_ligne_connue, _h, _vide{', _nl' if count_newlines else ''}, "
        + (f"CASE WHEN _signale THEN [{', '.join(flag_names)}] END" if flags else "CAST(NULL AS BOOLEAN[])")
        + f" AS _defauts, CASE WHEN _signale THEN [{', '.join(shown_cells)}] END AS _bruts FROM {{source}}",
    ]
    return Compiled(spec.columns, positions, width, checks, layers, key_cells, count_newlines, hidden, pseudonyme)


def _list(items) -> str:
    """Comma-separated items followed by a comma, or nothing."""
    items = list(items)
    return ", ".join(items) + ", " if items else ""


def identical_lines(rows: str, compiled: Compiled) -> str:
    """``SELECT`` (ligne, premiere) of every row identical to an earlier one (same cells).

    Candidates share the hash of their cells; they are confirmed on every typed value.
    """
    values = ", ".join(f"r.{quote(c.name)}" for c in compiled.columns)
    firsts = ", ".join(f"f.{quote(c.name)}" for c in compiled.columns)
    return f"""
        WITH groupes AS (SELECT _h, min({LINE}) AS premiere FROM {rows} GROUP BY _h HAVING count(*) > 1)
        SELECT r.{LINE} AS ligne, g.premiere
        FROM {rows} r JOIN groupes g ON r._h = g._h AND r.{LINE} > g.premiere
        JOIN {rows} f ON f.{LINE} = g.premiere
        WHERE ({values}) IS NOT DISTINCT FROM ({firsts})"""


def repeated_keys(rows: str, keys: list[str], identical: str) -> str:
    """``SELECT`` (ligne, premiere) of every row whose (filled) key an earlier row has, identical lines
    apart (``identical``: a table of their ``ligne``)."""
    columns = ", ".join(quote(k) for k in keys)
    filled = " AND ".join(f"{quote(k)} IS NOT NULL" for k in keys)
    on = " AND ".join(f"r.{quote(k)} = g.{quote(k)}" for k in keys)
    return f"""
        WITH candidats AS (SELECT * FROM {rows} WHERE {filled} AND {LINE} NOT IN (SELECT ligne FROM {identical})),
        groupes AS (SELECT {columns}, min({LINE}) AS premiere FROM candidats GROUP BY {columns} HAVING count(*) > 1)
        SELECT r.{LINE} AS ligne, g.premiere FROM candidats r JOIN groupes g ON {on} AND r.{LINE} > g.premiere"""


def duplicate_rejets(rows: str, pairs: str, fichier: str, colonne: str, valeur: str, tail: list[Part],
                     ordre: int) -> str:
    """The rejets of the duplicate pairs ``pairs`` (ligne, premiere) of ``rows``."""
    message = text([f"{fichier}, ligne ", Cell(f"r.{LINE}"), *tail])
    return (f"SELECT {literal(fichier)} AS fichier, r.{LINE} AS ligne, {literal(colonne)} AS colonne, {valeur} AS valeur, 'doublon' AS regle, "
            f"{message} AS message, {ordre} AS _ordre FROM {rows} r JOIN {pairs} p ON p.ligne = r.{LINE}")


def reference(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
