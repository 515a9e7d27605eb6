"""dbt assets: the dbt project's seeds and models as Dagster assets, built for the run's years.

Two dbt ops on purpose: ``dbt_staging`` (seeds + staging views) then ``dbt_marts`` (intermediate and
marts), so that the blocking Great Expectations checks on staging tables stop the marts — and
everything published from them — when an extract is wrong.

dbt runs in the run's own process (dbt's programmatic entry point, ``dbtRunner``: :func:`invoquer_dbt`),
not in a ``dbt`` process per op: dbt is imported once, and the project parsed once per process
(:func:`manifeste`), each invocation starting from that parse. The parse itself starts from the home's
saved one (dbt's partial parsing: it parses again only what changed), kept in the home's dbt folder
(``DBT_TARGET_PATH``, :attr:`pipeline.settings.Settings.dbt_dir`) because the profile holds the
warehouse path of the home; a fresh home starts from the parse the manifest's preparation left
(:func:`seed_parse`). The run's years reach dbt through the environment (``OBSERVATOIRE_ANNEE_MIN`` /
``_MAX``, read by ``macros/annee_filter.sql`` when a model runs), not through ``--vars``, which would
make dbt parse the whole project again whenever they change. Each invocation closes the warehouse
when it ends (:func:`liberer_entrepot`): the next steps open it.
"""


import contextlib
import dataclasses
import fcntl
import json
import os
import shutil
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.core.dbt_cli_invocation import PARTIAL_PARSE_FILE_NAME

from pipeline.partitions import annual_partitions
from pipeline.provenance import is_demo
from pipeline.quality.gx import importer_en_fond
from pipeline.resources import ObservatoireResource
from pipeline.settings import DBT_PROJECT_DIR, WRITER_POOL

# dbt selectors by fqn (folder names); `path:` would resolve against the current directory.
STAGING_SELECT = "resource_type:seed staging"
#: What a run builds: everything but the unit tests. They test the project's SQL, which a run does
#: not change: `make test` runs them (tests/test_dbt_unit_tests.py), once, not every annual run.
BUILD_ARGS = ["build", "--exclude-resource-type", "unit_test"]


class ObservatoireDbtResource(DbtCliResource):
    """dagster-dbt's dbt resource, whose invocations run dbt in the run's own process
    (:func:`invoquer_dbt`) instead of a ``dbt`` process each: measured on a 30-row year, a dbt process
    spent ≈ 6 s an op before and after its nodes (importing dbt ≈ 2 s, checking the saved parse ≈ 2 s,
    writing the manifest ≈ 1 s) and ``dbt docs generate`` 4 s; in the run's process dbt is imported
    once, the project parsed once (:func:`manifeste`) and the docs take 0.2 s. Of dagster-dbt's
    resource the ops use the project's folder only (its ``dbt_executable`` is not run: the manifest's
    preparation, :func:`prepare_dbt_project`, runs the venv's own)."""

    def construire(self, args: list[str], context: dg.AssetExecutionContext | None = None, nom: str = "dbt",
                   run_id: str = "") -> "InvocationDbt":
        """``dbt <args>`` of the project in this process (:func:`invoquer_dbt`); with ``context`` (a dbt
        op's), the op's own selection of dbt nodes (the subset of its assets Dagster asked for)."""
        selection: list[str] = []
        if context is not None:
            selection = selection_du_contexte(context)
            nom, run_id = context.op_execution_context.op.name, context.run.run_id
        return invoquer_dbt(args + selection, Path(self.project_dir), nom, run_id)


#: Tells dbt the run's extracts are the demo's (``oui``), so referential values marked ``demo`` may be
#: used; anything else is real data, on which they never are (``macros/menages.sql``).
DONNEES_FICTIVES = "OBSERVATOIRE_DONNEES_FICTIVES"


