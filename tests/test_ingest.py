"""Ingestion: pseudonymisation, idempotence, atomicity, the quarantine, the sensor."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from pipeline.assets.ingest import ingest_file, ingest_files
from pipeline.demo import generate
from pipeline.provenance import write_manifest
from pipeline.sensors import changed_periods, data_raw_sensor, scan
from pipeline.sources.extract import ExtractError, SourceSpec, period_of, read_extract, source_for_file
from pipeline.sources.pseudonymise import DEMO_KEY, ENV_KEY, PseudoKeyMissing, pseudo_key, pseudonymise
from pipeline.warehouse import connect

HEADER = ("NUM_UNIQUE;DATE_DEPOT;TYPE_DEMANDE;NB_PERSONNES;NB_ENFANTS_MOINS_14;REVENU_MENSUEL;"
          "TYPOLOGIE_SOUHAITEE\n")


def demandes(folder: Path, rows: list[str], name: str = "demandes_2021-03.csv") -> Path:
    path = folder / "sne" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def ingest(home, path: Path, key: bytes = b"k") -> tuple:
    annee, mois = period_of(path)
    period = f"{annee}" if mois is None else f"{annee}-{mois:02d}"
    with connect(home.warehouse) as conn:
        return ingest_file(conn, home, source_for_file(path), path, period, "run-test", key)


def table(home, sql: str) -> list[tuple]:
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_pseudonyms_are_keyed_hashes_and_no_clear_identifier_reaches_raw(home) -> None:
    path = demandes(home.data_dir, ["021210000001;2021-01-05;EXTERNE;2;1;900;T2"])
    ingest(home, path, key=b"secret")
    stored = table(home, "select NUM_UNIQUE from raw.demandes")[0][0]
    assert stored == pseudonymise(pd.Series(["021210000001"]), b"secret")[0]
    assert len(stored) == 64 and "021210000001" not in stored
    assert pseudonymise(pd.Series(["021210000001"]), b"autre")[0] != stored


def test_the_quarantine_shows_a_pseudonymised_identifier_as_its_pseudonym(home) -> None:
    """A repeated NUM_UNIQUE is a rejet naming the value: stored in the warehouse and in var/, it is
    the pseudonym that raw holds, never the numéro unique (a dry run, without the key, shows it)."""
    path = demandes(home.data_dir, ["021210000001;2021-01-05;EXTERNE;2;1;900;T2",
                                    "021210000001;2021-02-05;MUTATION;1;0;700;T3",
                                    "021210000002;2021-02-06;MUTATION;1;0;700;T3",
                                    "021210000002;2021-02-06;MUTATION;1;0;700;T3"])
    result, record = ingest(home, path, key=b"secret")
    assert record.lignes_rejetees == 2
    stored = table(home, "select NUM_UNIQUE from raw.demandes order by _LIGNE")
    assert [s for (s,) in stored] == list(pseudonymise(pd.Series(["021210000001", "021210000002"]), b"secret"))
    quarantined = table(home, "select ligne, valeur, regle, message from raw._quarantaine order by ligne")
    assert [(ligne, valeur, regle) for ligne, valeur, regle, _ in quarantined] == [
        (3, stored[0][0], "doublon"), (5, stored[1][0], "doublon")]
    assert f"NUM_UNIQUE = « {stored[0][0]} » : doublon de la ligne 2" in quarantined[0][3]
    written = (home.var_dir / "quarantine" / "demandes" / "demandes_2021-03.csv.rejets.csv").read_text()
    for text in [written, *(m for *_, m in quarantined), *result.first_messages]:  # the run's metadata
        assert "021210000001" not in text and "021210000002" not in text
    dry_run = read_extract(path, source_for_file(path))
    assert "« 021210000001 » : doublon de la ligne 2" in dry_run.rejets.loc[0, "message"]


def test_the_pseudonym_shown_is_the_one_stored_for_a_value_written_with_spaces(home) -> None:
    """The file's cells are stripped before typing: a repeated numéro unique written with spaces
    shows the pseudonym raw holds for the first one (that of the stripped value)."""
    path = demandes(home.data_dir, ["021210000003;2021-01-05;EXTERNE;2;1;900;T2",
                                    " 021210000003 ;2021-02-05;MUTATION;1;0;700;T3"])
    ingest(home, path, key=b"secret")
    (stored,), = table(home, "select NUM_UNIQUE from raw.demandes")
    assert table(home, "select ligne, valeur, regle from raw._quarantaine") == [(3, stored, "doublon")]


def test_a_line_too_long_keeps_its_extra_fields_out_of_the_quarantine(home) -> None:
    """Its extra fields belong to no column (a shifted identifier can be there): counted, not copied,
    when ingesting a source that carries one; the dry run shows them."""
    path = demandes(home.data_dir, ["021210000001;2021-01-05;EXTERNE;2;1;900;T2",
                                    "X;2021-01-05;EXTERNE;2;1;900;T2;021210000009;x"])
    ingest(home, path, key=b"secret")
    (valeur, message), = table(home, "select valeur, message from raw._quarantaine")
    assert valeur == "2 champ(s) en trop" and "ligne trop longue (en trop : 2 champ(s), non recopiés" in message
    written = (home.var_dir / "quarantine" / "demandes" / "demandes_2021-03.csv.rejets.csv").read_text()
    assert "021210000009" not in written + message
    assert "021210000009" in read_extract(path, source_for_file(path)).rejets.loc[0, "valeur"]


def test_lines_a_stray_quote_joined_are_refused_and_their_values_not_copied(home) -> None:
    """A quote opened on one line and closed on the next joins them into one row of the header's width:
    a value spans them and holds the next line's numéro unique. In a source that carries an identifier
    (no text over several lines) the row is refused, saying which lines; its rejets count a value's lines
    instead of copying it; the dry run shows it; the lines after keep their numbers."""
    path = demandes(home.data_dir, ['021210000001;2021-01-05;EXTERNE;2;1;"900;T2',
                                    '021210000002;2021-01-06;EXTERNE;2;1;900";T2',
                                    "021210000003;2021-01-07;EXTERNE;2;1;800;T2",
                                    "021210000004;2021-01-07;EXTERNE;2;1;800;T9"])
    result, record = ingest(home, path, key=b"secret")
    assert (record.lignes_lues, record.lignes_gardees, record.lignes_rejetees) == (3, 1, 2)
    quarantined = table(home, "select ligne, colonne, valeur, regle, message from raw._quarantaine order by ligne, colonne")
    assert [(ligne, colonne, regle) for ligne, colonne, _, regle, _ in quarantined] == [
        (2, "(ligne entière)", "lignes_jointes"), (2, "REVENU_MENSUEL", "type"), (5, "TYPOLOGIE_SOUHAITEE", "code_inconnu")]
    assert quarantined[0][2] == "sur 2 lignes"
    assert quarantined[0][4].startswith("demandes_2021-03.csv, ligne 2 : les lignes 2 à 3 sont lues comme une seule")
    assert quarantined[1][2].startswith("valeur sur 2 lignes, non recopiée : la source porte un identifiant")
    assert quarantined[1][4] == (f"demandes_2021-03.csv, ligne 2, colonne REVENU_MENSUEL : « {quarantined[1][2]} » "
                                 "n'est pas un nombre (virgule ou point décimal).")
    assert quarantined[2][2] == "T9"  # a value on one line is shown as written
    assert table(home, "select _LIGNE from raw.demandes") == [(4,)]
    written = (home.var_dir / "quarantine" / "demandes" / "demandes_2021-03.csv.rejets.csv").read_text()
    for text in [written, *(v + m for _, _, v, _, m in quarantined), *result.first_messages]:
        assert "021210000002" not in text
    dry_run = read_extract(path, source_for_file(path)).rejets
    assert "021210000002" in dry_run.loc[dry_run["colonne"] == "REVENU_MENSUEL", "valeur"].iloc[0]


def test_a_file_without_header_is_refused_without_copying_its_first_line(home) -> None:
    """Its first line is data (a numéro unique): the error, kept by the run, counts it; the dry run shows it."""
    path = demandes(home.data_dir, [])
    path.write_text("021210000001;2021-01-05;EXTERNE;2;1;900;T2\n", encoding="utf-8")
    with pytest.raises(ExtractError, match=r"En-tête lu : 7 champ\(s\), non recopiés") as err:
        ingest(home, path, key=b"secret")
    assert "021210000001" not in str(err.value)
    with pytest.raises(ExtractError, match=r"En-tête lu : 021210000001, 2021-01-05"):
        read_extract(path, source_for_file(path))


def test_any_rejet_of_a_pseudonymised_column_shows_its_pseudonym(home) -> None:
    """The per-row checks too (here a closed list, on a column declared pseudonymised for the test)."""
    import dataclasses

    spec = dataclasses.replace(SourceSpec.load("demandes"), pseudonymise=("NUM_UNIQUE", "TYPE_DEMANDE"))
    path = demandes(home.data_dir, ["021210000001;2021-01-05;AUTRE_CHOSE;2;1;900;T2"])
    rejets = read_extract(path, spec, key=b"secret").rejets
    assert list(rejets["regle"]) == ["code_inconnu"]
    assert rejets.loc[0, "valeur"] == pseudonymise(pd.Series(["AUTRE_CHOSE"]), b"secret")[0]
    assert "AUTRE_CHOSE" not in rejets.loc[0, "message"] and rejets.loc[0, "valeur"] in rejets.loc[0, "message"]
    assert read_extract(path, spec).rejets.loc[0, "valeur"] == "AUTRE_CHOSE"


def test_key_comes_from_the_environment_the_demo_key_only_for_demo_data(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(ENV_KEY, raising=False)
    with pytest.raises(PseudoKeyMissing, match=ENV_KEY):
        pseudo_key(tmp_path)
    write_manifest(tmp_path, [demandes(tmp_path, ["021210000001D;2021-01-05;EXTERNE;2;1;900;T2"])])
    assert pseudo_key(tmp_path) == DEMO_KEY.encode()
    monkeypatch.setenv(ENV_KEY, "cle-reelle")
    assert pseudo_key(tmp_path) == b"cle-reelle"


def test_same_file_twice_changes_nothing_and_a_corrected_file_replaces_its_period(home) -> None:
    path = demandes(home.data_dir, ["021210000001;2021-01-05;EXTERNE;2;1;900;T2",
                                    "021210000002;2021-02-05;MUTATION;1;0;700;T9"])
    result, record = ingest(home, path)
    assert record.lignes_gardees == 1 and record.lignes_rejetees == 1
    quarantined = table(home, "select ligne, colonne, regle from raw._quarantaine")
    assert quarantined == [(3, "TYPOLOGIE_SOUHAITEE", "code_inconnu")]
    assert (home.var_dir / "quarantine" / "demandes" / "demandes_2021-03.csv.rejets.csv").exists()
    assert ingest(home, path) == (None, None)
    assert table(home, "select count(*) from raw._ingestion")[0][0] == 1
    # The corrected file replaces the period (rows and quarantine), in one transaction.
    demandes(home.data_dir, ["021210000001;2021-01-05;EXTERNE;2;1;900;T2",
                             "021210000002;2021-02-05;MUTATION;1;0;700;T3"])
    _, record = ingest(home, path)
    assert record.lignes_gardees == 2
    assert table(home, "select count(*) from raw.demandes")[0][0] == 2
    assert table(home, "select count(*) from raw._quarantaine")[0][0] == 0
    assert not (home.var_dir / "quarantine" / "demandes" / "demandes_2021-03.csv.rejets.csv").exists()


def test_a_failed_load_leaves_the_warehouse_as_it_was(home, monkeypatch) -> None:
    path = demandes(home.data_dir, ["021210000001;2021-01-05;EXTERNE;2;1;900;T2"])
    ingest(home, path)
    before = table(home, "select * from raw.demandes order by all")
    demandes(home.data_dir, ["021210000003;2021-01-05;EXTERNE;2;1;900;T2"])

    import pipeline.warehouse as warehouse

    real_log = warehouse._log

    def broken_log(conn, record):
        real_log(conn, record)
        raise RuntimeError("disque plein")

    monkeypatch.setattr(warehouse, "_log", broken_log)
    with pytest.raises(RuntimeError):
        ingest(home, path)
    assert table(home, "select * from raw.demandes order by all") == before
    assert table(home, "select count(*) from raw._ingestion")[0][0] == 1
    assert path.read_text(encoding="utf-8").count("\n") == 2  # the raw file is untouched


def test_files_read_side_by_side_load_each_period_once_and_a_bad_file_fails_alone(home) -> None:
    """ingest_files reads two files at a time: every period is loaded once, in its own transaction,
    and a file that cannot be loaded fails the step with its message while the others are kept."""
    spec = source_for_file(demandes(home.data_dir, [], name="demandes_2021-01.csv"))
    fichiers = []
    for mois in range(1, 7):
        rows = [f"0212100{mois:02d}{n:03d};2021-{mois:02d}-05;EXTERNE;2;1;900;T2" for n in range(mois)]
        fichiers.append((f"2021-{mois:02d}", demandes(home.data_dir, rows, name=f"demandes_2021-{mois:02d}.csv")))
    with connect(home.warehouse) as conn:
        defaut = conn.execute("select current_setting('checkpoint_threshold')").fetchone()[0]
        sorties = ingest_files(conn, home, spec, fichiers, "run-test", b"k")
        # the log was folded into the file once, at the end, and DuckDB's threshold is back
        assert conn.execute("select current_setting('checkpoint_threshold')").fetchone()[0] == defaut
        wal = Path(f"{home.warehouse}.wal")
        assert not wal.exists() or wal.stat().st_size == 0
    assert [path for path, _ in sorties] == [path for _, path in fichiers]
    assert [record.lignes_gardees for _, (_, record) in sorties] == [1, 2, 3, 4, 5, 6]
    assert table(home, "select MOIS, count(*) from raw.demandes group by all order by all") == \
        [(m, m) for m in range(1, 7)]
    assert table(home, "select count(*) from raw._ingestion") == [(6,)]

    # the same files again change nothing; March emptied of its rows fails, with its name, alone
    demandes(home.data_dir, [], name="demandes_2021-03.csv")
    demandes(home.data_dir, ["021210007000;2021-05-05;EXTERNE;2;1;900;T2"], name="demandes_2021-05.csv")
    with connect(home.warehouse) as conn, pytest.raises(dg.Failure, match="demandes_2021-03.csv"):
        ingest_files(conn, home, spec, fichiers, "run-test", b"k")
    assert table(home, "select MOIS, count(*) from raw.demandes group by all order by all") == \
        [(1, 1), (2, 2), (3, 3), (4, 4), (5, 1), (6, 6)]


def test_reingesting_the_demo_twice_leaves_identical_counts_and_checksums(home) -> None:
    generate(home.data_dir, years=(2020, 2020))
    files = [p for p in sorted(home.data_dir.rglob("*.csv"))]
    key = DEMO_KEY.encode()
    checksums = []
    for attempt in range(2):
        if attempt:  # forget the log, so that the second pass really reloads every period
            with connect(home.warehouse) as conn:
                conn.execute("delete from raw._ingestion")
        for path in files:
            assert ingest(home, path, key) != (None, None)
        checksums.append(table(home, """
            select source, sum(lignes_gardees), count(*) from raw._ingestion group by source order by source"""))
        checksums.append(table(home, "select count(*), sum(hash(columns(*))) from raw.demandes"))
        checksums.append(table(home, "select count(*), sum(hash(NUM_UNIQUE, DATE_CAL, LOGEMENT_ID)) from raw.attributions"))
        checksums.append(table(home, "select count(*), sum(hash(IDENT_LOGT, LOYERPRINC)) from raw.rpls"))
    assert checksums[:4] == checksums[4:]
    assert table(home, "select sum(lignes_rejetees) from raw._ingestion")[0][0] == 0


def test_sensor_requests_the_periods_of_new_or_changed_files(tmp_path: Path) -> None:
    demandes(tmp_path, ["021210000001;2021-01-05;EXTERNE;2;1;900;T2"])
    rpls = tmp_path / "rpls" / "rpls_2021.csv"
    rpls.parent.mkdir()
    rpls.write_text("DEPCOM;NBPIECE;QPV_CODE\n", encoding="utf-8")
    (tmp_path / "rpls" / "notes.txt").write_text("ignored", encoding="utf-8")
    first = scan(tmp_path)
    assert set(first) == {"sne/demandes_2021-03.csv", "rpls/rpls_2021.csv"}
    assert changed_periods({}, first) == ({"2021"}, {"2021-03"})
    assert changed_periods(first, first) == (set(), set())

    annual = dg.define_asset_job("annuel")
    monthly = dg.define_asset_job("mensuel")
    sensor = data_raw_sensor(annual, monthly, tmp_path)
    with dg.instance_for_test() as instance:
        result = sensor(dg.build_sensor_context(instance=instance))
        assert sorted((r.job_name, r.partition_key) for r in result.run_requests) == [
            ("annuel", "2021"), ("mensuel", "2021-03")]
        again = sensor(dg.build_sensor_context(instance=instance, cursor=result.cursor))
        assert again.run_requests == []
        assert json.loads(again.cursor) == first
