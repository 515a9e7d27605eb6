"""Observatoire du parc social: the Dagster code location (ingest → dbt → quality → atlas)."""
