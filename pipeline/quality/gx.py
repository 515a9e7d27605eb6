"""Run the Great Expectations suites of ``expectations/`` on the warehouse, with bounded memory.

GX validates pandas DataFrames here (its SQL path on DuckDB fails upstream). A suite is a JSON file
reviewed like code: the tables it guards, then *lots* — each a way of reading the warehouse into
pandas, and the expectations validated on what it reads. Three ways, so that no check ever holds a
national-size table in memory (docs/qualite.md):

- ``lignes``: the rows of one year of a table, only the columns the expectations read (plus the
  columns naming a row: file and line of the extract), streamed from DuckDB as Arrow record batches
  of :data:`BATCH_ROWS` rows, each batch validated on its own and the counts summed. Whatever needs
  every row at once (uniqueness, shares, volumes) is not declared here but in a ``requete`` lot.
- ``requete``: an SQL query, ``$annee`` the year validated, that aggregates in DuckDB first (a few
  rows: a share, a volume, the rows of an anomaly); GX validates its result.
- ``indicateurs`` / ``totaux``: the published-table families (``famille`` of the catalogue): every
  mart of the family for the year, reduced to the columns of the invariants (numerator, denominator,
  share), or the TOTAL rows beside the sum of their parts, computed in DuckDB.

Every expectation has a ``why`` and a severity: ``critical`` is blocking (the publication stops),
``warning`` publishes with the warning in the run's summary, the metadata and the atlas annex.
A ``value_set`` may be ``{"requete": "select …"}``: the closed list is read from the referential (a
dbt seed, the geography) when the suite runs, never copied into the suite.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipeline.settings import EXPECTATIONS_DIR

#: Rows per batch of a ``lignes`` lot: ~500 000 rows × a dozen columns stays under ~100 MB in pandas.
BATCH_ROWS = 500_000
SEVERITES = {"critical": "bloquant", "warning": "avertissement"}
#: Columns that name a row of a staging table: the extract's file and line.
INDEX_EXTRAIT = ("fichier_extrait", "ligne_extrait")
#: Rows named in a report, per failed expectation.
LIGNES_NOMMEES = 10


@dataclass(frozen=True)
class ExpectationOutcome:
    """The outcome of one expectation on one table and year (its batches summed)."""

    expectation: str
    column: str | None
    success: bool
    severity: str
    unexpected_count: int | None
    why: str
    #: the year (partition) of the rows validated
    annee: int | None = None
    table: str = ""
    lot: str = ""
    element_count: int | None = None
    #: the rows in error (file and line of the extract, or the row of the published table), a sample
    lignes: tuple[str, ...] = ()
    #: the observed value of an aggregate expectation (a share, a count)
    observe: str | None = None

    def ligne_de_rapport(self) -> str:
        """One line of the run's report: check, table, year, what failed, which rows, why."""
        etat = "OK " if self.success else "ÉCHEC"
        cible = f"{self.table} {self.annee or ''}".strip()
        texte = f"{etat} [{self.severity}] {cible} {self.expectation}" + (f"({self.column})" if self.column else "")
        if self.unexpected_count:
            texte += f" — {self.unexpected_count} ligne(s) sur {self.element_count}"
        if self.observe is not None and not self.success:
            texte += f" — observé : {self.observe}"
        if self.lignes and not self.success:
            texte += " — " + "; ".join(self.lignes)
        if not self.success and self.why:
            texte += f" — {self.why}"
        return texte

    def as_record(self, suite: str) -> dict[str, Any]:
        """A row of the warehouse's table of validation results."""
        return {"suite": suite, "lot": self.lot, "table_validee": self.table, "annee": self.annee,
                "attente": self.expectation, "colonne": self.column, "gravite": SEVERITES.get(self.severity, self.severity),
                "reussie": self.success, "lignes_validees": self.element_count, "lignes_en_erreur": self.unexpected_count,
                "observe": self.observe, "exemples": "; ".join(self.lignes), "pourquoi": self.why}


