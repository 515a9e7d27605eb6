"""Quality gates (issue 14): the Great Expectations suites of ``expectations/`` on a tiny warehouse
written by hand, one corrupted case per family — an impossible value, a volume drop, a broken
invariant — and the two Dagster checks of a suite: blocking stops what is downstream, a warning
publishes with the warning in the run's summary."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from pipeline.assets.publication import controles_du_run
from pipeline.assets.quality import (
    build_gx_check,
    check_result,
    ecrire_resultats,
    enregistrer_resultats,
    tables_gardees,
)
from pipeline.partitions import annual_partitions
from pipeline.publication.catalogue import charger
from pipeline.quality.docs import descriptions_du_catalogue, ecrire_data_docs
from pipeline.quality.gx import lire_lignes, load_suite, run_suite, suite_columns, suite_names, validate
from pipeline.reports.sections import detail_controle
from pipeline.resources import ObservatoireResource
from pipeline.settings import DBT_PROJECT_DIR


def logements(annee: int, n: int, **changes) -> pd.DataFrame:
    """``n`` valid RPLS dwellings of ``annee`` (staging columns the suite reads); ``changes`` sets
    columns of the first row."""
    frame = pd.DataFrame({
        "annee": annee, "logement_id": [f"L{i}" for i in range(n)], "code_insee": "21231", "typologie": "T2",
        "surface_habitable": 50.0, "famille_produit": "PLUS", "loyer_m2_declare": 6.0, "bailleur": "GDH",
        "code_qpv": None, "ligne_extrait": range(2, n + 2)})
    for column, value in changes.items():
        frame.loc[0, column] = value
    return frame


def warehouse(path: Path, rpls: pd.DataFrame) -> Path:
    """A warehouse with the referentials the RPLS suite reads and ``rpls`` as its staging table."""
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema referentiels; create schema staging")
        conn.execute("create table referentiels.ref_communes as select * from (values ('21231'), ('21166')) t(code_insee)")
        conn.execute("create table referentiels.ref_bailleurs as select * from (values ('GDH'), ('ICF')) t(code)")
        conn.execute("create table referentiels.ref_qpv as select * from (values ('QPDEMO02')) t(code_qpv)")
        conn.execute("create table staging.stg_geo__qpv (annee integer, code_qpv varchar)")
        conn.execute("create table staging.stg_rpls__logements as select * from rpls")
    return path


def run(path: Path, name: str, annees: list[int], **kwargs):
    with duckdb.connect(str(path), read_only=True) as conn:
        return run_suite(conn, load_suite(name), annees, **kwargs)


def test_a_suite_per_staging_source_and_per_published_family_each_expectation_with_why_and_severity():
    guarded = {t for name in suite_names() for t in load_suite(name).tables}
    staging = {f"staging.{p.stem}" for p in (DBT_PROJECT_DIR / "models" / "staging").rglob("*.sql")}
    assert staging - guarded == set()
    familles = {load_suite(name).famille for name in suite_names()} - {None}
    assert familles == {i.famille for i in charger().indicateurs}
    for name in suite_names():  # load_suite refuses an expectation without its why or severity
        assert all(e["severity"] in ("critical", "warning") for e in load_suite(name).expectations)


def test_an_impossible_value_fails_the_blocking_check_naming_the_table_the_year_and_the_row(tmp_path):
    path = warehouse(tmp_path / "w.duckdb", pd.concat([logements(2020, 10), logements(2021, 10, surface_habitable=5.0)]))
    outcome = run(path, "stg_rpls__logements", [2021])
    assert not outcome.passed
    [echec] = [o for o in outcome.failures if o.severity == "critical"]
    assert (echec.table, echec.annee, echec.column, echec.unexpected_count) == (
        "staging.stg_rpls__logements", 2021, "surface_habitable", 1)
    assert echec.lignes == ("ligne 2 (surface_habitable=5.0)",)
    bloquant, avertissement = check_result(outcome, "critical"), check_result(outcome, "warning")
    assert bloquant.passed is False and bloquant.severity == dg.AssetCheckSeverity.ERROR
    assert "staging.stg_rpls__logements 2021 expect_column_values_to_be_between(surface_habitable) — 1 ligne(s) " \
           "sur 10 — ligne 2 (surface_habitable=5.0)" in bloquant.metadata["detail"].value
    assert avertissement.passed is True and avertissement.severity == dg.AssetCheckSeverity.WARN
    assert run(path, "stg_rpls__logements", [2020]).passed  # a suite describes one millésime


def test_referential_lists_are_read_from_the_warehouse_not_copied(tmp_path):
    path = warehouse(tmp_path / "w.duckdb", logements(2021, 5, bailleur="XYZ", code_insee="75056"))
    echecs = {o.column for o in run(path, "stg_rpls__logements", [2021]).failures if o.severity == "critical"}
    assert echecs == {"bailleur", "code_insee"}


def test_a_duplicate_dwelling_is_found_in_duckdb_within_a_millesime(tmp_path):
    path = warehouse(tmp_path / "w.duckdb", pd.concat([logements(2020, 3), logements(2021, 3, logement_id="L1")]))
    assert run(path, "stg_rpls__logements", [2020]).passed  # the same dwellings in every millésime
    [echec] = run(path, "stg_rpls__logements", [2021]).failures
    assert (echec.lot, echec.column, echec.lignes) == ("unicite", "doublons", ("doublons=1",))


def test_row_level_expectations_are_validated_in_batches_whose_counts_add_up(tmp_path):
    rpls = logements(2021, 5000)
    rpls.loc[[0, 4999], "surface_habitable"] = 3.0  # one in the first batch, one in the last
    path = warehouse(tmp_path / "w.duckdb", rpls)
    with duckdb.connect(str(path), read_only=True) as conn:
        batches = list(lire_lignes(conn, "staging.stg_rpls__logements", ["surface_habitable"], 2021, batch_rows=2048))
    assert [len(b) for b in batches] == [2048, 2048, 904]
    outcome = run(path, "stg_rpls__logements", [2021], batch_rows=2048)
    [echec] = [o for o in outcome.failures if o.column == "surface_habitable"]
    assert (echec.unexpected_count, echec.element_count) == (2, 5000)
    assert len(outcome.resultats_gx) > 3  # each batch validated on its own


def test_the_batches_give_gx_the_numeric_dtypes_it_compares_with_numpy(tmp_path):
    """DuckDB's INTEGER (int32) and DECIMAL reach GX as int64 and float64 — the only dtypes whose bounds
    GX checks with numpy, not with a Python call per value (a year of national demands: 18.6 M rows) —
    and the batch's values are unchanged."""
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        conn.execute("create schema staging; create table staging.t as select 2021 as annee, "
                     "cast(i as integer) as entier, cast(i as smallint) as petit, cast(i / 4 as decimal(12, 2)) as montant, "
                     "cast(i as real) as reel, case when i % 2 = 0 then cast(i as integer) end as avec_vides, "
                     "'x' || i as texte from range(5) r(i)")
        [frame] = lire_lignes(conn, "staging.t", ["entier", "petit", "montant", "reel", "avec_vides", "texte"], 2021,
                              ordre=["entier"])
    assert frame.dtypes.astype(str).to_dict() == {"entier": "int64", "petit": "int64", "montant": "float64",
                                                  "reel": "float64", "avec_vides": "float64", "texte": "str"}
    assert frame["montant"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0] and frame["avec_vides"].isna().tolist() == [
        False, True, False, True, False]


