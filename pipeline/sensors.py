"""The sensor on ``data_raw/``: a new or changed extract requests the run of its period.

An annual extract (RPLS, SYPLO, OPS…) requests the annual job for its year; a monthly one
(demands, CALEOL examinations) the monthly job for its month. A file is "changed" when its size or
modification time differs from the last tick; the ingest assets then compare SHA-256s, so a file
touched without a change loads nothing. Geography files are not watched (they feed every year:
rerun the years concerned). Stopped by default: turn it on in the UI (``make ui``) once extracts
are dropped by hand or by a transfer.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg

from pipeline.sources.extract import ExtractError, all_sources, period_of


def scan(data_dir: Path) -> dict[str, str]:
    """Every extract of ``data_raw`` that a source claims: relative path → "size:mtime_ns"."""
    out: dict[str, str] = {}
    for spec in all_sources():
        folder = data_dir / spec.folder
        if not folder.is_dir():
            continue
        for path in folder.glob(f"{spec.prefix}_*"):
            if path.is_file() and path.suffix.lower() in (".csv", ".parquet", ".xlsx"):
                stat = path.stat()
                out[str(path.relative_to(data_dir))] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return dict(sorted(out.items()))


def changed_periods(previous: dict[str, str], current: dict[str, str]) -> tuple[set[str], set[str]]:
    """(years, months) whose extracts are new or changed between two scans."""
    years, months = set(), set()
    for rel, signature in current.items():
        if previous.get(rel) == signature:
            continue
        try:
            annee, mois = period_of(Path(rel))
        except ExtractError:
            continue
        if mois is None:
            years.add(str(annee))
        else:
            months.add(f"{annee}-{mois:02d}")
    return years, months


def data_raw_sensor(annual_job: dg.UnresolvedAssetJobDefinition, monthly_job: dg.UnresolvedAssetJobDefinition,
                    data_dir: Path) -> dg.SensorDefinition:
    """The sensor, watching ``data_dir``."""

    @dg.sensor(name="data_raw", jobs=[annual_job, monthly_job], minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.STOPPED,
               description=f"Nouveaux extraits ou extraits modifiés dans {data_dir}.")
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        previous = json.loads(context.cursor) if context.cursor else {}
        current = scan(data_dir)
        years, months = changed_periods(previous, current)
        tag = hashlib.sha256(json.dumps(current).encode()).hexdigest()[:12]
        requests = [dg.RunRequest(job_name=monthly_job.name, partition_key=m, run_key=f"mois-{m}-{tag}")
                    for m in sorted(months)]
        requests += [dg.RunRequest(job_name=annual_job.name, partition_key=y, run_key=f"annee-{y}-{tag}")
                     for y in sorted(years)]
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(current))

    return _sensor
