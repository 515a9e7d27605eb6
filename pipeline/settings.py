"""Where the observatoire keeps its state, and the environment its tools need.

Everything the pipeline writes lives under one home (``OBSERVATOIRE_HOME``, default the project
folder): the DuckDB warehouse, ``DAGSTER_HOME``, caches, the published reports. The extracts are
read from the data folder (``OBSERVATOIRE_DATA_DIR``, default ``<home>/data_raw``); the demo's, from
``<home>/data_demo``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_DIR / "dbt_project"
EXPECTATIONS_DIR = PROJECT_DIR / "expectations"
REPORTS_DIR = PROJECT_DIR / "reports"

#: Dijon métropole, the first user (SIREN of the EPCI, as in BANATIC).
EPCI_SIREN_DEFAULT = "242100410"

#: The concurrency pool of every op that opens the DuckDB warehouse: the writers, and the readers
#: too (DuckDB's file lock keeps a reader out while another process writes, and a writer out while
#: another process reads), so that the runs of one home take turns instead of failing on the lock.
WRITER_POOL = "duckdb_writer"


def dagster_yaml(dagster_home: Path) -> str:
    """The ``dagster.yaml`` of the observatoire's Dagster instance in ``dagster_home``: Dagster's
    SQLite storage in its usual place (``history/``), its engines kept
    (:mod:`pipeline.dagster_storage`); one run at a time in the warehouse's pool."""
    return f"""\
# Written by pipeline/settings.py: the observatoire's Dagster instance.
telemetry:
  enabled: false
storage:
  # Dagster's SQLite storage, each database's engine kept between two writes (pipeline/dagster_storage.py)
  custom:
    module: pipeline.dagster_storage
    class: StockageSqlite
    config:
      base_dir: {json.dumps(str(dagster_home))}
concurrency:
  pools:
    # DuckDB locks its file: every op that opens the warehouse is in the pool {WRITER_POOL!r}.
    default_limit: 1
"""


@dataclass(frozen=True)
class Settings:
    """The folders of one installation of the observatoire."""

    home: Path
    data_dir: Path
    epci: str = EPCI_SIREN_DEFAULT

    @classmethod
    def from_env(cls) -> "Settings":
        """Read the folders from ``OBSERVATOIRE_HOME`` / ``OBSERVATOIRE_DATA_DIR`` (or defaults)."""
        home = Path(os.environ.get("OBSERVATOIRE_HOME", PROJECT_DIR)).resolve()
        data_dir = Path(os.environ.get("OBSERVATOIRE_DATA_DIR", home / "data_raw")).resolve()
        epci = os.environ.get("OBSERVATOIRE_EPCI", EPCI_SIREN_DEFAULT)
        return cls(home=home, data_dir=data_dir, epci=epci)

    @property
    def demo_dir(self) -> Path:
        """Where ``observatoire demo`` writes its fictitious extracts: a folder of its own, never the
        drop zone of the real ones (``data_raw``)."""
        return self.home / "data_demo"

    @property
    def var_dir(self) -> Path:
        return self.home / "var"

    @property
    def warehouse(self) -> Path:
        return self.var_dir / "warehouse" / "observatoire.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.var_dir / "dagster"

    @property
    def dbt_dir(self) -> Path:
        """dbt's target folder for this home: each invocation's artefacts, and the parse of the
        project the next invocation starts from (it is bound to the warehouse path of the profile)."""
        return self.var_dir / "dbt"

    @property
    def cache_dir(self) -> Path:
        return self.var_dir / "cache"

    @property
    def output_dir(self) -> Path:
        return self.home / "reports" / "output"

    def environment(self) -> dict[str, str]:
        """The environment variables the tools read (Dagster, dbt, GX, matplotlib, Jupyter)."""
        return {
            "OBSERVATOIRE_HOME": str(self.home),
            "OBSERVATOIRE_DATA_DIR": str(self.data_dir),
            "OBSERVATOIRE_EPCI": self.epci,
            "OBSERVATOIRE_WAREHOUSE": str(self.warehouse),
            "DAGSTER_HOME": str(self.dagster_home),
            "DAGSTER_DISABLE_TELEMETRY": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            # dbt's debug file log (every statement it runs) costs ≈ 15 % of a dbt op (1.2 s of 8 s
            # for the marts of a small year): off unless asked for; what dbt prints is in the run's log
            "DBT_LOG_LEVEL_FILE": os.environ.get("DBT_LOG_LEVEL_FILE", "none"),
            "DBT_TARGET_PATH": str(self.dbt_dir),
            # A dbt test runs in the op that builds the last of its parents: with dbt's default
            # (eager), the staging op would also run a mart's relationship test to a seed before the
            # mart exists. dagster-dbt reads this variable as the user's choice.
            "DBT_INDIRECT_SELECTION": "buildable",
            "DO_NOT_TRACK": "1",
            "GX_ANALYTICS_ENABLED": "False",
            "MPLCONFIGDIR": str(self.cache_dir / "matplotlib"),
            "XDG_CACHE_HOME": str(self.cache_dir),
            "JUPYTER_PLATFORM_DIRS": "1",
            "JUPYTER_RUNTIME_DIR": str(self.cache_dir / "jupyter-runtime"),
            "IPYTHONDIR": str(self.cache_dir / "ipython"),
            "TQDM_DISABLE": "1",
        }

    def activate(self) -> "Settings":
        """Create the folders, write the Dagster instance file and export the environment."""
        for folder in (self.warehouse.parent, self.dagster_home, self.cache_dir, self.output_dir):
            folder.mkdir(parents=True, exist_ok=True)
        instance_file = self.dagster_home / "dagster.yaml"
        attendu = dagster_yaml(self.dagster_home)
        if not instance_file.exists() or instance_file.read_text() != attendu:
            instance_file.write_text(attendu)
        os.environ.update(self.environment())
        return self


def duckdb_config() -> dict[str, str]:
    """DuckDB's settings for the connections the observatoire opens itself (reading an extract, the
    warehouse): a memory ceiling, beyond which DuckDB spills to a temporary folder instead of growing
    (``OBSERVATOIRE_DUCKDB_MEMORY``, default 3 GB: the national volume runs within 8 GB)."""
    return {"memory_limit": os.environ.get("OBSERVATOIRE_DUCKDB_MEMORY", "3GB"),
            "temp_directory": str(Path(tempfile.gettempdir()) / "observatoire_duckdb")}


def code_version() -> str:
    """The code version stamped on every output: git commit (``+dirty`` when modified)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=10", "HEAD"], cwd=PROJECT_DIR,
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_DIR,
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        from importlib.metadata import PackageNotFoundError, version

        try:
            return "v" + version("observatoire")
        except PackageNotFoundError:
            return "inconnue"