def dbt_env(years: list[int], demo: bool = False) -> dict[str, str]:
    """The environment of a dbt invocation over ``years``: the range its incremental marts rebuild — the
    run's years and the years before them that their publication carries as series (ANNEES_SERIE − 1):
    a run for 2024 rebuilds 2020–2024 from the extracts in the warehouse, so the series agree with the
    rules of the run's code — and whether the extracts are the demo's (``demo``)."""
    from pipeline.publication.tables import ANNEES_SERIE

    if not years:
        raise ValueError("a dbt run needs at least one year")
    return {"OBSERVATOIRE_ANNEE_MIN": str(min(years) - (ANNEES_SERIE - 1)), "OBSERVATOIRE_ANNEE_MAX": str(max(years)),
            DONNEES_FICTIVES: "oui" if demo else "non"}


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` in ``os.environ`` while dbt's process starts (it inherits them), restored after."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


#: dbt's events that carry a node's result (what dagster-dbt turns into an asset's output).
EVENEMENTS_RESULTAT = frozenset({"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"})


@dataclasses.dataclass
class InvocationDbt:
    """One dbt invocation in this process: its target folder (``run_results.json``; ``dbt.log`` when asked
    for) and the events of its nodes' results, as dbt's JSON log writes them (``info``, ``data``)."""

    target_path: Path
    evenements: list[dict]

    def evenements_dagster(self, context: dg.AssetExecutionContext) -> Iterator[dg.Output]:
        """The op's outputs, one per model or seed dbt built, by dagster-dbt's own translation of an event
        (the tests' results stay in dbt's log and ``run_results.json``: see :func:`build_dbt_assets`)."""
        from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets
        from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

        manifest, translator, _ = get_manifest_and_translator_from_dbt_assets([context.assets_def])
        for brut in self.evenements:
            message = DbtCoreCliEventMessage(raw_event=brut, event_history_metadata={})
            for event in message.to_default_asset_events(manifest=manifest, dagster_dbt_translator=translator,
                                                         context=context, target_path=self.target_path):
                if isinstance(event, dg.Output):
                    yield event


def selection_du_contexte(context: dg.AssetExecutionContext) -> list[str]:
    """The dbt selection of the op's nodes Dagster asked for (all of them, or a subset), as dagster-dbt
    computes it; in this process no command line limits its length (dagster-dbt writes a long one in a
    selectors file of a copy of the project)."""
    from dagster_dbt.asset_utils import (DAGSTER_DBT_EXCLUDE_METADATA_KEY, DAGSTER_DBT_SELECT_METADATA_KEY,
                                         DAGSTER_DBT_SELECTOR_METADATA_KEY, get_manifest_and_translator_from_dbt_assets,
                                         get_subset_selection_for_context)

    manifest, translator, _ = get_manifest_and_translator_from_dbt_assets([context.assets_def])
    tags = context.op.tags
    selection, indirecte = get_subset_selection_for_context(
        context=context, manifest=manifest, select=tags.get(DAGSTER_DBT_SELECT_METADATA_KEY),
        exclude=tags.get(DAGSTER_DBT_EXCLUDE_METADATA_KEY), selector=tags.get(DAGSTER_DBT_SELECTOR_METADATA_KEY),
        dagster_dbt_translator=translator, current_dbt_indirect_selection_env=os.environ.get("DBT_INDIRECT_SELECTION"))
    return selection + (["--indirect-selection", indirecte] if indirecte else [])


def dbt_dir() -> Path:
    """The home's dbt folder (``DBT_TARGET_PATH``, :attr:`pipeline.settings.Settings.dbt_dir`): the parse of
    the project, and one folder per invocation."""
    return Path(os.environ.get("DBT_TARGET_PATH", DBT_PROJECT_DIR / "target"))


def _options(project_dir: Path, target: Path) -> list[str]:
    return ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir), "--target-path", str(target),
            "--log-path", str(target)]


#: The project as dbt parsed it, per (project folder, home's dbt folder, warehouse, prepared manifest's
#: date): parsed once in a process, whatever the number of invocations.
_MANIFESTES: dict[tuple, Any] = {}


def manifeste(project_dir: Path = DBT_PROJECT_DIR) -> Any:
    """dbt's parse of the project for this home (a ``Manifest``), once per process: ``dbt parse`` in
    this process, from the home's saved parse (:func:`seed_parse` gives a fresh home the prepared one;
    dbt parses again only what changed), which it updates. Later invocations start from the object:
    they neither parse nor check a parse. The key holds the prepared manifest's date, so a project
    changed and prepared again (:func:`prepare_dbt_project`) is parsed again."""
    from dbt.cli.main import dbtRunner

    dossier = dbt_dir()
    prepare = DbtProject(project_dir=project_dir, profiles_dir=project_dir).manifest_path
    cle = (str(project_dir), str(dossier), os.environ.get("OBSERVATOIRE_WAREHOUSE"),
           prepare.stat().st_mtime_ns if prepare.exists() else None)
    if cle not in _MANIFESTES:
        seed_parse(prepare.parent / PARTIAL_PARSE_FILE_NAME)
        dossier.mkdir(parents=True, exist_ok=True)
        try:
            resultat = dbtRunner().invoke(["parse", *_options(project_dir, dossier), "--no-write-json", "--quiet"])
        finally:
            liberer_entrepot()
        if not resultat.success:
            raise dg.Failure(description=f"dbt parse en échec : {resultat.exception}")
        _MANIFESTES.clear()
        _MANIFESTES[cle] = resultat.result
    return _MANIFESTES[cle]


def liberer_entrepot() -> None:
    """Close the warehouse dbt-duckdb opened in this process: dbt-duckdb keeps its DuckDB environment in
    a class attribute from one invocation to the next (a process used to end with dbt), and DuckDB
    lets one process write a file: the run's next steps and other processes open it after dbt."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environnement, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if environnement is not None:
        environnement.close()


#: The levels of dbt's events printed in the run's log, as dbt's console logger prints them by default.
NIVEAUX_IMPRIMES = frozenset({"info", "warn", "error"})
_IMPRESSION = threading.Lock()


def _ligne_dbt(message) -> None:
    """One event of dbt as its console logger writes it at its default level (``HH:MM:SS  message``,
    the environment's secrets scrubbed by dbt's own scrubber), on this process's standard output."""
    from dbt_common.events.functions import env_scrubber

    ligne = f"{datetime.now():%H:%M:%S}  {env_scrubber(message.info.msg)}"
    with _IMPRESSION:  # dbt's threads
        print(ligne, flush=True)


def invoquer_dbt(args: list[str], project_dir: Path = DBT_PROJECT_DIR, nom: str = "dbt", run_id: str = "",
                 target: Path | None = None) -> InvocationDbt:
    """``dbt <args>`` in this process (dbt's programmatic entry point, ``dbtRunner``), from the parse of
    :func:`manifeste`, into a target folder of its own under the home's dbt folder
    (``<nom>-<run>-<id>``, or ``target``: its ``run_results.json``, and ``dbt.log`` when
    ``DBT_LOG_LEVEL_FILE`` asks for it: :meth:`pipeline.settings.Settings.environment`); dbt's lines
    of level info and above are printed as a ``dbt`` process prints them (the run's log:
    :func:`_ligne_dbt`). Raises when dbt fails, naming the failed nodes; the warehouse is closed in any
    case (:func:`liberer_entrepot`)."""
    from dbt.artifacts.schemas.run import RunExecutionResult
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import msg_to_dict

    manifest = manifeste(project_dir)
    target = target or dbt_dir() / f"{nom}-{run_id[:7] or 'hors_run'}-{uuid.uuid4().hex[:7]}"
    evenements: list[dict] = []

    def garder(message) -> None:  # dbt's threads: list.append is atomic
        if message.info.name in EVENEMENTS_RESULTAT:
            evenements.append(msg_to_dict(message))
        if message.info.level in NIVEAUX_IMPRIMES:
            _ligne_dbt(message)

    try:
        # --no-write-json: dbt would write the whole manifest again after every build (≈ 0.3 s an op,
        # measured alternately); the docs write the parse's once (generate_docs). run_results.json is
        # written here, from the result. --log-level none: dbt's console logger formats every event,
        # its debug ones too (each statement, each BEGIN and COMMIT, scrubbed of the environment's
        # secrets: a walk through os.environ), before Python's logging drops those under its level —
        # ≈ 1 s of the marts op's 4–5 s; garder prints the lines it would have kept.
        resultat = dbtRunner(manifest=manifest, callbacks=[garder]).invoke(
            [*args, *_options(project_dir, target), "--no-write-json", "--log-level", "none"])
    finally:
        liberer_entrepot()
    if isinstance(resultat.result, RunExecutionResult):
        resultat.result.write(str(target / "run_results.json"))
    if not resultat.success:
        echecs = [f"{r.node.unique_id} ({r.status}) : {r.message}" for r in getattr(resultat.result, "results", [])
                  if str(r.status) in ("error", "fail", "runtime error")]
        raise dg.Failure(description=f"dbt {args[0]} en échec" + (" : " + " ; ".join(echecs) if echecs else "")
                         + (f" — {resultat.exception}" if resultat.exception else "")
                         + (f" (journal : {target / 'dbt.log'})" if (target / "dbt.log").exists() else
                            " (le détail de ce que dbt a exécuté : relancer avec DBT_LOG_LEVEL_FILE=debug)"))
    return InvocationDbt(target, evenements)


def dbt_build(dbt: ObservatoireDbtResource, context: dg.AssetExecutionContext, years: list[int], demo: bool = False):
    """``dbt build`` of the op's selection for ``years`` (``demo``: on the demo's extracts), in this
    process; the op's outputs as dbt built its nodes."""
    with environment(dbt_env(years, demo)):
        invocation = dbt.construire(BUILD_ARGS, context=context)
    yield from invocation.evenements_dagster(context)
    keep_test_results(invocation.target_path, context.run_id, context.op_def.name)


def seed_parse(prepared: Path | None = None) -> Path | None:
    """A home's first dbt invocation starts from the parse the manifest's preparation left beside the
    manifest (``dbt_project/target``, the same project files) instead of parsing the whole project
    (≈ 6 s, 10–30 s under load): it is copied into the home's dbt folder when that folder has no parse
    yet, made what dbt would have saved for this home (:func:`_pour_ce_foyer`). dbt checks it as it
    checks any saved parse — files, profile, vars, environment — and parses again what differs,
    everything when the profile does. The home's parse, when there is one, is never replaced. Returns
    the seeded file, or None."""
    prepared = prepared or DBT_PROJECT.manifest_path.parent / PARTIAL_PARSE_FILE_NAME
    home_parse = dbt_dir() / PARTIAL_PARSE_FILE_NAME
    if home_parse.exists() or not prepared.exists() or home_parse == prepared:
        return None
    home_parse.parent.mkdir(parents=True, exist_ok=True)
    contents = _pour_ce_foyer(prepared, os.environ.get("OBSERVATOIRE_WAREHOUSE"))
    if contents is None:
        shutil.copy2(prepared, home_parse)
    else:
        home_parse.write_bytes(contents)
    return home_parse


#: Beside a prepared parse: the warehouse path its profile had (:func:`prepare_dbt_project`).
PREPARED_WAREHOUSE = ".observatoire-entrepot"


def profile_hash(warehouse: str, project_dir: Path = DBT_PROJECT_DIR) -> str:
    """The ``profile_hash`` dbt records in a parse (``ManifestLoader.build_manifest_state_check``: the
    SHA-256 of the sorted connection keys of the target's credentials) for this project's profile
    rendered with ``OBSERVATOIRE_WAREHOUSE=warehouse`` and the rest of the environment as it is —
    rendered by dbt's own profile renderer, the credentials dbt-duckdb's."""
    import contextvars
    import hashlib
    import pprint

    import yaml
    from dbt.adapters.duckdb.credentials import DuckDBCredentials
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    profiles = yaml.safe_load((project_dir / "profiles.yml").read_text(encoding="utf-8"))
    profile = profiles[yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))["profile"]]
    target = dict(profile["outputs"][profile["target"]])

    def rendered() -> dict:
        set_invocation_context({**os.environ, "OBSERVATOIRE_WAREHOUSE": warehouse})
        return ProfileRenderer({}).render_data(target)

    values = contextvars.copy_context().run(rendered)
    for key in ("type", "threads"):  # what dbt takes out of the target before its credentials
        values.pop(key, None)
    keys = sorted(DuckDBCredentials.from_dict(values).connection_info())
    return hashlib.sha256(pprint.pformat(keys).encode("utf-8")).hexdigest()


def _pour_ce_foyer(prepared: Path, warehouse: str | None) -> bytes | None:
    """The prepared parse as dbt would have saved it in this home; None when it is to be copied as it is
    (nothing to change, or not a parse this code knows: dbt decides). Two things differ:

    - the profile holds the warehouse's absolute path, which differs from home to home: the copy is
      given the hash dbt computes for this home's profile, when the prepared parse's is the one of the
      preparation's warehouse (:data:`PREPARED_WAREHOUSE`) and nothing else of the profile changed;
    - dagster-dbt's preparer blanks the checksum of every seed, so that a parse prepared in one place
      and used in another reparses them (a seed holds the absolute path of its project): the seeds
      whose path is the project's, here, and whose file is still what was parsed get the checksum dbt
      computes for their file (its own function), instead of being parsed again with whatever refers
      to them (≈ 0.6 s of a home's first run); an edited seed keeps the blank."""
    import msgpack

    try:
        parse = msgpack.unpackb(prepared.read_bytes(), raw=False, strict_map_key=False)
        saved, files = parse["state_check"]["profile_hash"], parse["files"]
    except Exception:  # noqa: BLE001 — not a parse this code knows: dbt decides
        return None
    change = False
    record = prepared.parent / PREPARED_WAREHOUSE
    prepared_for = record.read_text(encoding="utf-8").strip() if record.exists() else None
    if warehouse and prepared_for and prepared_for != warehouse and saved.get("checksum") == profile_hash(prepared_for):
        saved["checksum"] = profile_hash(warehouse)
        change = True
    from dbt.contracts.files import FilePath
    from dbt.parser.read_files import load_seed_source_file

    projet = str(prepared.parent.parent)
    noeuds = parse.get("nodes") or {}
    for entree in files.values():
        chemin = entree.get("path") or {}
        if (entree.get("parse_file_type") == "seed" and set(entree.get("checksum", {}).get("checksum", "")) == {"0"}
                and chemin.get("project_root") == projet
                and (Path(projet) / chemin.get("searched_path", "") / chemin.get("relative_path", "")).is_file()):
            fichier = FilePath(searched_path=chemin["searched_path"], relative_path=chemin["relative_path"],
                               modification_time=chemin.get("modification_time", 0.0), project_root=projet)
            somme = load_seed_source_file(fichier, entree.get("project_name")).checksum.to_dict()
            # only a seed whose file is still what was parsed (its node's checksum): an edited seed
            # keeps the blank, and dbt parses it again
            if entree.get("nodes") and all((noeuds.get(n) or {}).get("checksum") == somme for n in entree["nodes"]):
                entree["checksum"] = somme
                change = True
    return msgpack.packb(parse, use_bin_type=True) if change else None


def keep_test_results(target_path: Path, run_id: str, op: str) -> Path | None:
    """What the invocation's dbt tests gave (passed, warned and their names; a failed test fails the
    op), kept as ``<dbt folder>/tests/<run id>/<op>.json`` for the run's data-quality summary (the
    publication's metadata and the atlas annex: the tests are not Dagster asset checks)."""
    resultats = target_path / "run_results.json"
    if not resultats.exists():
        return None
    resume: dict[str, Any] = {"reussis": 0, "avertissements": 0, "en_echec": 0, "non_reussis": []}
    for resultat in json.loads(resultats.read_text(encoding="utf-8")).get("results", []):
        if not str(resultat.get("unique_id", "")).startswith("test."):
            continue
        statut = resultat.get("status")
        if statut == "pass":
            resume["reussis"] += 1
            continue
        avertissement = statut == "warn"
        resume["avertissements" if avertissement else "en_echec"] += 1
        resume["non_reussis"].append({"controle": resultat["unique_id"].split(".")[2],
                                      "table": "dbt", "gravite": "avertissement" if avertissement else "bloquant"})
    chemin = target_path.parent / "tests" / run_id / f"{op}.json"
    chemin.parent.mkdir(parents=True, exist_ok=True)
    chemin.write_text(json.dumps(resume, ensure_ascii=False), encoding="utf-8")
    return chemin


def dbt_docs_dir() -> Path:
    """Where ``dbt docs generate`` writes (index.html, manifest.json, catalog.json): the home's dbt
    folder (``DBT_TARGET_PATH``), sub-folder ``docs``."""
    return dbt_dir() / "docs"


def generate_docs(project_dir: Path, target: Path) -> Path | None:
    """``dbt docs generate`` into ``target``, in this process, from the project as the run's dbt
    invocations left it (:func:`manifeste`: the models' SQL as the builds compiled it; no compilation
    again: the docs need the models' descriptions and the warehouse's columns); the target, or None
    when dbt failed (the docs are documentation: their failure publishes nothing less)."""
    try:
        invocation = invoquer_dbt(["docs", "generate", "--no-compile"], project_dir, target=target)
    except dg.Failure:
        return None
    # without compilation dbt writes no manifest: the docs take the parse object's, written over the
    # previous run's (the project may have changed since)
    manifeste(project_dir).write(str(invocation.target_path / "manifest.json"))
    return invocation.target_path


#: The dbt project, as dagster-dbt prepares it: its manifest in ``dbt_project/target`` (whatever the
#: home: the manifest does not depend on the warehouse). Building this object reads
#: ``dbt_project.yml`` and nothing else; the preparation (``dbt parse``) is :func:`prepare_dbt_project`,
#: called when the definitions are built — never at import — or, for a deployment,
#: ``dagster-dbt project prepare-and-package --file pipeline/assets/dbt.py``.
DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> Path:
    """The venv's dbt, beside the interpreter (the venv need not be on PATH)."""
    return Path(sys.executable).parent / "dbt"


def manifest_is_fresh(project: DbtProject = DBT_PROJECT) -> bool:
    """Whether the project's manifest exists and is newer than every file of the project."""
    if not project.manifest_path.exists():
        return False
    sources = [project.project_dir / "dbt_project.yml", project.profiles_dir / "profiles.yml"]
    for folder in ("models", "macros", "seeds", "tests"):
        sources += [p for p in (project.project_dir / folder).rglob("*") if p.is_file()]
    newest = max(p.stat().st_mtime for p in sources if p.exists())
    return project.manifest_path.stat().st_mtime >= newest


def prepare_dbt_project(warehouse: Path, project: DbtProject = DBT_PROJECT) -> Path:
    """The manifest the definitions are built from, prepared by dagster-dbt's own preparer (``dbt
    parse``, guarded against a concurrent preparation) when it is missing or older than a project file:
    on first use from a clean checkout, and after each change during development (what
    ``DbtProject.prepare_if_dev`` does under ``dagster dev``, but only when something changed).

    The parse needs the profile's ``OBSERVATOIRE_WAREHOUSE`` (``warehouse``: the path only, nothing is
    opened) and a ``dbt`` on ``PATH`` (the venv's): both are given to it alone, the process's
    environment is restored after."""
    # One process at a time checks and prepares (two runs started together on a changed checkout):
    # dbt writes the manifest in place, and a process that found it fresh while another rewrote it
    # would read half a file.
    verrou = project.manifest_path.parent / ".observatoire-preparation.lock"
    verrou.parent.mkdir(parents=True, exist_ok=True)
    with verrou.open("a") as fichier:
        fcntl.flock(fichier, fcntl.LOCK_EX)
        try:
            if not manifest_is_fresh(project):
                path = os.pathsep.join([str(dbt_executable().parent), os.environ.get("PATH", "")])
                entrepot = os.environ.get("OBSERVATOIRE_WAREHOUSE", str(warehouse))
                (project.manifest_path.parent / PREPARED_WAREHOUSE).unlink(missing_ok=True)
                with environment({"PATH": path, "OBSERVATOIRE_WAREHOUSE": entrepot}):
                    project.preparer.prepare(project)
                # the profile the prepared parse was made with (seed_parse gives a home's copy its own)
                (project.manifest_path.parent / PREPARED_WAREHOUSE).write_text(entrepot, encoding="utf-8")
        finally:
            fcntl.flock(fichier, fcntl.LOCK_UN)
    return project.manifest_path


class ObservatoireDbtTranslator(DagsterDbtTranslator):
    """dbt sources → the ingest assets (``raw/<table>``); groups named after the dbt layers."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "referentiels"
        parts = dbt_resource_props.get("fqn", [])
        return parts[1] if len(parts) > 2 else "dbt"


def _years(context: dg.AssetExecutionContext) -> list[int]:
    window = context.partition_time_window
    return list(range(window.start.year, window.end.year))


def _demo(observatoire: ObservatoireResource) -> bool:
    """Whether the run's data folder is the demo's (the one decision: :mod:`pipeline.provenance`)."""
    return is_demo(observatoire.settings().data_dir)


def build_dbt_assets(manifest: Path) -> list[dg.AssetsDefinition]:
    """The two dbt ops (staging, marts) for a parsed manifest.

    dbt's tests are not Dagster asset checks: each check costs two events in the run's log (planned,
    then evaluated, each a SQLite write of ~10 ms: 480 events, 5–8 s of a demo run) for what dbt
    already decides — a failed test fails ``dbt build``, so the op fails, names the test (dbt's
    error, in the run's summary) and nothing downstream is built or published. The tests' results
    are in dbt's log (``var/logs/``) and ``run_results.json`` (``var/dbt/``). The Great Expectations
    suites stay asset checks, blocking, with their own severity.
    """
    translator = ObservatoireDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=False))

    @dbt_assets(manifest=manifest, select=STAGING_SELECT, name="dbt_staging", partitions_def=annual_partitions,
                backfill_policy=dg.BackfillPolicy.single_run(), dagster_dbt_translator=translator, pool=WRITER_POOL)
    def dbt_staging(context: dg.AssetExecutionContext, dbt: ObservatoireDbtResource,
                    observatoire: ObservatoireResource):
        """Seeds (referentials) and staging views; meanwhile, the import of Great Expectations for the
        suites that come next, in a thread (dbt, in this process, waits on DuckDB part of the time)."""
        importer_en_fond()
        yield from dbt_build(dbt, context, _years(context), _demo(observatoire))

    @dbt_assets(manifest=manifest, select="fqn:*", exclude=STAGING_SELECT, name="dbt_marts", partitions_def=annual_partitions,
                backfill_policy=dg.BackfillPolicy.single_run(), dagster_dbt_translator=translator, pool=WRITER_POOL)
    def dbt_marts(context: dg.AssetExecutionContext, dbt: ObservatoireDbtResource, observatoire: ObservatoireResource):
        """Intermediate rules and the indicator marts, rebuilt for the run's years; then the dbt docs
        (published with the year's quality documents), while the op still holds the writer's slot."""
        yield from dbt_build(dbt, context, _years(context), _demo(observatoire))
        docs = generate_docs(Path(dbt.project_dir), dbt_docs_dir())
        context.log.info(f"dbt docs : {docs}" if docs else "dbt docs generate en échec (voir le journal dbt)")

    return [dbt_staging, dbt_marts]
