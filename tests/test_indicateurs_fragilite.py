"""The fragility rules of section D (indicators.md), as dbt unit tests, run on a fresh warehouse.

The rules are written once in ``dbt_project/models/intermediate/fragilite`` and their YAML declares
``unit_tests`` (tag ``fragilite``): a household at exactly 40 % of the PLUS ceiling is not below it,
thresholds are met with equality (exactly 40 % / 50 % / 20 %), classes and thresholds come from the
referential, a survey stands for its year and the next. This test builds what those unit tests need
in an empty DuckDB file — the raw tables as ``_raw__sources.yml`` declares them (empty), the seeds,
the upstream models with ``dbt build --empty`` (a dbt unit test reads its inputs' columns from the
warehouse) — then runs ``dbt test --select test_type:unit,tag:fragilite`` with its own target path,
and checks that every unit test the YAML declares ran and passed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import yaml

from pipeline.settings import DBT_PROJECT_DIR

TAG = "fragilite"
DBT = Path(sys.executable).with_name("dbt")
YAML_FILES = sorted((DBT_PROJECT_DIR / "models").glob("**/fragilite/*.yml"))


def declared_unit_tests() -> dict[str, str]:
    """Unit tests tagged ``fragilite`` in the fragility YAML files: name → model under test."""
    declared: dict[str, str] = {}
    for path in YAML_FILES:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for test in document.get("unit_tests") or []:
            tags = (test.get("config") or {}).get("tags") or []
            if TAG in ([tags] if isinstance(tags, str) else tags):
                declared[test["name"]] = test["model"]
    return declared


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


def test_yaml_declares_the_fragility_unit_tests():
    declared = declared_unit_tests()
    # the rule of each legal/CIA definition has its unit test
    assert {"int_ops_menages", "int_fragilite_unites", "int_ops_annees"} <= set(declared.values()), declared


def test_fragility_unit_tests_pass_on_a_fresh_warehouse(tmp_path):
    declared = declared_unit_tests()
    assert declared, f"no unit test tagged {TAG} in {YAML_FILES}"
    warehouse = tmp_path / "wh.duckdb"
    create_empty_raw_tables(warehouse)

    # the inputs of the models under test must exist (dbt reads their columns from the warehouse):
    # their seeds, loaded, and their models, built empty
    upstream = ["build", "--empty", "--resource-type", "seed", "--resource-type", "model",
                "--select", *sorted({f"+{model}" for model in declared.values()})]
    result = dbt(upstream, tmp_path, warehouse)
    assert result.returncode == 0, f"dbt {' '.join(upstream)} failed:\n{result.stdout[-4000:]}"

    result = dbt(["test", "--select", f"test_type:unit,tag:{TAG}"], tmp_path, warehouse)
    run_results = json.loads((tmp_path / "target" / "run_results.json").read_text(encoding="utf-8"))
    ran = {r["unique_id"].rsplit(".", 1)[-1]: r["status"] for r in run_results["results"]
           if r["unique_id"].startswith("unit_test.")}
    assert result.returncode == 0, f"dbt unit tests failed:\n{result.stdout[-6000:]}"
    assert len(ran) == len(declared), f"ran {sorted(ran)}, declared {sorted(declared)}"
    assert set(ran) == set(declared)
    assert set(ran.values()) == {"pass"}, ran

