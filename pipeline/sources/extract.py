"""Reading one extract into DuckDB — and saying exactly what happened to every row.

What a source declares is in :mod:`pipeline.sources.contract` (the layout folders and their rule
language); the concerns of reading a file are one module each:

- :mod:`pipeline.sources.decoding` — the bytes: encoding, header line, blank lines (one streaming
  pass; a Windows-1252 or UTF-16 file transcoded to UTF-8 chunk by chunk);
- :mod:`pipeline.sources.matching` — which layout the header follows;
- :mod:`pipeline.sources.sql` — the contract compiled to SQL: types, closed lists, bounds, rules,
  period, communes, duplicates, all checked by DuckDB;
- :mod:`pipeline.sources.messages` — every French message.

This module puts them together. A CSV is read by DuckDB's ``read_csv`` (streaming, multi-threaded,
every cell a string) straight into a typed, checked temporary table; the lines ``read_csv`` cannot
split into the header's fields land in its rejects table and become the rejets ``ligne_tronquee`` /
``ligne_trop_longue``. A row is not loaded — it is a *rejet* (file, line, column, value, rule,
message: one per broken rule) for the quarantine — when its line is truncated or too long, a value
cannot be typed, a code is outside the closed list (after the layout's recodes), a bound or a rule
is broken, a date falls outside the file's period, a commune is outside the EPCI, or it repeats an
earlier row. A file that cannot be read at all raises :class:`ExtractError` with a message naming
the file and what was expected. Nothing is held in Python per row: a national RPLS file (5 million
dwellings) reads in bounded memory.
"""

from __future__ import annotations

import csv
import io
import tempfile
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from pipeline.settings import PROJECT_DIR, duckdb_config
from pipeline.warehouse import quiet
from pipeline.sources import messages, sql
from pipeline.sources.contract import (  # noqa: F401 — the public names of the reader
    COMMUNES_REF,
    LAYOUTS_DIR,
    PERIOD_RE,
    Column,
    ExtractError,
    Layout,
    SourceSpec,
    all_sources,
    epci_communes,
    period_bounds,
    period_of,
    source_for_file,
)
from pipeline.sources.decoding import Scan, inspect, readable, scan_encoding
from pipeline.sources.matching import Matched, extra_columns, is_blank_line, match_csv, pick_layout
from pipeline.sources.messages import ENCODING_NAMES, Cell  # noqa: F401
from pipeline.sources.pseudonymise import hmac_sql
from pipeline.sources.sql import LINE, REJET_COLUMNS, Compiled, compile_checks, quote

#: Beyond this many skipped lines (blank, broken), line numbers are computed by a join, not inlined.
INLINE_SKIPS = 64
#: Rows per batch when a CSV is read by Python's csv module (the rare files DuckDB cannot number).
BATCH = 100_000


