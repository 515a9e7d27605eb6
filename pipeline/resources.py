"""Dagster resources: where the observatoire's files are, the dbt CLI, the DuckDB writer."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipeline.settings import Settings


class ObservatoireResource(dg.ConfigurableResource):
    """The installation's folders (see :class:`pipeline.settings.Settings`), activated — folders
    created, the tools' environment exported (dbt's warehouse and target, GX, matplotlib, Jupyter) —
    when a run's step starts using it, not when the definitions are imported or loaded."""

    home: str
    data_dir: str
    epci: str

    @classmethod
    def from_settings(cls, settings: Settings) -> "ObservatoireResource":
        return cls(home=str(settings.home), data_dir=str(settings.data_dir), epci=settings.epci)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.settings().activate()

    def settings(self) -> Settings:
        return Settings(home=Path(self.home), data_dir=Path(self.data_dir), epci=self.epci)
