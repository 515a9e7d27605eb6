"""Quality gates: each Great Expectations suite as two Dagster asset checks, blocking and warning.

Each suite in ``expectations/`` guards a staging source or a published-table family. It runs once
(one op) after dbt built its tables, through a read-only connection, for the run's years, and gives
two check results on the first table it guards:

- ``gx_<suite>`` — its ``critical`` expectations; blocking, severity ERROR: when one fails, the
  downstream assets (marts, publication, atlas, exports) are not built, so nothing is published and
  nothing published is replaced;
- ``gx_<suite>_avertissements`` — its ``warning`` expectations; severity WARN, not blocking: the
  publication goes on, and the warning is in the run's summary, ``_metadonnees.json`` and the atlas
  annex (:func:`pipeline.assets.publication.controles_du_run` reads the check's metadata).

Each run's results are kept as JSON under ``var/qualite/<run id>/`` (:func:`ecrire_resultats`); the
CLI loads them into the warehouse table ``qualite.resultats_validation`` after the run, whatever its
outcome, and the publication step renders them as GX Data Docs (pipeline/quality/docs.py).
"""


import json
from pathlib import Path

import dagster as dg

from pipeline.partitions import years_from_tags
from pipeline.quality.gx import (
    ExpectationOutcome,
    Suite,
    SuiteOutcome,
    load_suite,
    run_suite,
    suite_names,
)
from pipeline.resources import ObservatoireResource
from pipeline.settings import WRITER_POOL
from pipeline.warehouse import connect_read_only

#: The metadata key of a check result that lists what did not pass (read by controles_du_run).
NON_REUSSIES = "non_reussies"


def check_names(suite: str) -> tuple[str, str]:
    """The blocking and the warning check of ``suite``."""
    return f"gx_{suite}", f"gx_{suite}_avertissements"


def check_result(outcome: SuiteOutcome, severity: str = "critical", check_name: str | None = None,
                 asset_key: dg.AssetKey | None = None) -> dg.AssetCheckResult:
    """The check result of ``outcome``'s expectations of ``severity``: the blocking one (ERROR) fails
    when a critical expectation failed; the warning one (WARN) when a warning did."""
    retenues = outcome.of_severity(severity)
    echecs = [o for o in retenues if not o.success]
    kwargs = {} if check_name is None else {"check_name": check_name, "asset_key": asset_key}
    return dg.AssetCheckResult(
        passed=not echecs,
        severity=dg.AssetCheckSeverity.ERROR if severity == "critical" else dg.AssetCheckSeverity.WARN,
        metadata={
            "suite": outcome.suite,
            "attentes": len(retenues),
            "echecs": len(echecs),
            "detail": dg.MetadataValue.md("\n".join(f"- {o.ligne_de_rapport()}" for o in [*echecs, *(
                o for o in retenues if o.success)]) or "aucune attente"),
            NON_REUSSIES: dg.MetadataValue.json([_resume(o) for o in echecs]),
        },
        **kwargs,
    )


def _resume(o: ExpectationOutcome) -> dict:
    return {"attente": f"{o.expectation}({o.column or ''})", "table": o.table, "annee": o.annee,
            "lignes_en_erreur": o.unexpected_count, "observe": o.observe, "exemples": list(o.lignes[:3]),
            "pourquoi": o.why}


def ecrire_resultats(dossier: Path, outcome: SuiteOutcome) -> Path:
    """Keep a suite's results of a run: ours (one row per expectation, table and year) and GX's (the
    Data Docs are rendered from them)."""
    dossier.mkdir(parents=True, exist_ok=True)
    chemin = dossier / f"{outcome.suite}.json"
    chemin.write_text(json.dumps({"suite": outcome.suite,
                                  "resultats": [o.as_record(outcome.suite) for o in outcome.outcomes],
                                  "gx": list(outcome.resultats_gx)}, ensure_ascii=False, default=str),
                      encoding="utf-8")
    return chemin


RESULTATS_TABLE = "qualite.resultats_validation"