def test_a_year_of_several_files_is_read_in_file_then_line_order_across_batches(tmp_path):
    """Sorted by (file, line), the rows come file by file (read one at a time), each in line order, the
    batches running over from one file to the next — as one sort of the whole year would give them; a
    row without a file comes last."""
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        conn.execute("create schema staging; create table staging.t (annee integer, fichier_extrait varchar, "
                     "ligne_extrait integer, v integer)")
        for fichier, debut in (("m_2021-03.csv", 0), ("m_2021-01.csv", 7), (None, 0), ("m_2021-02.csv", 3)):
            conn.execute("insert into staging.t select 2021, ?, 100 - i, i + ? from range(5) r(i)", [fichier, debut])
        conn.execute("insert into staging.t values (2020, 'm_2020-12.csv', 1, 0)")
        lots = list(lire_lignes(conn, "staging.t", ["fichier_extrait", "ligne_extrait", "v"], 2021, batch_rows=4,
                                ordre=["fichier_extrait", "ligne_extrait"]))
        attendu = conn.execute("select fichier_extrait, ligne_extrait, v from staging.t where annee = 2021 "
                               "order by fichier_extrait, ligne_extrait").df()
    assert [len(lot) for lot in lots] == [4, 4, 4, 4, 4]
    lues = pd.concat(lots, ignore_index=True)
    assert lues["fichier_extrait"].tolist() == attendu["fichier_extrait"].tolist()
    assert lues["ligne_extrait"].tolist() == attendu["ligne_extrait"].tolist() and lues["fichier_extrait"].isna().tolist()[-5:] == [True] * 5