@dataclass
class ReadResult:
    """An extract read into the contract's columns, and what happened on the way.

    The rows stay in DuckDB (temporary tables of ``connection``): :attr:`data` and :attr:`rejets`
    fetch them as pandas frames; the ingestion loads them with :meth:`kept_sql` and
    :meth:`rejets_sql` without going through Python. :meth:`close` drops the tables.
    """

    path: Path
    layout: str
    encoding: str
    separator: str | None
    rows_read: int
    rows_kept: int
    extra_columns: list[str]
    #: What the reader decided about the file as a whole, in French (encoding other than declared,
    #: blank lines skipped, no data row, no duplicate check…); empty when there is nothing to say.
    notes: list[str]
    #: The first messages of the rejets (what a run's summary shows; kept after :meth:`close`).
    first_messages: list[str]
    connection: duckdb.DuckDBPyConnection = field(repr=False)
    columns: tuple[Column, ...] = field(repr=False)
    _rows: str = field(repr=False)
    _rejets: str = field(repr=False)
    #: The temporary tables behind ``_rows`` (a view).
    _tables: tuple[str, ...] = field(repr=False, default=())

    @property
    def rows_rejected(self) -> int:
        return self.rows_read - self.rows_kept

    def kept_sql(self, expressions: dict[str, str] | None = None) -> str:
        """``SELECT`` of the kept rows (contract columns, then ``_LIGNE``); ``expressions`` replaces
        a column by a SQL expression of it (the pseudonymisation)."""
        expressions = expressions or {}
        if unknown := set(expressions) - {c.name for c in self.columns}:
            raise ValueError(f"kept_sql : {sorted(unknown)} ne sont pas des colonnes du contrat")
        columns = ", ".join(f"{expressions[c.name]} AS {quote(c.name)}" if c.name in expressions else quote(c.name)
                            for c in self.columns)
        return (f"SELECT {columns}, {LINE} FROM {self._rows} "
                f"WHERE {LINE} NOT IN (SELECT ligne FROM {self._rejets})")

    def rejets_sql(self) -> str:
        """``SELECT`` of the rejets (fichier, ligne, colonne, valeur, regle, message), in file order."""
        return f"SELECT {', '.join(REJET_COLUMNS)} FROM {self._rejets} ORDER BY ligne, colonne, _ordre"

    @property
    def data(self) -> pd.DataFrame:
        """The kept rows, typed (nullable pandas types; dates as ``datetime.date``), in file order."""
        frame = self.connection.execute(f"{self.kept_sql()} ORDER BY {LINE}").df()
        for column in self.columns:
            values = frame[column.name]
            if column.type == "date":
                frame[column.name] = pd.to_datetime(values).dt.date
            else:
                frame[column.name] = values.astype({"str": "string", "int": "Int64", "float": "Float64",
                                                    "bool": "boolean"}[column.type])
        frame[LINE] = frame[LINE].astype("int64")
        return frame

    @property
    def rejets(self) -> pd.DataFrame:
        """One row per broken rule: fichier, ligne, colonne, valeur, regle, message."""
        frame = self.connection.execute(self.rejets_sql()).df()
        return frame.astype({"ligne": "int64"}) if len(frame) else pd.DataFrame(columns=REJET_COLUMNS)

    def rejets_count(self) -> int:
        """How many rejets (one per broken rule of a row)."""
        return self.connection.execute(f"SELECT count(*) FROM {self._rejets}").fetchone()[0]

    def messages(self, limit: int) -> list[str]:
        """The first ``limit`` messages, in file order."""
        return [m for (m,) in self.connection.execute(
            f"SELECT message FROM ({self.rejets_sql()}) LIMIT {int(limit)}").fetchall()]

    def close(self) -> None:
        """Drop the temporary tables of this read."""
        self.connection.execute(f"DROP VIEW IF EXISTS {self._rows}")
        for table in (self._rejets, *self._tables):
            self.connection.execute(f"DROP TABLE IF EXISTS {table}")


def read_extract(path: Path, spec: SourceSpec, communes: Collection[str] | None = None,
                 connection: duckdb.DuckDBPyConnection | None = None, key: bytes | None = None) -> ReadResult:
    """Read ``path`` with the layout of ``spec`` that matches its header; type and check every row.

    The layout's recodes turn export values into contract codes before typing; a value neither in
    the closed list nor recoded is a rejected row (never mapped to « autre »). Then, in order: the
    columns' ``min``/``max``, the ``[[rules]]``, the period of the file (from its name), the
    communes (``communes``, default :func:`epci_communes`), and duplicates (identical lines, then
    ``key``). A row breaking several checks has one rejet per check — except a truncated or too long
    line, whose fields cannot be trusted: it has that one rejet only. Duplicates are looked for among
    every well-formed row: the first occurrence is the one loaded (when it passes the other checks).

    The rows are read into temporary tables of ``connection`` (the warehouse's, when ingesting; a
    private in-memory database otherwise). ``key``, when ingesting: the rejets show the cells of the
    source's ``pseudonymise`` columns as their pseudonyms (what ``raw`` stores), so that the
    quarantine — kept in the warehouse and in ``var/`` — holds no identifier in clear; without it (a
    dry run, ``observatoire validate``) as the file wrote them.
    """
    if connection is None:
        connection = quiet(duckdb.connect(config=duckdb_config()))
    reading = _Reading(path, spec, connection, communes, key)
    with tempfile.TemporaryDirectory(prefix="observatoire_lecture_") as workdir:
        if path.suffix.lower() in (".parquet", ".xlsx"):
            reading.workbook()
        else:
            reading.csv(Path(workdir))
    return reading.finish()


