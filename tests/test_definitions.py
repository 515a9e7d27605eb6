"""The Dagster code location loads, and its shape is the one the architecture describes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster_dbt import DbtProject

from pipeline.assets.dbt import manifest_is_fresh, prepare_dbt_project
from pipeline.definitions import ANNUAL_JOB, build_definitions
from pipeline.settings import DBT_PROJECT_DIR, PROJECT_DIR, WRITER_POOL


def test_definitions_load_with_every_stage(home):
    defs = build_definitions(home)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"raw/rpls", "raw/geo_communes", "stg_rpls__logements", "parc_par_commune", "geo_communes",
            "indicateurs_publies", "atlas_parc_social", "publication", "ref_communes"} <= keys
    # dbt sources are the ingest assets (the translator); the publication step reads the marts, the
    # atlas reads the publication only
    assert dg.AssetKey(["raw", "rpls"]) in graph.get(dg.AssetKey(["stg_rpls__logements"])).parent_keys
    assert dg.AssetKey(["parc_par_commune"]) in graph.get(dg.AssetKey(["indicateurs_publies"])).parent_keys
    assert graph.get(dg.AssetKey(["atlas_parc_social"])).parent_keys == {dg.AssetKey(["indicateurs_publies"])}
    job = defs.resolve_job_def(ANNUAL_JOB)
    assert job.partitions_def is not None
    assert defs.resolve_schedule_def("annuel_1er_decembre") is not None


def test_gx_check_is_blocking_and_whatever_opens_the_warehouse_shares_one_pool(home):
    defs = build_definitions(home)
    check_key = dg.AssetCheckKey(dg.AssetKey(["stg_rpls__logements"]), "gx_stg_rpls__logements")
    assert check_key in defs.resolve_asset_graph().asset_check_keys
    specs = {spec.key: spec for checks in defs.asset_checks for spec in checks.check_specs}
    assert specs[check_key].blocking
    warning = dg.AssetCheckKey(dg.AssetKey(["stg_rpls__logements"]), "gx_stg_rpls__logements_avertissements")
    assert not specs[warning].blocking
    # a suite per staging source and per published family, each with its two checks
    assert len([k for k in specs if k.name.startswith("gx_")]) == 2 * 14
    pools = {a.node_def.name: a.node_def.pool for a in defs.assets if isinstance(a, dg.AssetsDefinition)}
    assert pools["raw__rpls"] == pools["raw__geo_communes"] == pools["dbt_staging"] == pools["dbt_marts"] == WRITER_POOL
    # the readers of the warehouse take their turn with the writers of another run (DuckDB's lock
    # keeps a reader out while another process writes); the atlas and the swap read files only
    assert pools["indicateurs_publies"] == WRITER_POOL
    assert pools["atlas_parc_social"] is None and pools["publication"] is None
    check_pools = {c.node_def.name: c.node_def.pool for c in defs.asset_checks}
    assert check_pools["gx_stg_rpls__logements"] == check_pools["indicateurs_publies_audit_secret"] == WRITER_POOL
    assert check_pools["tableau_de_bord_indicateurs_audit_secret_mensuel"] == WRITER_POOL  # the dashboard's audit
    assert {pool for name, pool in check_pools.items() if name.startswith("gx_")} == {WRITER_POOL}


def _refuse_dbt_processes(monkeypatch) -> None:
    popen = subprocess.Popen.__init__

    def refuse(self, args, *a, **k):
        if Path(str(args[0] if isinstance(args, (list, tuple)) else args).split()[0]).name == "dbt":
            raise AssertionError(f"dbt process started: {args}")
        return popen(self, args, *a, **k)

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)


def test_dbt_runs_in_the_runs_process_parses_once_and_leaves_the_warehouse_to_others(home, monkeypatch):
    """dbt is invoked in the run's process (no ``dbt`` process: importing dbt and checking the parse cost
    ≈ 6 s an op), from one parse of the project per process; when an invocation ends the warehouse is
    closed: another process opens it to write (dbt-duckdb alone would keep it open until the process
    ends, and every later step, the atlas's kernel among them, would find it locked)."""
    from dbt.cli.main import dbtRunner

    from pipeline.assets import dbt as module

    prepare_dbt_project(home.warehouse)
    _refuse_dbt_processes(monkeypatch)
    commandes = []
    invoke = dbtRunner.invoke
    monkeypatch.setattr(dbtRunner, "invoke",
                        lambda self, args, **k: commandes.append(args[0]) or invoke(self, args, **k))
    monkeypatch.setattr(module, "_MANIFESTES", {})
    module.invoquer_dbt(["seed", "--select", "ref_bailleurs"], run_id="abcdef123")
    invocation = module.invoquer_dbt(["seed", "--select", "ref_bailleurs"], run_id="abcdef123")
    assert commandes == ["parse", "seed", "seed"]
    assert invocation.target_path.parent == home.dbt_dir and invocation.target_path.name.startswith("dbt-abcdef1-")
    assert (invocation.target_path / "run_results.json").exists() and (home.dbt_dir / "partial_parse.msgpack").exists()
    assert [e["data"]["node_info"]["unique_id"] for e in invocation.evenements] == ["seed.observatoire.ref_bailleurs"]
    ecrit = subprocess.run([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                            "print(c.execute('select count(*) from referentiels.ref_bailleurs').fetchone()[0])",
                            str(home.warehouse)], capture_output=True, text=True, timeout=120)
    assert ecrit.returncode == 0, ecrit.stderr[-1000:]
    assert int(ecrit.stdout) > 0


def test_dbt_prints_its_info_lines_without_formatting_its_debug_events(home, monkeypatch, capsys):
    """dbt's console logger formatted every event, each statement's debug ones too, before Python's
    logging dropped them: the invocation runs without it, and prints the lines of level info and up
    as dbt would (« HH:MM:SS  1 of 1 OK loaded seed file … »)."""
    from dbt_common.events.logger import _TextLogger

    from pipeline.assets import dbt as module

    prepare_dbt_project(home.warehouse)
    formatees = []
    create_line = _TextLogger.create_line
    monkeypatch.setattr(_TextLogger, "create_line", lambda self, msg: formatees.append(msg.info.level) or create_line(self, msg))
    monkeypatch.setattr(module, "_MANIFESTES", {})
    module.manifeste()
    formatees.clear()  # (the parse runs with --quiet, as before)
    module.invoquer_dbt(["seed", "--select", "ref_bailleurs"], run_id="abcdef123")
    sortie = capsys.readouterr().out
    assert formatees == []
    assert re.search(r"^\d\d:\d\d:\d\d  Running with dbt=", sortie, re.MULTILINE), sortie[-2000:]
    assert re.search(r"^\d\d:\d\d:\d\d  1 of 1 OK loaded seed file referentiels\.ref_bailleurs", sortie, re.MULTILINE)
    assert "Done. PASS=1" in sortie and "BEGIN" not in sortie  # no debug line


def test_a_failed_dbt_invocation_raises_naming_what_failed(home, monkeypatch):
    """A dbt node that fails fails the op with its name and dbt's message (the run's summary shows it),
    and the warehouse is closed all the same."""
    from pipeline.assets import dbt as module

    prepare_dbt_project(home.warehouse)
    monkeypatch.setattr(module, "_MANIFESTES", {})
    with pytest.raises(dg.Failure) as echec:  # the staging views read raw tables this empty warehouse lacks
        module.invoquer_dbt(["run", "--select", "stg_rpls__logements"])
    assert "model.observatoire.stg_rpls__logements (error)" in echec.value.description
    assert "DBT_LOG_LEVEL_FILE=debug" in echec.value.description  # dbt's debug log is off by default
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")
    with pytest.raises(dg.Failure) as echec:
        module.invoquer_dbt(["run", "--select", "stg_rpls__logements"])
    journal = Path(echec.value.description.split("(journal : ")[1].rstrip(")"))
    assert journal.name == "dbt.log" and "stg_rpls__logements" in journal.read_text()
    import duckdb

    duckdb.connect(str(home.warehouse)).close()


def test_the_dbt_docs_take_the_manifest_of_this_runs_parse_not_a_previous_runs(home, monkeypatch):
    """``dbt docs generate --no-compile`` writes no manifest: the docs folder gets the parse's, written
    over the one a previous run left there (the project may have changed since)."""
    from pipeline.assets import dbt as module

    prepare_dbt_project(home.warehouse)
    monkeypatch.setattr(module, "_MANIFESTES", {})
    docs = module.dbt_docs_dir()
    docs.mkdir(parents=True)
    (docs / "manifest.json").write_text('{"nodes": {}}')
    assert module.generate_docs(DBT_PROJECT_DIR, docs) == docs
    manifest = json.loads((docs / "manifest.json").read_text())
    assert "model.observatoire.obj_prio_etat" in manifest["nodes"]
    assert (docs / "catalog.json").exists() and (docs / "index.html").exists()


def test_a_subset_of_a_dbt_op_builds_only_the_assets_asked_for(home, monkeypatch):
    """Dagster asks a dbt op for some of its assets (the UI, a backfill of one mart): dbt builds those
    (dagster-dbt's selection), and the op reports each as materialised."""
    import duckdb

    from pipeline.assets import dbt as module

    monkeypatch.setattr(module, "_MANIFESTES", {})
    defs = build_definitions(home)
    _refuse_dbt_processes(monkeypatch)
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(asset_selection=[dg.AssetKey(["ref_bailleurs"]), dg.AssetKey(["ref_qpv"])],
                                    partition_key="2021", instance=dg.DagsterInstance.ephemeral())
    assert result.success
    materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialised == {"ref_bailleurs", "ref_qpv"}
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        tables = {t for (t,) in conn.execute("select table_name from information_schema.tables").fetchall()}
    assert {"ref_bailleurs", "ref_qpv"} <= tables and "ref_communes" not in tables


#: Run in a fresh interpreter: import the code location (and, with ``charger``, load it as
#: ``dagster dev`` does), recording every dbt process started (a library may start others: ``file`` for
#: ``platform.architecture``) and every variable of the environment changed.
SANS_EFFET = """
import json, os, subprocess, sys
lances = []
popen = subprocess.Popen.__init__
def espion(self, args, *a, **k):
    if "dbt" in str(args):
        lances.append(str(args))
    return popen(self, args, *a, **k)
subprocess.Popen.__init__ = espion
avant = dict(os.environ)
import pipeline.definitions
if sys.argv[1] == "charger":
    assert pipeline.definitions.defs().resolve_job_def("annuel") is not None
changes = sorted(k for k in set(avant) | set(os.environ) if avant.get(k) != os.environ.get(k))
print(json.dumps({"environnement": changes, "dbt": lances}))
"""


def _sans_effet(tmp_path: Path, quoi: str) -> dict:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OBSERVATOIRE_", "DAGSTER_", "DBT_"))}
    env["OBSERVATOIRE_HOME"] = str(home)
    result = subprocess.run([sys.executable, "-c", SANS_EFFET, quoi], cwd=PROJECT_DIR, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return {**json.loads(result.stdout.strip().splitlines()[-1]), "home": sorted(p.name for p in home.rglob("*"))}


def test_importing_the_definitions_writes_nothing_sets_nothing_and_runs_no_dbt(tmp_path):
    assert _sans_effet(tmp_path, "importer") == {"environnement": [], "dbt": [], "home": []}


def test_loading_the_code_location_leaves_the_home_and_the_environment_to_the_runs(tmp_path):
    """The location loaded (the manifest already prepared): nothing in the empty home, the environment
    untouched, no dbt started — the resource ``observatoire`` activates the settings in a run."""
    prepare_dbt_project(tmp_path / "entrepot.duckdb")
    assert _sans_effet(tmp_path, "charger") == {"environnement": [], "dbt": [], "home": []}


def test_the_dbt_manifest_is_prepared_when_missing_or_stale_by_dagster_dbt(tmp_path, monkeypatch):
    """From a clean checkout the manifest is prepared on first use (dagster-dbt's preparer, ``dbt
    parse``), again after a project file changed, and not otherwise."""
    projet = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, projet, ignore=shutil.ignore_patterns("target", "logs"))
    project = DbtProject(project_dir=projet, profiles_dir=projet)
    appels = []
    monkeypatch.setattr(project.preparer, "prepare", lambda p: appels.append(p) or p.manifest_path.parent.mkdir(
        parents=True, exist_ok=True) or p.manifest_path.write_text("{}"))
    assert not manifest_is_fresh(project)
    prepare_dbt_project(tmp_path / "entrepot.duckdb", project)
    prepare_dbt_project(tmp_path / "entrepot.duckdb", project)
    assert appels == [project] and manifest_is_fresh(project)
    modele = next((projet / "models").rglob("*.sql"))
    os.utime(modele, (time.time() + 10, time.time() + 10))
    prepare_dbt_project(tmp_path / "entrepot.duckdb", project)
    assert appels == [project, project]


def test_a_homes_first_dbt_invocation_starts_from_the_prepared_parse(tmp_path, monkeypatch):
    """A fresh home's dbt folder gets the parse the manifest's preparation left (dbt checks it and
    parses what differs); a home's own parse is never replaced."""
    from pipeline.assets.dbt import seed_parse

    prepared = tmp_path / "target" / "partial_parse.msgpack"
    prepared.parent.mkdir()
    prepared.write_bytes(b"prepared")
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "home" / "var" / "dbt"))
    seeded = seed_parse(prepared)
    assert seeded == tmp_path / "home" / "var" / "dbt" / "partial_parse.msgpack"
    assert seeded.read_bytes() == b"prepared"
    seeded.write_bytes(b"the home's own")
    assert seed_parse(prepared) is None and seeded.read_bytes() == b"the home's own"