def test_the_batches_do_not_depend_on_how_the_year_was_loaded(tmp_path):
    """A year loaded at once and the same year loaded in three runs, a month resumed last: the same
    batches with the same rows in the same order (the Data Docs pages are one per batch)."""
    rpls = logements(2021, 5000).assign(fichier_extrait="rpls_2021.csv")
    d_un_coup = warehouse(tmp_path / "a.duckdb", rpls)
    repris = warehouse(tmp_path / "b.duckdb", rpls.iloc[:1000])
    with duckdb.connect(str(repris)) as conn:
        for part in (rpls.iloc[3000:], rpls.iloc[1000:3000]):  # noqa: B007 — read by DuckDB by name
            conn.execute("insert into staging.stg_rpls__logements select * from part")
    lots = []
    for path in (d_un_coup, repris):
        with duckdb.connect(str(path), read_only=True) as conn:
            lots.append(list(lire_lignes(conn, "staging.stg_rpls__logements", ["ligne_extrait", "surface_habitable"],
                                         2021, batch_rows=2048, ordre=["fichier_extrait", "ligne_extrait"])))
    assert [len(b) for b in lots[0]] == [len(b) for b in lots[1]] == [2048, 2048, 904]
    for a, b in zip(*lots):
        pd.testing.assert_frame_equal(a, b)
    assert lots[1][0]["ligne_extrait"].is_monotonic_increasing


@pytest.mark.parametrize(("lignes_2021", "bloquant", "avertissement"), [(80, False, False), (65, False, True),
                                                                        (40, True, True)])
def test_a_volume_drop_warns_beyond_30_percent_and_blocks_beyond_half(tmp_path, lignes_2021, bloquant, avertissement):
    path = warehouse(tmp_path / "w.duckdb", pd.concat([logements(2020, 100), logements(2021, lignes_2021)]))
    outcome = run(path, "stg_rpls__logements", [2021])
    volume = [o for o in outcome.failures if o.lot == "volume"]
    assert any(o.severity == "critical" for o in volume) is bloquant and outcome.passed is not bloquant
    assert any(o.severity == "warning" for o in volume) is avertissement
    if volume:
        assert "annee_precedente=2020" in volume[0].lignes[0]
        assert f"variation={lignes_2021 / 100 - 1:.2f}".rstrip("0") in volume[0].lignes[0]