def enregistrer_resultats(warehouse: Path, dossier: Path) -> int:
    """Load the results every run kept under ``dossier`` (``var/qualite/<run id>/``) into the warehouse
    table ``qualite.resultats_validation`` (one row per expectation, table, year and run), the runs
    already there skipped; the number of rows added. A writer: called once the run is over (the CLI),
    whatever its outcome — a failed run's results are the ones a data engineer looks for."""
    import duckdb
    import pandas as pd

    from pipeline.warehouse import connect

    runs = sorted(p for p in dossier.iterdir() if p.is_dir()) if dossier.is_dir() else []
    if not runs:
        return 0
    ajoutees = 0
    with connect(warehouse) as conn:
        conn.execute("create schema if not exists qualite")
        try:
            connus = {r[0] for r in conn.execute(f"select distinct run_id from {RESULTATS_TABLE}").fetchall()}
        except duckdb.CatalogException:
            connus = set()
        for run in runs:
            if run.name in connus:
                continue
            lignes = []
            for fichier in sorted(run.glob("*.json")):
                contenu = json.loads(fichier.read_text(encoding="utf-8"))
                lignes += [{"run_id": run.name, "date_validation": pd.Timestamp(fichier.stat().st_mtime, unit="s"), **r}
                           for r in contenu["resultats"]]
            if not lignes:
                continue
            frame = pd.DataFrame(lignes).astype({"annee": "Int64", "lignes_validees": "Int64", "lignes_en_erreur": "Int64"})
            conn.execute(f"create table if not exists {RESULTATS_TABLE} as select * from frame limit 0")
            conn.execute(f"insert into {RESULTATS_TABLE} by name select * from frame")
            ajoutees += len(frame)
    return ajoutees


def tables_gardees(suite: Suite) -> list[str]:
    """The tables (dbt models) ``suite`` guards: declared, or the catalogue's marts of its family."""
    if suite.famille:
        from pipeline.publication.catalogue import charger

        modeles = [i.modele for i in charger().indicateurs if i.famille == suite.famille]
        return list(dict.fromkeys(modeles))
    return [t.split(".")[-1] for t in suite.tables]


def build_gx_check(suite: Suite, asset_keys: set[dg.AssetKey] | None = None) -> dg.AssetChecksDefinition:
    """The blocking and the warning check of ``suite``, in one op (the suite runs once)."""
    tables = [t for t in tables_gardees(suite) if asset_keys is None or dg.AssetKey([t]) in asset_keys]
    asset = dg.AssetKey([tables[0]])
    autres = [dg.AssetKey([t]) for t in tables[1:]]
    bloquant, avertissement = check_names(suite.name)
    specs = [
        dg.AssetCheckSpec(bloquant, asset=asset, additional_deps=autres, blocking=True,
                          description=f"Suite Great Expectations expectations/{suite.name}.json, attentes bloquantes."),
        dg.AssetCheckSpec(avertissement, asset=asset, additional_deps=autres, blocking=False,
                          description=f"Suite Great Expectations expectations/{suite.name}.json, avertissements."),
    ]

    # a reader in the warehouse's pool: a writer of another run cannot hold the file while it reads
    @dg.multi_asset_check(specs=specs, name=f"gx_{suite.name}", pool=WRITER_POOL)
    def _check(context: dg.AssetCheckExecutionContext, observatoire: ObservatoireResource):
        settings = observatoire.settings()
        years = years_from_tags(context.run.tags)
        with connect_read_only(settings.warehouse) as conn:
            outcome = run_suite(conn, suite, years)
        ecrire_resultats(settings.var_dir / "qualite" / context.run.run_id, outcome)
        context.log.info(f"GX {suite.name} {years}: {len(outcome.outcomes)} attente(s), "
                         f"{len(outcome.failures)} en échec")
        yield check_result(outcome, "critical", bloquant, asset)
        yield check_result(outcome, "warning", avertissement, asset)

    return _check


def build_gx_checks(asset_keys: set[dg.AssetKey] | None = None) -> list[dg.AssetChecksDefinition]:
    """One op per suite of ``expectations/`` (a family's suite only when its marts are among
    ``asset_keys``)."""
    checks = []
    for name in suite_names():
        suite = load_suite(name)
        if asset_keys is not None and not any(dg.AssetKey([t]) in asset_keys for t in tables_gardees(suite)):
            continue
        checks.append(build_gx_check(suite, asset_keys))
    return checks
