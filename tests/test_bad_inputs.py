"""Every bad-input case of the ingestion: what `validate` says, and that nothing there before is lost.

The cases (one small extract each) are in ``bad_inputs.py``. Each is delivered for a period that
already holds a good extract, next to another period: a refused file changes nothing, a file with
bad rows replaces its period by its good rows only (the others quarantined), the other period is
untouched, and the raw file is never modified.
"""

from __future__ import annotations

import duckdb
import pytest
from typer.testing import CliRunner

from bad_inputs import CASES, DEM, LU, QUARANTAINE, REFUSE, Case, good_file, write
from pipeline.assets.ingest import ingest_file
from pipeline.cli import app, validate_file
from pipeline.sources.extract import ExtractError, period_of, source_for_file
from pipeline.warehouse import connect

IDS = [case.label for case in CASES]


def ingest(home, path):
    annee, mois = period_of(path)
    period = f"{annee}" if mois is None else f"{annee}-{mois:02d}"
    with connect(home.warehouse) as conn:
        return ingest_file(conn, home, source_for_file(path), path, period, "run-test", b"k")


def snapshot(home) -> dict[str, list[tuple]]:
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        tables = [t for (t,) in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' order by 1").fetchall()]
        return {t: conn.execute(f'select * exclude (ingere_le) from raw."{t}" order by all').fetchall()
                if t == "_ingestion" else conn.execute(f'select * from raw."{t}" order by all').fetchall()
                for t in tables}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_validate_says_the_outcome_and_writes_nothing(tmp_path, case: Case) -> None:
    path = write(tmp_path, case)
    code, lines = validate_file(path)
    assert code == case.code, "\n".join(lines)
    assert any(case.phrase in line for line in lines), "\n".join(lines)
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == [path]
    assert path.read_bytes() == case.content


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_no_bad_input_loses_what_was_there_before(home, case: Case) -> None:
    other = good_file(home.data_dir, Case("autre période", DEM.replace("03", "02"), b"", LU, ""))
    good = good_file(home.data_dir, case)
    ingest(home, other)
    ingest(home, good)
    before = snapshot(home)
    path = write(home.data_dir, case)
    if case.refused:
        with pytest.raises(ExtractError) as err:
            ingest(home, path)
        assert path.name in str(err.value)
        assert snapshot(home) == before
    else:
        result, record = ingest(home, path)
        assert (record.lignes_rejetees == 0) == (case.code == LU)
        # The other period of the same source is untouched.
        if record.source == "demandes":
            with duckdb.connect(str(home.warehouse), read_only=True) as conn:
                assert conn.execute("select count(*) from raw.demandes where MOIS = 2").fetchone()[0] == 2
        if case.code == QUARANTAINE:
            with duckdb.connect(str(home.warehouse), read_only=True) as conn:
                quarantined = conn.execute("select fichier, ligne, message from raw._quarantaine").fetchall()
            assert quarantined and all(f == path.name for f, _, _ in quarantined)
            assert any(case.phrase in m for _, _, m in quarantined)
    assert path.read_bytes() == case.content  # the raw file is never modified


def test_a_header_only_file_does_not_wipe_a_loaded_period(home) -> None:
    header_only = next(c for c in CASES if c.label == "en-tête seul")
    good = good_file(home.data_dir, header_only)
    ingest(home, good)
    before = snapshot(home)
    path = write(home.data_dir, header_only)
    with pytest.raises(ExtractError, match=r"aucune ligne à charger .* garde les 2 lignes déjà chargées"):
        ingest(home, path)
    assert snapshot(home) == before


def test_validate_command_exit_codes_and_summary(tmp_path) -> None:
    runner = CliRunner()
    by_code = {code: write(tmp_path / str(code), next(c for c in CASES if c.code == code))
               for code in (LU, QUARANTAINE, REFUSE)}
    for code, path in by_code.items():
        result = runner.invoke(app, ["validate", str(path)])
        assert result.exit_code == code, result.output
        assert "Rien n'a été écrit." in result.output
    result = runner.invoke(app, ["validate", str(tmp_path)])  # a folder: every extract in it, worst code
    assert result.exit_code == REFUSE
    assert "Bilan : 3 fichier(s) — 1 sans rejet, 1 avec rejets, 1 illisible(s)." in result.output
