"""Dagster assets, one module per stage: ingest → dbt → quality → atlas."""

import warnings

# BackfillPolicy.single_run is what lets a backfill of years be one run; Dagster still labels the
# parameter beta. Said once here rather than on every command.
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy` .* is currently in beta")
