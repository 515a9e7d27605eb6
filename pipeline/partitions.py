"""Partitions: one per RPLS millésime / report year (the situation on 1 January of the year)."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

FIRST_YEAR = 2016

#: Yearly partitions from 2016; the current year is included (end_offset=1) because its
#: millésime exists from January on.
annual_partitions = dg.TimeWindowPartitionsDefinition(
    start=str(FIRST_YEAR), fmt="%Y", cron_schedule="0 0 1 1 *", end_offset=1,
)


#: Monthly partitions for the monthly extracts (demand snapshots, CALEOL examinations).
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=f"{FIRST_YEAR}-01", fmt="%Y-%m", end_offset=1)


def months_of_year(annee: int) -> list[str]:
    """The monthly partition keys of a year."""
    return [f"{annee}-{m:02d}" for m in range(1, 13)]


def years_of_keys(keys: list[str]) -> list[int]:
    """Partition keys → sorted list of years."""
    return sorted(int(k) for k in keys)


RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def range_tags(start: str, end: str) -> dict[str, str]:
    """The tags of one Dagster run over the partition range ``start``–``end`` (a single-run backfill)."""
    return {RANGE_START: start, RANGE_END: end}


def years_from_tags(tags: Mapping[str, str]) -> list[int]:
    """The years a run targets, read from its tags (single partition or a single-run range)."""
    if "dagster/partition" in tags:
        return [int(tags["dagster/partition"])]
    start = tags.get(RANGE_START)
    end = tags.get(RANGE_END)
    if start and end:
        return list(range(int(start), int(end) + 1))
    return []
