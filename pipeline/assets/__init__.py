"""Dagster assets, one module per stage: ingest → dbt → quality → atlas."""