@dataclass(frozen=True)
class SuiteOutcome:
    """The outcome of a suite: passed when no critical expectation failed."""

    suite: str
    outcomes: tuple[ExpectationOutcome, ...]
    #: GX's own validation results (JSON), for the Data Docs
    resultats_gx: tuple[dict, ...] = field(default=(), compare=False, repr=False)

    @property
    def passed(self) -> bool:
        return all(o.success for o in self.outcomes if o.severity == "critical")

    @property
    def warned(self) -> bool:
        return any(not o.success for o in self.outcomes if o.severity == "warning")

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    def of_severity(self, severity: str) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.severity == severity]


@dataclass(frozen=True)
class Lot:
    """A way of reading the warehouse and the expectations validated on what it reads."""

    nom: str
    mode: str
    expectations: tuple[dict, ...]
    table: str | None = None
    sql: str | None = None
    index: tuple[str, ...] = ()
    #: a ``volume`` lot of a monthly source compares the same months of the two years
    par_mois: bool = False
    #: a ``totaux`` lot: the indicators whose TOTAL row is not the sum of its rows, with the reason
    non_additifs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
    """A suite of ``expectations/``: the tables it guards (the first is the asset of its checks)."""

    name: str
    tables: tuple[str, ...]
    lots: tuple[Lot, ...]
    famille: str | None = None
    description: str = ""

    @property
    def expectations(self) -> list[dict]:
        return [e for lot in self.lots for e in lot.expectations]


MODES = ("lignes", "requete", "volume", "indicateurs", "totaux")


def load_suite_definition(name: str, folder: Path = EXPECTATIONS_DIR) -> dict:
    """The JSON definition of suite ``name``."""
    return json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))


def load_suite(name: str, folder: Path = EXPECTATIONS_DIR) -> Suite:
    """Suite ``name``, checked: every lot has a known mode, every expectation a ``why`` and a severity."""
    definition = load_suite_definition(name, folder)
    lots = []
    for numero, lot in enumerate(definition["lots"], start=1):
        mode = lot.get("mode", "lignes")
        if mode not in MODES:
            raise ValueError(f"expectations/{name}.json, lot {numero} : mode {mode!r} inconnu (attendu : {MODES}).")
        for item in lot["expectations"]:
            if item.get("severity") not in SEVERITES or not item.get("meta", {}).get("why"):
                raise ValueError(f"expectations/{name}.json, lot {lot.get('nom', numero)}, {item['type']} : "
                                 f"chaque attente a une gravité (critical | warning) et un « why ».")
            if mode == "lignes" and item["type"] == "expect_column_values_to_be_unique":
                raise ValueError(f"expectations/{name}.json : l'unicité ne se vérifie pas par lots de lignes ; "
                                 f"déclarez-la dans un lot « requete » (count(*) − count(distinct …)).")
        lots.append(Lot(nom=lot.get("nom", f"lot{numero}"), mode=mode, expectations=tuple(lot["expectations"]),
                        table=lot.get("table"), sql=lot.get("sql"), index=tuple(lot.get("index", ())),
                        par_mois=bool(lot.get("par_mois", False)), non_additifs=dict(lot.get("non_additifs", {}))))
    return Suite(name=definition["name"], tables=tuple(definition.get("tables", ())), lots=tuple(lots),
                 famille=definition.get("famille"), description=definition.get("meta", {}).get("description", ""))


def suite_names(folder: Path = EXPECTATIONS_DIR) -> list[str]:
    """Every suite of ``folder``."""
    return sorted(p.stem for p in folder.glob("*.json"))


def expectation_columns(item: dict) -> list[str]:
    """The columns an expectation reads."""
    kwargs = item.get("kwargs", {})
    return [c for c in (kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B"),
                        *kwargs.get("column_list", ())) if c]


