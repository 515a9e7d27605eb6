"""Demo and real data kept apart: the demo in a folder of its own, a folder is the demo's only when
every file in it is one the generator wrote (its manifest), and the real-data path never imports the
generator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.provenance import MANIFEST, is_demo, provenance, write_manifest
from pipeline.settings import PROJECT_DIR
from pipeline.sources.pseudonymise import DEMO_KEY, ENV_KEY, PseudoKeyMissing, pseudo_key

DEMANDE = "NUM_UNIQUE;DATE_DEPOT\n021210000001D;2021-01-05\n"


def demo_folder(folder: Path) -> Path:
    """A tiny folder of « demo » files with their manifest, as the generator leaves it."""
    files = []
    for name, text in (("sne/demandes_2021-03.csv", DEMANDE), ("geo/communes.geojson", "{}"),
                       ("DONNEES_FICTIVES.txt", "DONNÉES FICTIVES")):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        files.append(path)
    write_manifest(folder, files)
    return folder


@pytest.fixture
def sans_cle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_KEY, raising=False)


def test_a_folder_of_demo_files_uses_the_demo_key_and_a_readme_changes_nothing(tmp_path, sans_cle) -> None:
    folder = demo_folder(tmp_path / "demo")
    (folder / "README.md").write_text("notes", encoding="utf-8")
    (folder / "sne" / "demandes_2021-03.csv").unlink()  # fewer files than written: still the demo's
    assert provenance(folder).demo and pseudo_key(folder) == DEMO_KEY.encode()


def test_a_real_file_dropped_beside_demo_files_requires_the_key(tmp_path, sans_cle, monkeypatch) -> None:
    folder = demo_folder(tmp_path / "demo")
    reel = folder / "sne" / "attributions_2021-03.csv"
    reel.write_text("NUM_UNIQUE;DATE_CAL\n021210009999;2021-03-02\n", encoding="utf-8")
    origine = provenance(folder)
    assert not origine.demo and origine.foreign == ("sne/attributions_2021-03.csv",)
    with pytest.raises(PseudoKeyMissing) as erreur:
        pseudo_key(folder)
    message = str(erreur.value)
    assert "sne/attributions_2021-03.csv" in message and "absent(s) du manifeste" in message
    assert ENV_KEY in message and "Rien n'a été lu ni écrit" in message
    monkeypatch.setenv(ENV_KEY, "cle-reelle")
    assert pseudo_key(folder) == b"cle-reelle"


def test_a_modified_demo_file_makes_the_folder_real(tmp_path, sans_cle) -> None:
    folder = demo_folder(tmp_path / "demo")
    assert is_demo(folder)
    demandes = folder / "sne" / "demandes_2021-03.csv"
    demandes.write_text(DEMANDE.replace("021210000001D", "021210000001X"), encoding="utf-8")  # same size
    origine = provenance(folder)
    assert not origine.demo and origine.modified == ("sne/demandes_2021-03.csv",) and origine.foreign == ()
    with pytest.raises(PseudoKeyMissing, match="modifié.* : sne/demandes_2021-03.csv"):
        pseudo_key(folder)


def test_a_folder_without_manifest_is_real_and_its_files_are_named(tmp_path, sans_cle) -> None:
    folder = demo_folder(tmp_path / "demo")
    (folder / MANIFEST).unlink()
    origine = provenance(folder)
    assert not origine.demo and "sne/demandes_2021-03.csv" in origine.foreign
    assert not is_demo(tmp_path / "absent")


def test_the_demo_is_generated_in_its_own_folder_not_in_the_drop_zone(home, monkeypatch) -> None:
    """`observatoire demo generate` without --data-dir writes into <home>/data_demo; `run` stays on
    data_raw (OBSERVATOIRE_DATA_DIR); --data-dir still chooses."""
    import pipeline.demo
    from pipeline.cli import app

    written: list[Path] = []
    monkeypatch.setattr(pipeline.demo, "generate",
                        lambda data_dir, *args, **kwargs: written.append(data_dir) or pipeline.demo.DemoReport(data_dir))
    runner = CliRunner()
    assert runner.invoke(app, ["demo", "generate", "--years", "2021"]).exit_code == 0
    assert written == [home.home / "data_demo"] and home.demo_dir == home.home / "data_demo"
    assert home.demo_dir != home.data_dir and not home.data_dir.exists()
    assert runner.invoke(app, ["demo", "generate", "--data-dir", str(home.home / "ailleurs")]).exit_code == 0
    assert written[-1] == home.home / "ailleurs"


def test_the_demo_never_writes_among_foreign_files(home) -> None:
    from pipeline.cli import app

    home.demo_dir.mkdir(parents=True)
    (home.demo_dir / "rpls_2021.csv").write_text("reel", encoding="utf-8")
    result = CliRunner().invoke(app, ["demo", "generate", "--years", "2021"])
    assert result.exit_code == 2 and "rpls_2021.csv" in result.output
    assert sorted(p.name for p in home.demo_dir.iterdir()) == ["rpls_2021.csv"]


def test_the_real_data_path_does_not_import_the_demo_package() -> None:
    """Every module of the pipeline but the generator (readers, pseudonymisation, assets, publication,
    atlas, the definitions, the CLI) imported in a fresh interpreter: ``pipeline.demo`` is not loaded."""
    code = """
import importlib, sys
from pathlib import Path
# the modules from their files (pkgutil.walk_packages would import the demo package to walk it)
for path in sorted(Path("pipeline").rglob("*.py")):
    name = ".".join(path.with_suffix("").parts).removesuffix(".__init__")
    if not name.startswith("pipeline.demo"):
        importlib.import_module(name)
loaded = sorted(m for m in sys.modules if m.startswith("pipeline."))
print(len(loaded), [m for m in loaded if m.startswith("pipeline.demo")])
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    count, demo = result.stdout.split(" ", 1)
    assert int(count) > 40 and demo.strip() == "[]"
