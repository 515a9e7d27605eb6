"""The fragility rules of section D (indicators.md): each rule has its dbt unit test.

The rules are written once in ``dbt_project/models/intermediate/fragilite`` and their YAML declares
``unit_tests`` (tag ``fragilite``): a household at exactly 40 % of the PLUS ceiling is not below it,
thresholds are met with equality (exactly 40 % / 50 % / 20 %), classes and thresholds come from the
referential, a survey stands for its year and the next. Here: that each rule has its unit test; they
run, with every other unit test of the project, in tests/test_dbt_unit_tests.py.
"""

import yaml

from pipeline.settings import DBT_PROJECT_DIR

TAG = "fragilite"
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


def test_yaml_declares_the_fragility_unit_tests():
    declared = declared_unit_tests()
    # the rule of each legal/CIA definition has its unit test
    assert {"int_ops_menages", "int_fragilite_unites", "int_ops_annees"} <= set(declared.values()), declared
