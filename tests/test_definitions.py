"""The Dagster code location loads, and its shape is the one the architecture describes."""

from __future__ import annotations

import dagster as dg

from pipeline.definitions import ANNUAL_JOB, build_definitions
from pipeline.settings import WRITER_POOL


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
    assert {pool for name, pool in check_pools.items() if name.startswith("gx_")} == {WRITER_POOL}
