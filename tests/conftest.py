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
