"""Shared fixtures: an isolated observatoire home per test, the shared real-data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.settings import PROJECT_DIR, Settings

SHARED_REF = PROJECT_DIR.parent / "shared" / "ref"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose home and data folder are under tmp_path (environment restored after)."""
    for name in list(os.environ):
        if name.startswith(("OBSERVATOIRE_", "DAGSTER_HOME")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OBSERVATOIRE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OBSERVATOIRE_DATA_DIR", str(tmp_path / "data"))
    settings = Settings.from_env()
    for key, value in settings.environment().items():
        monkeypatch.setenv(key, value)
    return settings.activate()


@pytest.fixture
def shared_ref() -> Path:
    """The real public data of ../shared/ref (skipped where the folder is absent)."""
    if not SHARED_REF.is_dir():
        pytest.skip(f"{SHARED_REF} is absent: the real-data tests need the shared folder beside the project")
    return SHARED_REF


#: The files that start whole runs, longest first (``--durations``, 2026-12-02: test_pannes ≈ 6 min of
#: runs, test_end_to_end ≈ 5, the others 1–3): started first, they do not leave one worker running
#: alone at the end.
LONGEST_FIRST = ("test_pannes.py", "test_end_to_end.py", "test_concurrence.py", "test_sources_partielles.py",
                 "test_demo_demande.py", "test_tableau_de_bord_run.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first (:data:`LONGEST_FIRST`, then any other file with a slow test), each file's
    tests kept together and in their order: ``make test`` runs the files on two workers (pytest-xdist,
    ``--dist loadfile``), which take the next file as they finish one."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}

    def rank(item: pytest.Item) -> int:
        if item.path.name in LONGEST_FIRST:
            return LONGEST_FIRST.index(item.path.name)
        return len(LONGEST_FIRST) + (item.path not in slow_files)

    items.sort(key=rank)