def test_a_fresh_homes_copy_of_the_prepared_parse_is_taken_up_by_dbt_without_a_full_parse(tmp_path, monkeypatch):
    """The prepared parse was made with another warehouse path in the profile: the home's copy is given
    the profile hash of its own (computed as dbt computes it), so dbt starts from it — not « Unable to
    do partial parsing because profile has changed », a whole parse of the project. A record that
    does not match the prepared parse leaves the copy as it is (dbt decides)."""
    import msgpack

    from pipeline.assets.dbt import PREPARED_WAREHOUSE, dbt_executable, profile_hash, seed_parse

    projet = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, projet, ignore=shutil.ignore_patterns("target", "logs"))
    preparation = tmp_path / "preparation" / "observatoire.duckdb"
    prepare_dbt_project(preparation, DbtProject(project_dir=projet, profiles_dir=projet))
    prepared = projet / "target" / "partial_parse.msgpack"
    assert (projet / "target" / PREPARED_WAREHOUSE).read_text() == str(preparation)

    home = tmp_path / "home"
    entrepot = home / "var" / "warehouse" / "observatoire.duckdb"
    for name in [k for k in os.environ if k.startswith(("OBSERVATOIRE_", "DBT_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("OBSERVATOIRE_WAREHOUSE", str(entrepot))
    monkeypatch.setenv("DBT_TARGET_PATH", str(home / "var" / "dbt"))
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    assert profile_hash(str(entrepot)) != profile_hash(str(preparation))
    seeded = seed_parse(prepared)
    assert seeded is not None and seeded.read_bytes() != prepared.read_bytes()
    monkeypatch.setenv("OBSERVATOIRE_DONNEES_FICTIVES", "oui")  # a demo home (read when models run only)
    parse = subprocess.run([str(dbt_executable()), "--debug", "parse", "--project-dir", str(projet), "--profiles-dir",
                            str(projet), "--target-path", str(seeded.parent)],
                           cwd=projet, capture_output=True, text=True, timeout=600)
    assert parse.returncode == 0, parse.stdout[-3000:]
    assert "Unable to do partial parsing" not in parse.stdout, parse.stdout[-3000:]
    # nothing parsed again: not the seeds (dagster-dbt's preparer blanks their checksums), not the
    # models whose macros read the environment
    assert "no changes found, skipping parsing" in parse.stdout, parse.stdout[-3000:]

    # a seed edited since the preparation keeps the blank checksum: dbt parses it again
    seeded.unlink()
    seed = projet / "seeds" / "ref_secret_statistique.csv"
    lignes = seed.read_text(encoding="utf-8").rstrip("\n").split("\n")
    seed.write_text("\n".join([*lignes, lignes[-1]]) + "\n", encoding="utf-8")  # a row more
    seeds = {k: f["checksum"]["checksum"] for k, f in msgpack.unpackb(
        seed_parse(prepared).read_bytes(), raw=False, strict_map_key=False)["files"].items()
        if f.get("parse_file_type") == "seed"}
    assert set(seeds["observatoire://seeds/ref_secret_statistique.csv"]) == {"0"}
    assert set(seeds["observatoire://seeds/ref_epci.csv"]) != {"0"}

    # the record names another warehouse than the one the parse was prepared with: the profile's hash
    # is left as it was prepared (dbt decides)
    (projet / "target" / PREPARED_WAREHOUSE).write_text(str(tmp_path / "ailleurs.duckdb"))
    seeded.unlink()
    lire = lambda chemin: msgpack.unpackb(chemin.read_bytes(), raw=False, strict_map_key=False)  # noqa: E731
    assert (lire(seed_parse(prepared))["state_check"]["profile_hash"]
            == lire(prepared)["state_check"]["profile_hash"])
