"""The project's generic dbt tests, on hand-made tables: what they let through and what they report.

A small dbt project in a temporary folder takes the project's test macros (``macros/tests``) and two
seeds, one that keeps every rule and one that breaks each once; dbt stores the failing rows
(``--store-failures``), read back here.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from pipeline.settings import DBT_PROJECT_DIR

DBT = Path(sys.executable).with_name("dbt")

REGLES = """
      - model_rules:
          arguments:
            not_null: [annee, bailleur]
            key: [annee, bailleur]
            accepted_values:
              bailleur: [GDH, ORVITIS, TOTAL]
            not_null_where: {logements: "raison is null", raison: "logements is null"}
"""


def test_model_rules_passes_a_clean_table_and_reports_each_broken_rule(tmp_path: Path):
    projet = tmp_path / "projet"
    shutil.copytree(DBT_PROJECT_DIR / "macros" / "tests", projet / "macros")
    (projet / "seeds").mkdir()
    # a count, or the reason it is missing
    (projet / "seeds" / "propre.csv").write_text(
        "annee,bailleur,logements,raison\n2024,GDH,3,\n2024,ORVITIS,,extrait absent\n2024,TOTAL,4,\n")
    # a repeated key (2024, GDH), a code outside the list with neither a count nor a reason, an empty year
    (projet / "seeds" / "sale.csv").write_text(
        "annee,bailleur,logements,raison\n2024,GDH,3,\n2024,GDH,2,\n2024,ICF,,\n,ORVITIS,1,\n")
    (projet / "seeds" / "_seeds.yml").write_text(
        "version: 2\nseeds:\n" + "".join(f"  - name: {nom}\n    data_tests:{REGLES}" for nom in ("propre", "sale")))
    (projet / "dbt_project.yml").write_text(
        "name: regles\nversion: '1.0'\nprofile: regles\nmacro-paths: [macros]\nseed-paths: [seeds]\n"
        "seeds:\n  regles:\n    +column_types: {annee: integer, bailleur: varchar, logements: integer, raison: varchar}\n")
    entrepot = tmp_path / "regles.duckdb"
    (projet / "profiles.yml").write_text(
        f"regles:\n  target: t\n  outputs:\n    t:\n      type: duckdb\n      path: '{entrepot}'\n      threads: 1\n")
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    resultat = subprocess.run([str(DBT), "build", "--store-failures", "--profiles-dir", str(projet)], cwd=projet,
                              env=env, capture_output=True, text=True, timeout=600)
    sortie = resultat.stdout
    assert resultat.returncode == 1, sortie[-4000:]
    # the two seeds and the clean table's test pass; the other test fails, on its five broken rules
    assert "PASS=3 WARN=0 ERROR=1" in sortie and "Got 5 results" in sortie, sortie[-4000:]

    with duckdb.connect(str(entrepot), read_only=True) as conn:
        tables = [t for (t,) in conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema like '%dbt_test__audit'").fetchall()]
        lignes = {}
        for table in tables:
            lignes[table] = sorted(conn.execute(f"select regle, colonne, valeur, lignes from {table}").fetchall(),
                                   key=str)
    assert len(tables) == 2, tables
    sale = next(v for k, v in lignes.items() if "sale" in k)
    propre = next(v for k, v in lignes.items() if "propre" in k)
    assert propre == []
    assert sale == sorted([("non_nul", "annee", None, 1), ("cle_unique", "annee, bailleur", "2024 ; GDH", 2),
                           ("valeur_admise", "bailleur", "ICF", 1),
                           ("non_nul_si", "logements si raison is null", None, 1),
                           ("non_nul_si", "raison si logements is null", None, 1)], key=str)