@dataclass
class _Broken:
    """A line that could not be split into the header's fields."""

    line: int
    fields: list[str]


class _Reading:
    """The state of one read: where the rows are, what was skipped, what to say."""

    def __init__(self, path: Path, spec: SourceSpec, connection: duckdb.DuckDBPyConnection,
                 communes: Collection[str] | None, key: bytes | None = None) -> None:
        self.path, self.spec, self.connection = path, spec, connection
        self.communes = communes
        #: The SQL of a pseudonym, when the rejets must not show the pseudonymised columns in clear.
        self.pseudonyme = (lambda value: hmac_sql(value, key)) if key is not None and spec.pseudonymise else None
        self.prefix = f"_lecture_{uuid.uuid4().hex[:12]}"
        self.typed = f"{self.prefix}_typees"
        self.rows = f"{self.prefix}_lignes"
        self.rejets = f"{self.prefix}_rejets"
        self.encoding = ""
        self.separator: str | None = None
        self.layout: Layout | None = None
        self.names: list[str] = []
        self.mapping: dict[str, str] = {}
        self.broken: list[_Broken] = []
        self.blank_lines: list[int] = []
        self.list_every_blank = False  # spreadsheets list trailing blank rows too
        self.line_expression = "_ligne_connue"
        self.compiled: Compiled | None = None

    @property
    def masked(self) -> bool:
        """Whether what belongs to no column (a refused header, a line's extra fields) is counted, not
        copied: when the rejets hide the pseudonymised columns."""
        return self.pseudonyme is not None

    # --- the cells of the file, in a typed table ------------------------------------------------

    def _compile(self, trim: bool, count_newlines: bool) -> Compiled:
        assert self.layout is not None
        dated = self.spec.period_columns + self.spec.period_end_columns
        period = period_bounds(self.path) if any(c in self.mapping for c in dated) else None
        communes = self.communes
        if communes is None and any(c in self.mapping for c in self.spec.commune_columns):
            communes = epci_communes()
        self.compiled = compile_checks(
            self.spec, self.layout, self.mapping, self.names, trim=trim, fichier_period=period,
            communes=sorted(communes or ()), communes_reference=sql.reference(COMMUNES_REF, PROJECT_DIR),
            count_newlines=count_newlines, pseudonyme=self.pseudonyme)
        return self.compiled

    def _create_typed(self, source: str) -> None:
        assert self.compiled is not None
        self.connection.execute(f"CREATE OR REPLACE TEMP TABLE {self.typed} AS {self.compiled.typed_select(source)}")

    def _insert_typed(self, frame: pa.Table) -> None:
        """Type and check rows whose line is known (Arrow table ``c0``… ``_ligne_connue``)."""
        assert self.compiled is not None
        name = f"{self.prefix}_arrivee"
        self.connection.register(name, frame)
        try:
            self.connection.execute(f"INSERT INTO {self.typed} {self.compiled.typed_select(name)}")
        finally:
            self.connection.unregister(name)

    def _cells(self, rows: list[list[str]], lines: list[int]) -> pa.Table:
        width = len(self.names)
        columns = {f"c{i}": pa.array([r[i] if r[i] != "" else None for r in rows], pa.string()) for i in range(width)}
        columns["_ligne_connue"] = pa.array(lines, pa.int64())
        return pa.table(columns)

    def workbook(self) -> None:
        """A Parquet file or an XLSX workbook: every cell as text, rows numbered as a spreadsheet does."""
        suffix = self.path.suffix.lower()
        if not self.path.exists():
            raise ExtractError(messages.not_found(self.path))
        if self.path.stat().st_size == 0:
            raise ExtractError(messages.empty_file(self.path.name))
        try:
            if suffix == ".parquet":
                relation = self.connection.sql("SELECT * FROM read_parquet(?, file_row_number = true)",
                                               params=[str(self.path)])
                names = [n for n in relation.columns if n != "file_row_number"]
                source = (f"(SELECT {', '.join(f'CAST({quote(n)} AS VARCHAR) AS c{i}' for i, n in enumerate(names))}, "
                          f"file_row_number + 2 AS _ligne_connue "
                          f"FROM read_parquet({sql.literal(str(self.path))}, file_row_number = true))")
                frame = None
            else:
                frame = pd.read_excel(self.path, dtype=str).fillna("")
                names = [str(c) for c in frame.columns]
        except Exception as err:  # noqa: BLE001 — any reader failure is an unreadable file, said plainly
            raise ExtractError(messages.unreadable_workbook(self.path.name, suffix, err)) from err
        self.encoding = suffix[1:] if suffix == ".parquet" else "xlsx"
        self.names = [n.strip() for n in names]
        self.layout, self.mapping = pick_layout(self.path, self.spec, self.names, self.masked)
        self.list_every_blank = True
        self._compile(trim=True, count_newlines=False)
        if frame is None:
            self._create_typed(source)
        else:
            self._create_typed(f"(SELECT * FROM {self._empty_cells()} LIMIT 0)")
            rows = frame.astype(str).values.tolist()
            self._insert_typed(self._cells(rows, list(range(2, len(rows) + 2))))

    def _empty_cells(self) -> str:
        cells = ", ".join(f"CAST(NULL AS VARCHAR) AS c{i}" for i in range(len(self.names)))
        return f"(SELECT {cells}, CAST(NULL AS BIGINT) AS _ligne_connue)"

    def csv(self, workdir: Path) -> None:
        """A CSV: DuckDB's ``read_csv``, or Python's csv module for the files DuckDB cannot number.

        A file that is not ASCII is first read as UTF-8, which ``read_csv`` checks as it goes; only
        when it is not (lines rejected as « INVALID ENCODING ») are its bytes looked at to choose its
        encoding (:func:`pipeline.sources.decoding.choose_encoding`), and it is read again in that one.
        """
        found, utf16_copy = inspect(self.path, workdir)
        text_file = utf16_copy or self.path
        assumed = found.utf8 is None and not found.ascii
        if assumed:
            found.utf8 = True
        try:
            matched = match_csv(self.path, self.spec, found, text_file, self.masked)
        except UnicodeDecodeError:  # the header itself is not UTF-8
            matched, assumed = match_csv(self.path, self.spec, scan_encoding(self.path, found), text_file, self.masked), False
        source = self._readable(found, matched, text_file, utf16_copy, workdir)
        outcome = self._duckdb_csv(*source, found, matched)
        if outcome == "encodage" and assumed:
            matched = match_csv(self.path, self.spec, scan_encoding(self.path, found), text_file, self.masked)
            source = self._readable(found, matched, text_file, utf16_copy, workdir)
            outcome = self._duckdb_csv(*source, found, matched)
        if outcome != "lu":
            self._python_csv(*source, matched)

    def _readable(self, found: Scan, matched: Matched, text_file: Path, utf16_copy: Path | None,
                  workdir: Path) -> tuple[Path, str]:
        self.layout, self.mapping, self.names = matched.layout, matched.mapping, matched.names
        self.encoding, self.separator = matched.encoding, matched.header.separator
        if utf16_copy is not None:
            return text_file, "utf-8"
        return readable(self.path, matched.encoding, found, workdir)

    def _duckdb_csv(self, source: Path, encoding: str, found: Scan, matched: Matched) -> str:
        """Read with ``read_csv``: « lu »; « encodage » when lines are not valid in ``encoding``;
        « python » when the line numbers of the rows cannot be known this way (a quoted value over
        several lines in a file that also has blank or broken lines) or ``read_csv`` fails."""
        width = len(self.names)
        rejects_table, rejects_scan = f"{self.prefix}_rejets_csv", f"{self.prefix}_scan_csv"
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
        first = matched.header.line + 1
        read = (f"read_csv({sql.literal(str(source))}, delim = {sql.literal(matched.header.separator)}, "
                f"quote = '\"', escape = '\"', header = false, skip = {matched.header.line}, auto_detect = false, "
                f"columns = {columns}, encoding = {sql.literal(encoding)}, strict_mode = true, null_padding = false, "
                f"store_rejects = true, rejects_table = {sql.literal(rejects_table)}, "
                f"rejects_scan = {sql.literal(rejects_scan)})")
        self.broken.clear()
        self._compile(trim=found.edge_spaces, count_newlines=found.quotes)
        try:
            self._create_typed(f"(SELECT *, CAST(NULL AS BIGINT) AS _ligne_connue FROM {read})")
            rejected = self.connection.execute(
                f"SELECT line, csv_line, error_type FROM {rejects_table} ORDER BY line").fetchall()
        except duckdb.Error:
            return "python"  # what read_csv cannot read at all, the csv module says where and why
        finally:
            for table in (rejects_table, rejects_scan):
                self.connection.execute(f"DROP TABLE IF EXISTS {table}")
        if any(kind == "INVALID ENCODING" for _, _, kind in rejected):
            return "encodage"
        blank = [n for n in found.blank_lines if n >= first]
        skipped = set(blank)
        recovered: list[tuple[int, list[str]]] = []
        multi_line = False
        seen: set[int] = set()
        for line, text, _ in rejected:
            if line in seen:
                continue
            seen.add(line)
            text = text.lstrip("\r\n")
            multi_line = multi_line or "\n" in text.rstrip("\r\n")
            skipped.update(range(line, line + text.rstrip("\r\n").count("\n") + 1))
            if is_blank_line(text):
                blank.append(line)
                continue
            fields = next(csv.reader(io.StringIO(text, newline=""), delimiter=matched.header.separator), [])
            if len(fields) > width and not "".join(fields[width:]).strip():
                fields = fields[:width]  # trailing empty fields: « 1;2;3;; » under a 3-column header
            if len(fields) == width:
                recovered.append((line, fields))
            else:
                self.broken.append(_Broken(line, fields))
        newlines = found.quotes and self.connection.execute(
            f"SELECT coalesce(max(_nl), 0) > 0 FROM {self.typed}").fetchone()[0]
        if (newlines or multi_line) and skipped:
            self.connection.execute(f"DROP TABLE IF EXISTS {self.typed}")
            return "python"
        count = self.connection.execute(f"SELECT count(*) FROM {self.typed}").fetchone()[0]
        if recovered:
            self._insert_typed(self._cells([f for _, f in recovered], [n for n, _ in recovered]))
        self.blank_lines = sorted(blank)
        self.line_expression = self._number_lines(first, sorted(skipped), bool(newlines), count)
        return "lu"

    def _number_lines(self, first: int, skipped: list[int], newlines: bool, count: int) -> str:
        """The line of each row ``read_csv`` gave, in file order (its ``rowid``): the first line after
        the header, plus the lines the rows before it took (a quoted value over several lines), plus
        the blank and broken lines before it. A SQL expression of the typed table's row."""
        base = f"rowid + {first}"
        if newlines:  # no skipped line then (see _duckdb_csv): add the newlines of the rows before
            self.connection.execute(
                f"CREATE OR REPLACE TEMP TABLE {self.typed} AS SELECT * REPLACE ("
                f"coalesce(_ligne_connue, {base} + coalesce(sum(_nl) OVER (ORDER BY rowid ROWS BETWEEN UNBOUNDED "
                f"PRECEDING AND 1 PRECEDING), 0)) AS _ligne_connue) FROM {self.typed} ORDER BY rowid")
            return "_ligne_connue"
        # The k-th skipped line (1-based) lies after the rows whose position m ≥ skip - first - (k - 1).
        thresholds = [line - first - k for k, line in enumerate(skipped)]
        if not thresholds:
            return f"coalesce(_ligne_connue, {base})"
        if len(thresholds) <= INLINE_SKIPS:
            shift = " + ".join(f"(rowid >= {t})::BIGINT" for t in thresholds)
            return f"coalesce(_ligne_connue, {base} + {shift})"
        steps = f"{self.prefix}_sauts"
        self.connection.execute(f"CREATE OR REPLACE TEMP TABLE {steps} (seuil BIGINT, sauts BIGINT)")
        # equal thresholds (consecutive skipped lines): the last one counts them all
        self.connection.executemany(f"INSERT INTO {steps} VALUES (?, ?)",
                                    list({t: k + 1 for k, t in enumerate(thresholds)}.items()))
        self.connection.execute(
            f"CREATE OR REPLACE TEMP TABLE {self.typed} AS SELECT t.* REPLACE ("
            f"coalesce(t._ligne_connue, t._rang + {first} + coalesce(s.sauts, 0)) AS _ligne_connue) "
            f"FROM (SELECT *, rowid AS _rang FROM {self.typed} WHERE rowid < {count}) t "
            f"ASOF LEFT JOIN {steps} s ON t._rang >= s.seuil "
            f"UNION ALL SELECT *, rowid AS _rang FROM {self.typed} WHERE rowid >= {count}")
        self.connection.execute(f"ALTER TABLE {self.typed} DROP COLUMN _rang")
        self.connection.execute(f"DROP TABLE {steps}")
        return "_ligne_connue"

    def _python_csv(self, source: Path, encoding: str, matched: Matched) -> None:
        """Read with Python's csv module, line by line, in batches: every line's number is known.

        Used for the files whose line numbers ``read_csv`` cannot give; the rows still go to DuckDB
        in batches, so memory stays bounded.
        """
        self.broken.clear()  # read_csv's attempt numbered its broken lines its own way
        # every line is numbered here; the newlines in cells are counted only for the rejet of lines a
        # stray quote joined, in a source that carries an identifier (:func:`sql.compile_checks`)
        self._compile(trim=True, count_newlines=bool(self.spec.pseudonymise))
        self._create_typed(f"(SELECT * FROM {self._empty_cells()} LIMIT 0)")
        width = len(self.names)
        separator = matched.header.separator
        blank: list[int] = []
        batch: list[list[str]] = []
        lines: list[int] = []
        with source.open("r", encoding="latin-1" if encoding == "latin-1" else "utf-8", newline="") as handle:
            reader = csv.reader(handle, delimiter=separator)
            start = 1
            try:
                for row in reader:
                    line, start = start, reader.line_num + 1
                    if line <= matched.header.line:
                        continue
                    if not "".join(row).strip():
                        blank.append(line)
                        continue
                    if len(row) > width and not "".join(row[width:]).strip():
                        row = row[:width]
                    if len(row) != width:
                        self.broken.append(_Broken(line, row))
                        continue
                    batch.append(row)
                    lines.append(line)
                    if len(batch) >= BATCH:
                        self._insert_typed(self._cells(batch, lines))
                        batch, lines = [], []
            except csv.Error as err:
                raise ExtractError(messages.unreadable_csv(self.path.name, reader.line_num, err, separator)) from err
        if batch:
            self._insert_typed(self._cells(batch, lines))
        self.blank_lines = blank
        self.line_expression = "_ligne_connue"

    # --- rejets, counts, notes ------------------------------------------------------------------

    def finish(self) -> ReadResult:
        assert self.layout is not None and self.compiled is not None
        conn, fichier = self.connection, self.path.name
        conn.execute(f"CREATE OR REPLACE TEMP VIEW {self.rows} AS SELECT * EXCLUDE (_vide), "
                     f"{self.line_expression} AS {LINE} FROM {self.typed} WHERE NOT _vide")
        empty = [n for (n,) in conn.execute(f"SELECT {self.line_expression} FROM {self.typed} WHERE _vide").fetchall()]
        conn.execute(f"CREATE OR REPLACE TEMP TABLE {self.rejets} (fichier VARCHAR, ligne BIGINT, colonne VARCHAR, "
                     f"valeur VARCHAR, regle VARCHAR, message VARCHAR, _ordre INTEGER)")
        self._broken_rejets()
        flagged = f"{self.prefix}_signalees"
        conn.execute(f"CREATE OR REPLACE TEMP TABLE {flagged} AS SELECT * FROM {self.rows} WHERE _defauts IS NOT NULL")
        if self.compiled.checks:
            # the rejets of the checks some row breaks: one query of a few, not of every check (its
            # planning was the half of reading a small clean file)
            broken = conn.execute(f"SELECT {', '.join(f'bool_or(_defauts[{i}])' for i in range(1, len(self.compiled.checks) + 1))} "
                                  f"FROM {flagged}").fetchone()
            broken = [i for i, hit in enumerate(broken, start=1) if hit]
            if broken:
                conn.execute(f"INSERT INTO {self.rejets} {self.compiled.rejets_select(flagged, fichier, broken)}")
        conn.execute(f"DROP TABLE {flagged}")
        notes = []
        if note := messages.encoding_note(self.layout.encoding, self.encoding):
            notes.append(note)
        self._duplicates()
        read, last = conn.execute(f"SELECT count(*), max({LINE}) FROM {self.rows}").fetchone()
        rejected = conn.execute(f"SELECT count(DISTINCT ligne) FROM {self.rejets} WHERE _ordre > 0").fetchone()[0]
        kept = read - rejected
        read += len(self.broken)
        blanks = sorted(set(self.blank_lines) | set(empty))
        if not self.list_every_blank:
            last = max([last or 0] + [b.line for b in self.broken])
            blanks = [n for n in blanks if n < last]
        if blanks:
            notes.append(messages.blank_lines_note(blanks))
        if read == 0:
            notes.append(messages.HEADER_ONLY)
        if self.spec.key and not self.compiled.key_cells:
            missing = [c for c in self.spec.key if c not in self.mapping]
            notes.append(messages.no_key_note([self.mapping.get(c, c) for c in self.spec.key], missing))
        result = ReadResult(self.path, self.layout.name, self.encoding, self.separator, read, kept,
                            extra_columns(self.names, self.mapping), notes, [], conn, self.spec.columns,
                            self.rows, self.rejets, (self.typed,))
        result.first_messages = result.messages(10) if kept < read else []
        return result

    def _broken_rejets(self) -> None:
        fichier, width = self.path.name, len(self.names)
        rows = []
        for broken in self.broken:
            count = len(broken.fields)
            if count < width:
                colonne, valeur = self.names[count], f"{count} champ(s) sur {width}"
                message = messages.truncated_line(count, self.names)
                regle = "ligne_tronquee"
            else:
                surplus = (self.separator or ";").join(broken.fields[width:])
                if self.masked:  # its fields belong to no column: a shifted identifier is not copied
                    surplus = f"{count - width} champ(s) en trop"
                colonne, valeur, regle = f"(après {self.names[-1]})", surplus, "ligne_trop_longue"
                message = messages.too_long_line(count, width, surplus, self.separator or ";", self.masked)
            rows.append((fichier, broken.line, colonne, valeur, regle, f"{fichier}, ligne {broken.line}{message}", 0))
        if rows:
            self.connection.executemany(f"INSERT INTO {self.rejets} VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def _duplicates(self) -> None:
        """Identical lines, then repeated keys (typed), among the well-formed rows."""
        assert self.compiled is not None
        conn, fichier, compiled = self.connection, self.path.name, self.compiled
        keys = list(compiled.key_cells)
        exports = [self.mapping.get(c, c) for c in self.spec.key]
        cells = [compiled.key_cell(c, "r") for c in keys]  # a pseudonymised one as its pseudonym
        colonne = " ; ".join(exports) if keys else "(ligne entière)"
        valeur = " || ' ; ' || ".join(f"coalesce(CAST({c} AS VARCHAR), '')" for c in cells) if keys else "''"
        order = len(compiled.checks) + 2
        identical = f"{self.prefix}_identiques"
        # (a CREATE … AS gives its count of rows: the rejets are written only where there are some)
        if conn.execute(f"CREATE OR REPLACE TEMP TABLE {identical} AS {sql.identical_lines(self.rows, compiled)}").fetchone()[0]:
            conn.execute(f"INSERT INTO {self.rejets} "
                         + sql.duplicate_rejets(self.rows, identical, fichier, colonne, valeur,
                                                messages.identical_line(Cell("p.premiere")), order))
        if keys:
            repeated = f"{self.prefix}_cles"
            if conn.execute(f"CREATE OR REPLACE TEMP TABLE {repeated} AS {sql.repeated_keys(self.rows, keys, identical)}").fetchone()[0]:
                tail = messages.same_key(exports, [Cell(c) for c in cells], Cell("p.premiere"))
                conn.execute(f"INSERT INTO {self.rejets} "
                             + sql.duplicate_rejets(self.rows, repeated, fichier, colonne, valeur, tail, order + 1))
            conn.execute(f"DROP TABLE {repeated}")
        conn.execute(f"DROP TABLE {identical}")
