"""Every dbt unit test of the project runs here, in `make test` — not in each annual run.

A unit test checks the SQL of a model on hand-made rows (the legal rules of the attribution
objectives, the fragility thresholds…); an annual run does not change that SQL, so the Dagster dbt
ops build without them (``pipeline.assets.dbt.BUILD_ARGS``) and they are checked once per change of
the project, here, on a fresh warehouse: the raw tables as ``_raw__sources.yml`` declares them
(empty), the seeds, the upstream models built with ``dbt build --empty`` (a dbt unit test reads its
inputs' columns from the warehouse).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import yaml

from pipeline.assets.dbt import BUILD_ARGS
from pipeline.settings import DBT_PROJECT_DIR

DBT = Path(sys.executable).with_name("dbt")


def create_empty_raw_tables(warehouse: Path) -> None:
    """Every raw table of ``_raw__sources.yml``, empty, with its declared columns and types."""
    sources = yaml.safe_load((DBT_PROJECT_DIR / "models" / "staging" / "_raw__sources.yml").read_text("utf-8"))
    with duckdb.connect(str(warehouse)) as con:
        for source in sources["sources"]:
            schema = source.get("schema", source["name"])
            con.execute(f'create schema if not exists "{schema}"')
            for table in source["tables"]:
                columns = ", ".join(f'"{c["name"]}" {c["data_type"]}' for c in table.get("columns", []))
                if columns:
                    con.execute(f'create table "{schema}"."{table["name"]}" ({columns})')


def dbt(args: list[str], tmp_path: Path, warehouse: Path) -> subprocess.CompletedProcess:
    """Run dbt on the project with a private warehouse, target and log path (never dbt_project/target)."""
    env = {**os.environ, "OBSERVATOIRE_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    command = [str(DBT), *args, "--profiles-dir", str(DBT_PROJECT_DIR),
               "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]
    return subprocess.run(command, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, timeout=900)


def declared_unit_tests() -> dict[str, str]:
    """Every unit test the YAML files of the project declare: name → model under test."""
    declared: dict[str, str] = {}
    for path in sorted((DBT_PROJECT_DIR / "models").glob("**/*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        declared.update({test["name"]: test["model"] for test in document.get("unit_tests") or []})
    return declared


def test_the_annual_run_leaves_the_unit_tests_to_make_test():
    assert BUILD_ARGS[0] == "build"
    assert BUILD_ARGS[BUILD_ARGS.index("--exclude-resource-type") + 1] == "unit_test"


def test_every_unit_test_passes_on_a_fresh_warehouse(tmp_path: Path):
    declared = declared_unit_tests()
    assert len(declared) >= 15, declared  # the legal rules (attributions) and fragility, at least
    warehouse = tmp_path / "wh.duckdb"
    create_empty_raw_tables(warehouse)
    upstream = ["build", "--empty", "--resource-type", "seed", "--resource-type", "model",
                "--select", *sorted({f"+{model}" for model in declared.values()})]
    result = dbt(upstream, tmp_path, warehouse)
    assert result.returncode == 0, f"dbt {' '.join(upstream)} failed:\n{result.stdout[-4000:]}"

    result = dbt(["test", "--select", "test_type:unit"], tmp_path, warehouse)
    run_results = json.loads((tmp_path / "target" / "run_results.json").read_text(encoding="utf-8"))
    ran = {r["unique_id"].rsplit(".", 1)[-1]: r["status"] for r in run_results["results"]
           if r["unique_id"].startswith("unit_test.")}
    assert result.returncode == 0, f"dbt unit tests failed:\n{result.stdout[-6000:]}"
    assert set(ran) == set(declared) and set(ran.values()) == {"pass"}, ran