def test_a_total_row_that_is_not_the_sum_of_its_parts_breaks_the_objectives_invariants(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema marts; create schema intermediate")
        conn.execute("""create table marts.obj_q1_hors_qpv as select * from (values
            (2021, 'GDH', 10, 100, 0.1), (2021, 'ICF', 5, 50, 0.1), (2021, 'TOTAL', 16, 150, 0.10667)
        ) t(annee, bailleur, numerateur, denominateur, valeur)""")
        conn.execute("""create table intermediate.int_attributions_qualifiees as select * from (values
            (2021, true, 1, 900.0), (2021, true, null, 900.0)) t(annee, est_bail_signe, quartile, revenu_mensuel)""")
    outcome = run(path, "marts_objectifs", [2021])
    assert not outcome.passed
    echecs = {(o.column, o.severity): o for o in outcome.failures}
    assert echecs[("ecart_numerateur", "critical")].lignes == (
        "indicateur=obj_q1_hors_qpv, ligne=bailleur, ecart_numerateur=1.0",)
    assert echecs[("ecart_numerateur", "critical")].table == "marts (objectif)"
    # half the signed leases without a quartile: a warning, not a block
    assert echecs[("part_quartile_inconnu", "warning")].lignes


def test_a_share_above_one_and_a_numerator_above_its_denominator_are_blocking(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema marts")
        conn.execute("""create table marts.obj_q1_hors_qpv as select * from (values
            (2021, 'GDH', 120, 100, 1.2), (2021, 'TOTAL', 120, 100, 1.2)) t(annee, bailleur, numerateur, denominateur, valeur)""")
        conn.execute("create schema intermediate")
        conn.execute("create table intermediate.int_attributions_qualifiees (annee int, est_bail_signe bool, "
                     "quartile int, revenu_mensuel double)")
    echecs = {o.column for o in run(path, "marts_objectifs", [2021]).failures if o.severity == "critical"}
    assert echecs == {"denominateur_part", "part"}


def definitions_with(check: dg.AssetChecksDefinition, home) -> tuple[dg.AssetsDefinition, dg.AssetsDefinition]:
    """A stand-in staging asset (its table is already in the warehouse) and an asset downstream of it
    that records the run's data-quality summary, as the publication step does."""

    @dg.asset(key=dg.AssetKey(["stg_rpls__logements"]), partitions_def=annual_partitions)
    def staging() -> None:
        pass

    @dg.asset(deps=[staging], partitions_def=annual_partitions)
    def aval(context) -> None:
        resume = controles_du_run(context.instance, context.run_id)
        (home.var_dir / "resume.json").write_text(json.dumps(resume), encoding="utf-8")

    return staging, aval


def materialize(home, rpls: pd.DataFrame) -> dg.ExecuteInProcessResult:
    home.warehouse.parent.mkdir(parents=True, exist_ok=True)
    warehouse(home.warehouse, rpls)
    check = build_gx_check(load_suite("stg_rpls__logements"), {dg.AssetKey(["stg_rpls__logements"])})
    staging, aval = definitions_with(check, home)
    return dg.materialize([staging, aval, check], partition_key="2021", raise_on_error=False,
                          resources={"observatoire": ObservatoireResource.from_settings(home)},
                          instance=dg.DagsterInstance.ephemeral())


def test_a_failed_blocking_check_stops_what_is_downstream(home):
    result = materialize(home, pd.concat([logements(2020, 10), logements(2021, 10, surface_habitable=5.0)]))
    assert not result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations["gx_stg_rpls__logements"].passed is False
    assert evaluations["gx_stg_rpls__logements_avertissements"].passed is True
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert "aval" not in materialized and not (home.var_dir / "resume.json").exists()
    kept = json.loads(next((home.var_dir / "qualite").glob("*/stg_rpls__logements.json")).read_text("utf-8"))
    assert any(not r["reussie"] and r["colonne"] == "surface_habitable" for r in kept["resultats"])


def test_a_warning_publishes_and_the_summary_names_it_with_its_rows(home):
    result = materialize(home, pd.concat([logements(2020, 10), logements(2021, 10, loyer_m2_declare=45.0)]))
    assert result.success
    resume = json.loads((home.var_dir / "resume.json").read_text("utf-8"))
    assert resume["avertissements"] == 1 and resume["en_echec"] == 0
    [avertissement] = resume["non_reussis"]
    assert avertissement["controle"] == "gx_stg_rpls__logements_avertissements"
    assert avertissement["table"] == "staging.stg_rpls__logements" and avertissement["gravite"] == "avertissement"
    assert avertissement["exemples"] == ["ligne 2 (loyer_m2_declare=45.0)"]
    # the atlas annex shows what was found, in a few words
    assert detail_controle(avertissement) == ("expect_column_values_to_be_between(loyer_m2_declare) — 1 ligne(s) — "
                                              "ligne 2 (loyer_m2_declare=45.0)")


def test_results_are_kept_in_the_warehouse_and_rendered_as_data_docs(tmp_path):
    path = warehouse(tmp_path / "w.duckdb", logements(2021, 10, loyer_m2_declare=45.0))
    outcome = run(path, "stg_rpls__logements", [2021])
    ecrire_resultats(tmp_path / "qualite" / "run-1", outcome)
    assert enregistrer_resultats(path, tmp_path / "qualite") == len(outcome.outcomes)
    assert enregistrer_resultats(path, tmp_path / "qualite") == 0  # a run is loaded once
    with duckdb.connect(str(path), read_only=True) as conn:
        assert conn.execute("select run_id, table_validee, exemples from qualite.resultats_validation "
                            "where not reussie").fetchall() == [
            ("run-1", "staging.stg_rpls__logements", "ligne 2 (loyer_m2_declare=45.0)")]
    index = ecrire_data_docs(tmp_path / "qualite" / "run-1", tmp_path / "docs", 2021)
    pages = list((tmp_path / "docs" / "data_docs" / "stg_rpls__logements").glob("*.html"))
    assert index is not None and "stg_rpls__logements" in index.read_text("utf-8") and pages
    assert "loyer_m2_declare" in pages[0].read_text("utf-8") or any("loyer_m2_declare" in p.read_text("utf-8") for p in pages)


def test_the_dbt_docs_describe_each_mart_with_the_catalogue_definition():
    catalogue = charger()
    indicateur = catalogue.indicateurs[0]
    manifest = {"nodes": {"model.x": {"resource_type": "model", "name": indicateur.modele, "description": "old"},
                          "model.y": {"resource_type": "model", "name": "int_autre", "description": "kept"}}}
    nodes = descriptions_du_catalogue(manifest, catalogue)["nodes"]
    assert indicateur.definition in nodes["model.x"]["description"] and nodes["model.y"]["description"] == "kept"


def test_family_suites_guard_the_catalogue_marts_and_read_only_the_columns_they_use():
    assert tables_gardees(load_suite("marts_objectifs")) == [i.modele for i in charger().indicateurs
                                                              if i.famille == "objectif"]
    assert "loyer_m2_declare" in suite_columns("stg_rpls__logements") and "logement_id" in suite_columns("stg_rpls__logements")
    outcome = validate(logements(2021, 2, surface_habitable=500.0), "stg_rpls__logements")
    assert [o.column for o in outcome.failures] == ["surface_habitable"]


def test_the_atlas_annex_shows_a_warning_with_its_table_and_rows():
    from types import SimpleNamespace

    from pipeline.reports.sections import Atlas

    controles = {"reussis": 40, "en_echec": 0, "avertissements": 1, "data_docs": "qualite/data_docs/index.html",
                 "non_reussis": [{"controle": "gx_stg_rpls__logements_avertissements", "gravite": "avertissement",
                                  "table": "staging.stg_rpls__logements", "attente": "expect_column_values_to_be_between(loyer_m2_declare)",
                                  "lignes_en_erreur": 3, "exemples": ["rpls_2021.csv ligne 2 (loyer_m2_declare=45.0)"]}]}
    annexe = Atlas.qualite(SimpleNamespace(d=SimpleNamespace(metadonnees={"qualite": {"controles": controles}}),
                                           annee=2021))
    assert "gx_stg_rpls__logements_avertissements" in annexe and "avertissement" in annexe
    assert "3 ligne(s) — rpls_2021.csv ligne 2 (loyer_m2_declare=45.0)" in annexe
    assert "qualite/data_docs/index.html" in annexe


def test_a_referential_list_is_read_in_one_order_whatever_the_query_gives():
    """The Data Docs print an expectation's list as it comes; a UNION gives its rows in any order: the
    list is sorted, so the same run twice publishes the same pages."""
    import duckdb

    from pipeline.quality.gx import _resoudre

    conn = duckdb.connect()
    kwargs = {"column": "code_qpv", "value_set": {"requete": "select * from (values ('QP2'), ('QP1'), ('QP3'), ('QP1'))"}}
    assert _resoudre(kwargs, conn, 2021)["value_set"] == ["QP1", "QP2", "QP3"]
    assert kwargs["value_set"] == {"requete": "select * from (values ('QP2'), ('QP1'), ('QP3'), ('QP1'))"}


def test_the_dbt_docs_page_does_not_depend_on_the_order_dbt_parsed_its_nodes(tmp_path):
    """dbt lists the manifest's nodes in the order it parsed them (a full and a partial parse differ):
    the published page is the same for the same nodes."""
    import json

    from pipeline.quality.docs import ecrire_dbt_docs
    from pipeline.publication.catalogue import Catalogue

    pages = []
    for ordre in (["model.a", "model.b"], ["model.b", "model.a"]):
        target = tmp_path / "_".join(ordre) / "target"
        target.mkdir(parents=True)
        (target / "index.html").write_text('<script>m="MANIFEST.JSON INLINE DATA";c="CATALOG.JSON INLINE DATA"</script>')
        noeuds = {n: {"name": n.split(".")[1], "resource_type": "model"} for n in ordre}
        (target / "manifest.json").write_text(json.dumps({"nodes": noeuds}))
        (target / "catalog.json").write_text(json.dumps({"nodes": {n: {"columns": {}} for n in ordre}}))
        page = ecrire_dbt_docs(target, target.parent / "publie", Catalogue(tmp_path, (), {}))
        pages.append(page.read_text())
    assert pages[0] == pages[1]