def suite_columns(name: str, folder: Path = EXPECTATIONS_DIR) -> list[str]:
    """The columns the row-level expectations of suite ``name`` read, in order of first use."""
    suite = load_suite(name, folder)
    columns = [c for lot in suite.lots if lot.mode == "lignes" for e in lot.expectations for c in expectation_columns(e)]
    return list(dict.fromkeys(columns))


def _parametres(sql: str, annee: int) -> dict[str, int]:
    return {"annee": annee} if "$annee" in sql else {}


def _colonnes_du_schema(conn: duckdb.DuckDBPyConnection, schema: str) -> dict[str, list[str]]:
    """The columns of every table of ``schema``, in order, in one query (one per table was ≈ 4–10 ms,
    dozens per suite)."""
    colonnes: dict[str, list[str]] = {}
    for table, colonne in conn.execute(
            "select table_name, column_name from duckdb_columns() where schema_name = ? "
            "order by table_name, column_index", [schema]).fetchall():
        colonnes.setdefault(table, []).append(colonne)
    return colonnes


def _colonnes(conn: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, nom = table.split(".")
    return _colonnes_du_schema(conn, schema).get(nom, [])


def en_pandas(rangees) -> pd.DataFrame:
    """An Arrow table as the frame GX validates fast: every integer column as ``int64`` (``float64``
    where it has nulls) and every decimal or float as ``float64``. GX compares bounds with numpy only on
    those two dtypes (``column.dtype in [int, float]``); on DuckDB's ``INTEGER`` (``int32``) or
    ``DECIMAL`` (Python ``Decimal`` objects) it calls a Python function per value — 1.5 s per
    500 000 rows and bound."""
    import pyarrow as pa

    champs = []
    for champ in rangees.schema:
        if pa.types.is_integer(champ.type) and champ.type != pa.int64():
            champ = champ.with_type(pa.int64())
        elif pa.types.is_decimal(champ.type) or pa.types.is_floating(champ.type):
            champ = champ.with_type(pa.float64())
        champs.append(champ)
    return rangees.cast(pa.schema(champs)).to_pandas()


def lire_lignes(conn: duckdb.DuckDBPyConnection, table: str, colonnes: list[str], annee: int,
                batch_rows: int = BATCH_ROWS, ordre: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """The rows of ``annee`` in ``table`` (only ``colonnes``), in batches of ``batch_rows`` rows (the
    last one shorter), sorted by ``ordre`` (an extract's file and line); one empty frame when the year
    has no row (so that a row-count expectation says it is empty).

    The batches and their rows do not depend on how the table was loaded: DuckDB's record batches end
    where its storage chunks do (a month loaded by a later run makes one more), and its rows come in
    the order they were inserted — the Data Docs pages (one per batch, with their examples of
    unexpected values) would differ between a year loaded at once and the same year resumed."""
    import pyarrow as pa

    tampon: list[pa.RecordBatch] = []
    en_attente = lus = 0
    for lot in _lots_tries(conn, table, colonnes, annee, batch_rows, ordre or []):
        tampon.append(lot)
        en_attente += lot.num_rows
        lus += lot.num_rows
        while en_attente >= batch_rows:
            rangees = pa.Table.from_batches(tampon)
            yield en_pandas(rangees.slice(0, batch_rows))
            reste = rangees.slice(batch_rows)
            tampon, en_attente = reste.to_batches(), reste.num_rows
    if en_attente:
        yield en_pandas(pa.Table.from_batches(tampon))
    elif not lus:
        yield pd.DataFrame(columns=colonnes)


def _lots_tries(conn: duckdb.DuckDBPyConnection, table: str, colonnes: list[str], annee: int, batch_rows: int,
                ordre: list[str]) -> Iterator:
    """The year's rows as Arrow record batches in ``ordre``, streamed (a cursor of its own: the caller's
    connection keeps answering other queries). Sorted by (file, line), a year is read file by file,
    each sorted by line: the same rows in the same order, without sorting the whole year at once (18.6 M
    national demands: 4.2 s sorted whole, 1.9 s file by file)."""
    liste = ", ".join(f'"{c}"' for c in colonnes)
    requete = f"select {liste} from {table} where annee = $annee"
    if len(ordre) < 2:
        tri = " order by " + ", ".join(f'"{c}"' for c in ordre) if ordre else ""
        yield from conn.cursor().sql(requete + tri, params={"annee": annee}).to_arrow_reader(batch_rows)
        return
    premiere, tri = ordre[0], " order by " + ", ".join(f'"{c}"' for c in ordre[1:])
    valeurs = [v for (v,) in conn.cursor().execute(
        f'select distinct "{premiere}" from {table} where annee = $annee order by 1', {"annee": annee}).fetchall()]
    for valeur in valeurs:  # ascending, NULL last: DuckDB's order of the whole sort
        condition = f' and "{premiere}" is null' if valeur is None else f' and "{premiere}" = $valeur'
        parametres = {"annee": annee} if valeur is None else {"annee": annee, "valeur": valeur}
        yield from conn.cursor().sql(requete + condition + tri, params=parametres).to_arrow_reader(batch_rows)


def requete_volume(conn: duckdb.DuckDBPyConnection, table: str, annee: int, par_mois: bool = False) -> pd.DataFrame:
    """The rows of ``annee`` in ``table`` beside those of the latest year before it (``par_mois``: the
    same months only, for a monthly extract not complete yet), counted in DuckDB: ``annee_precedente``,
    ``lignes``, ``lignes_precedentes``, ``variation`` (−0.3 = 30 % fewer rows). No row when either year
    is absent (the row count of the year says whether it is)."""
    mois = f"and mois in (select mois from {table} where annee = $annee)" if par_mois else ""
    return conn.execute(f"""
        with n as (select annee, count(*) as lignes from {table} where annee <= $annee {mois} group by annee),
        courante as (select lignes from n where annee = $annee),
        precedente as (select annee, lignes from n where annee < $annee order by annee desc limit 1)
        select precedente.annee as annee_precedente, courante.lignes, precedente.lignes as lignes_precedentes,
               courante.lignes / precedente.lignes - 1 as variation
        from courante, precedente""", {"annee": annee}).df()


def requete_indicateurs(conn: duckdb.DuckDBPyConnection, famille: str, annee: int) -> pd.DataFrame:
    """Every mart of the catalogue's ``famille`` for ``annee``, reduced in DuckDB to the invariants'
    columns: ``indicateur``, ``ligne`` (its dimensions), ``numerateur``, ``denominateur`` and ``part``
    (the value when the catalogue's unit is a share)."""
    parties = []
    for indicateur, colonnes in _marts_de_la_famille(conn, famille):
        dims = [d for d in indicateur.dimensions if d in colonnes]
        ligne = "concat_ws(' / ', " + ", ".join(f'cast("{d}" as varchar)' for d in dims) + ")" if dims else "'—'"
        num = "numerateur" if "numerateur" in colonnes else "null"
        den = "denominateur" if "denominateur" in colonnes else "null"
        est_part = indicateur.unite == "part"
        part = "valeur" if est_part and "valeur" in colonnes else "null"
        # numerator ≤ denominator holds for a share; a ratio (demands per attribution) may exceed 1
        parties.append(f"select '{indicateur.code}' as indicateur, {ligne} as ligne, cast({num} as double) as numerateur, "
                       f"cast({den} as double) as denominateur, cast({num if est_part else 'null'} as double) "
                       f"as numerateur_part, cast({den if est_part else 'null'} as double) as denominateur_part, "
                       f"cast({part} as double) as part from marts.{indicateur.modele} where annee = $annee")
    if not parties:
        return pd.DataFrame(columns=["indicateur", "ligne", "numerateur", "denominateur", "numerateur_part",
                                     "denominateur_part", "part"])
    return conn.execute(" union all ".join(parties), {"annee": annee}).df()


def requete_totaux(conn: duckdb.DuckDBPyConnection, famille: str, annee: int,
                   non_additifs: frozenset[str] = frozenset()) -> pd.DataFrame:
    """For every mart of ``famille`` (but ``non_additifs``) and each of its dimensions: the TOTAL row's
    numerator beside the sum of the rows it totals (the other dimensions fixed), computed in DuckDB:
    ``indicateur``, ``ligne``, ``ecart_numerateur`` (``ecart_denominateur`` is null: the denominator
    of a share is the base of its group, the same on every row, not a sum of parts)."""
    parties = []
    for indicateur, colonnes in _marts_de_la_famille(conn, famille):
        if indicateur.code in non_additifs:
            continue
        dims = [d for d in indicateur.dimensions if d in colonnes]
        mesures = [m for m in ("numerateur",) if m in colonnes]
        if not dims or not mesures:
            continue
        for dim in dims:
            autres = [d for d in dims if d != dim]
            cle = ", ".join(f'cast("{d}" as varchar)' for d in autres)
            groupe = f"concat_ws(' / ', '{dim}', {cle})" if autres else f"'{dim}'"
            ecarts = ", ".join(
                f"sum({m}) filter (where cast(\"{dim}\" as varchar) = 'TOTAL') "
                f"- sum({m}) filter (where cast(\"{dim}\" as varchar) <> 'TOTAL') as ecart_{m}" for m in mesures)
            manquants = ", ".join(f"null as ecart_{m}" for m in ("numerateur", "denominateur") if m not in mesures)
            parties.append(
                f"select '{indicateur.code}' as indicateur, {groupe} as ligne, {ecarts}{', ' + manquants if manquants else ''} "
                f"from marts.{indicateur.modele} where annee = $annee "
                f"group by {cle or 'all'} having count(*) filter (where cast(\"{dim}\" as varchar) = 'TOTAL') = 1 "
                f"and count(*) > 1")
    if not parties:
        return pd.DataFrame(columns=["indicateur", "ligne", "ecart_numerateur", "ecart_denominateur"])
    colonnes = "indicateur, ligne, ecart_numerateur, ecart_denominateur"
    return conn.execute(" union all ".join(f"select {colonnes} from ({p})" for p in parties), {"annee": annee}).df()


def _marts_de_la_famille(conn: duckdb.DuckDBPyConnection, famille: str):
    from pipeline.publication.catalogue import charger

    colonnes_de = _colonnes_du_schema(conn, "marts")
    for indicateur in charger().indicateurs:
        if indicateur.famille != famille:
            continue
        colonnes = colonnes_de.get(indicateur.modele)
        if colonnes:
            yield indicateur, colonnes


def lots_de_donnees(conn: duckdb.DuckDBPyConnection, suite: Suite, lot: Lot, annee: int,
                    batch_rows: int = BATCH_ROWS) -> tuple[str, list[str], Iterator[pd.DataFrame]]:
    """What ``lot`` reads for ``annee``: the table named in reports, the index columns, the frames."""
    table = lot.table or (suite.tables[0] if suite.tables else "")
    if lot.mode == "lignes":
        presentes = _colonnes(conn, table)
        index = [c for c in (lot.index or INDEX_EXTRAIT) if c in presentes]
        colonnes = list(dict.fromkeys([*index, *(c for e in lot.expectations for c in expectation_columns(e))]))
        return table, index, lire_lignes(conn, table, colonnes, annee, batch_rows, ordre=index)
    if lot.mode == "requete":
        return table, list(lot.index), iter([conn.execute(lot.sql, _parametres(lot.sql, annee)).df()])
    if lot.mode == "volume":
        return table, ["annee_precedente"], iter([requete_volume(conn, table, annee, par_mois=lot.par_mois)])
    if lot.mode == "indicateurs":
        return f"marts ({suite.famille})", ["indicateur", "ligne"], iter([requete_indicateurs(conn, suite.famille, annee)])
    return f"marts ({suite.famille})", ["indicateur", "ligne"], iter([requete_totaux(
        conn, suite.famille, annee, frozenset(lot.non_additifs))])


def _resoudre(kwargs: dict, conn: duckdb.DuckDBPyConnection, annee: int) -> dict:
    """The kwargs of an expectation with its referential lists read from the warehouse."""
    resolus = dict(kwargs)
    valeurs = kwargs.get("value_set")
    if isinstance(valeurs, dict) and "requete" in valeurs:
        sql = valeurs["requete"]
        # sorted: a UNION gives its rows in any order, and the Data Docs print the list as it comes
        # (the same run twice must publish the same pages)
        resolus["value_set"] = sorted({r[0] for r in conn.execute(sql, _parametres(sql, annee)).fetchall()},
                                      key=lambda v: (v is None, str(v)))
    return resolus


def _format_ligne(entree: Any, index: list[str]) -> str:
    if not isinstance(entree, dict):
        return str(entree)
    if "ligne_extrait" in entree:
        reste = ", ".join(f"{k}={v}" for k, v in entree.items() if k not in INDEX_EXTRAIT)
        fichier = f"{Path(str(entree['fichier_extrait'])).name} " if entree.get("fichier_extrait") else ""
        return f"{fichier}ligne {entree['ligne_extrait']}" + (f" ({reste})" if reste else "")
    ordre = [*(k for k in index if k in entree), *(k for k in entree if k not in index)]
    return ", ".join(f"{k}={entree[k]}" for k in ordre)


def validate_frame(context, frame: pd.DataFrame, name: str, expectations: list[dict], index: list[str]):
    """GX's validation of ``frame`` against ``expectations`` (already resolved) in ``context``."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    # one data source, asset and batch definition per context: each addition saves the context's
    # configuration (a YAML dump, ~0.1 s), and a run validates dozens of frames
    definition = getattr(context, "_observatoire_batch_definition", None)
    if definition is None:
        definition = context.data_sources.add_pandas("observatoire").add_dataframe_asset(
            "frame").add_batch_definition_whole_dataframe("frame")
        context._observatoire_batch_definition = definition
    batch = definition.get_batch(batch_parameters={"dataframe": frame})
    suite = gx.ExpectationSuite(name=name)
    for item in expectations:
        config = ExpectationConfiguration(type=item["type"], kwargs=item["kwargs"], meta=item.get("meta", {}),
                                          severity=item["severity"])
        suite.add_expectation(config.to_domain_obj())
    format_ = {"result_format": "SUMMARY", "partial_unexpected_count": LIGNES_NOMMEES}
    if index and all(c in frame.columns for c in index):
        format_["unexpected_index_column_names"] = index
    return batch.validate(suite, result_format=format_)


def _contexte():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx  # slow import: only when a check runs

    return gx.get_context(mode="ephemeral")


def importer_en_fond() -> threading.Thread:
    """Import Great Expectations (≈ 3 s of CPU, the first suite's whole overhead) in a background
    thread, for a step that waits on DuckDB part of the time (dbt's staging): the suites after it find
    it imported, or wait for the end of that import (Python's import lock). Measured with dbt in the
    run's process: the same end-to-end time as importing it in the CLI while the extracts are
    ingested (30-row year, alternately: 44.7, 45.2, 45.3 s against 44.9, 43.7, 41.9 s)."""
    def importer() -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        import great_expectations  # noqa: F401

    fil = threading.Thread(target=importer, name="import-great-expectations", daemon=True)
    fil.start()
    return fil


def run_suite(conn: duckdb.DuckDBPyConnection, suite: Suite, annees: list[int],
              batch_rows: int = BATCH_ROWS) -> SuiteOutcome:
    """Validate ``suite`` on the warehouse for each of ``annees`` (a suite describes one millésime)."""
    context = _contexte()
    outcomes: list[ExpectationOutcome] = []
    resultats: list[dict] = []
    for annee in annees:
        for lot in suite.lots:
            # the referential lists first: a query on the connection would end the batches' stream
            resolues = [{**e, "kwargs": _resoudre(e["kwargs"], conn, annee), "meta": {**e["meta"], "numero": i}}
                        for i, e in enumerate(lot.expectations)]
            table, index, frames = lots_de_donnees(conn, suite, lot, annee, batch_rows)
            cumul: dict[int, dict] = {}
            for frame in frames:
                attentes = [e for e in resolues if all(c in frame.columns for c in expectation_columns(e))]
                if not attentes:
                    continue
                resultat = validate_frame(context, frame, f"{suite.name}.{lot.nom}.{annee}", attentes, index)
                resultat.meta["observatoire"] = {"suite": suite.name, "lot": lot.nom, "table": table, "annee": annee}
                resultats.append(resultat.to_json_dict())
                for res in resultat.results:
                    config = res.expectation_config
                    numero = int(config.meta["numero"])
                    acc = cumul.setdefault(numero, {"success": True, "unexpected": None, "elements": None,
                                                    "lignes": [], "observe": None, "config": config})
                    detail = res.result or {}
                    acc["success"] &= bool(res.success)
                    if detail.get("unexpected_count") is not None:
                        acc["unexpected"] = (acc["unexpected"] or 0) + int(detail["unexpected_count"])
                    if detail.get("element_count") is not None:
                        acc["elements"] = (acc["elements"] or 0) + int(detail["element_count"])
                    if detail.get("observed_value") is not None:
                        acc["observe"] = str(detail["observed_value"])
                    if index and detail.get("partial_unexpected_index_list"):
                        exemples = [_format_ligne(x, index) for x in detail["partial_unexpected_index_list"]]
                    else:
                        colonne = (expectation_columns(lot.expectations[numero]) or ["valeur"])[0]
                        exemples = [f"{colonne}={x}" for x in detail.get("partial_unexpected_list") or []]
                    acc["lignes"] += exemples[:LIGNES_NOMMEES - len(acc["lignes"])]
            for numero, acc in sorted(cumul.items()):
                item = lot.expectations[numero]
                outcomes.append(ExpectationOutcome(
                    expectation=item["type"], column=(expectation_columns(item) or [None])[0], success=acc["success"],
                    severity=item["severity"], unexpected_count=acc["unexpected"], why=item["meta"]["why"],
                    annee=annee, table=table, lot=lot.nom, element_count=acc["elements"],
                    lignes=tuple(acc["lignes"]), observe=acc["observe"]))
    return SuiteOutcome(suite.name, tuple(outcomes), tuple(resultats))


def validate(frame: pd.DataFrame, name: str, folder: Path = EXPECTATIONS_DIR) -> SuiteOutcome:
    """Validate ``frame`` against the row-level (``lignes``) expectations of suite ``name`` (tests, and
    a quick look at an extract)."""
    suite = load_suite(name, folder)
    attentes = [e for lot in suite.lots if lot.mode == "lignes" for e in lot.expectations
                if all(c in frame.columns for c in expectation_columns(e))
                and not isinstance(e["kwargs"].get("value_set"), dict)]  # a referential needs the warehouse
    resultat = validate_frame(_contexte(), frame, name, attentes, [c for c in INDEX_EXTRAIT if c in frame.columns])
    outcomes = [ExpectationOutcome(
        expectation=res.expectation_config.type, column=res.expectation_config.kwargs.get("column"),
        success=bool(res.success), severity=str(getattr(res.expectation_config.severity, "value",
                                                        res.expectation_config.severity)).lower(),
        unexpected_count=(res.result or {}).get("unexpected_count"), why=(res.expectation_config.meta or {}).get("why", ""),
        table=suite.tables[0] if suite.tables else "") for res in resultat.results]
    return SuiteOutcome(name, tuple(outcomes))
