"""The extract reader: dialects, layout detection, typing and rejected rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.sources.extract import ExtractError, SourceSpec, period_of, read_extract

HEADER_2021 = "DEPCOM_CODE;DEPCOM_LIBELLE;QPV_CODE;PLG_QP;PLG_IRIS2022_CODE;NBPIECE;SURFHAB;FINAN_CODE;IDENT_LOGT;DPEDATE"


@pytest.fixture(scope="module")
def rpls() -> SourceSpec:
    return SourceSpec.load("rpls")


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_dido_2021_layout_maps_depcom_code_and_vintage_iris(tmp_path, rpls):
    path = write(tmp_path / "rpls_2021.csv",
                 HEADER_2021 + "\n21231;Dijon;1;QPDEMO02;212310101;3;65.5;13;L1;2020-03-01\n")
    result = read_extract(path, rpls)
    assert result.layout == "dido"
    row = result.data.iloc[0]
    assert row["DEPCOM"] == "21231"
    assert row["PLG_IRIS"] == "212310101"
    assert row["NBPIECE"] == 3 and row["SURFHAB"] == 65.5
    assert str(row["DPEDATE"]) == "2020-03-01"
    assert result.rows_read == 1 and result.rows_rejected == 0


def test_dido_2025_layout_uses_depcom(tmp_path, rpls):
    header = HEADER_2021.replace("DEPCOM_CODE", "DEPCOM").replace("IRIS2022", "IRIS2024")
    path = write(tmp_path / "rpls_2025.csv", header + "\n21166;Chenôve;0;;211660000;2;48;10;L2;01/02/2024\n")
    result = read_extract(path, rpls)
    assert result.data.loc[0, "DEPCOM"] == "21166"
    assert result.data.loc[0, "PLG_IRIS"] == "211660000"
    assert str(result.data.loc[0, "DPEDATE"]) == "2024-02-01"


def test_latin1_comma_separator_bom_and_decimal_comma(tmp_path, rpls):
    text = HEADER_2021.replace(";", ",") + '\n21166,Chenôve,0,,211660000,2,"48,5",10,L2,\n'
    latin1 = read_extract(write(tmp_path / "rpls_2019.csv", text, "cp1252"), rpls)
    assert latin1.encoding == "cp1252" and latin1.separator == ","
    assert latin1.data.loc[0, "DEPCOM_LIBELLE"] == "Chenôve"
    assert latin1.data.loc[0, "SURFHAB"] == 48.5
    bom = read_extract(write(tmp_path / "rpls_2018.csv", "\ufeff" + text), rpls)
    assert bom.encoding == "utf-8-sig" and bom.data.loc[0, "DEPCOM"] == "21166"


def test_bytes_undefined_in_windows1252_fall_back_to_latin1(tmp_path, rpls):
    # 0x81 and 0x8D have no character in Windows-1252: the file is still read, not a crash.
    path = tmp_path / "rpls_2019.csv"
    path.write_bytes((HEADER_2021 + "\n21166;Chen\xf4ve\x81;0;;211660000;2;48;10;L2;\n").encode("latin-1"))
    result = read_extract(path, rpls)
    assert result.encoding == "latin-1" and result.data.loc[0, "DEPCOM_LIBELLE"] == "Chenôve\x81"


def test_numbers_grouped_with_non_breaking_spaces(tmp_path, rpls):
    text = HEADER_2021 + "\n21231;Dijon;0;;212310101;3;1\u00a0065,5;13;L1;\n"
    result = read_extract(write(tmp_path / "rpls_2021.csv", text), rpls)
    assert result.rows_rejected == 0 and result.data.loc[0, "SURFHAB"] == 1065.5

def test_unknown_code_and_bad_number_are_rejected_row_by_row(tmp_path, rpls):
    path = write(tmp_path / "rpls_2021.csv", HEADER_2021 + "\n"
                 "21231;Dijon;0;;212310101;3;65;13;L1;\n"
                 "21231;Dijon;0;;212310101;3;65;77;L2;\n"
                 "21231;Dijon;0;;212310101;trois;65;13;L3;\n")
    result = read_extract(path, rpls)
    assert result.rows_read == 3 and result.rows_kept == 1
    assert list(result.data["IDENT_LOGT"]) == ["L1"]
    rejets = result.rejets.set_index("ligne")
    assert rejets.loc[3, "colonne"] == "FINAN_CODE" and rejets.loc[3, "regle"] == "code_inconnu"
    assert "rpls_2021.csv, ligne 3, colonne FINAN_CODE" in rejets.loc[3, "message"]
    assert rejets.loc[4, "colonne"] == "NBPIECE" and "nombre entier" in rejets.loc[4, "message"]


def test_missing_required_column_names_the_column_and_layouts_tried(tmp_path, rpls):
    path = write(tmp_path / "rpls_2021.csv", "DEPCOM_CODE;SURFHAB\n21231;50\n")
    with pytest.raises(ExtractError) as err:
        read_extract(path, rpls)
    assert "NBPIECE" in str(err.value) and "dido" in str(err.value)


def test_extra_columns_are_listed(tmp_path, rpls):
    path = write(tmp_path / "rpls_2021.csv", HEADER_2021 + ";COLONNE_EN_TROP\n21231;Dijon;0;;1;3;65;13;L1;;x\n")
    assert read_extract(path, rpls).extra_columns == ["COLONNE_EN_TROP"]


@pytest.mark.parametrize("content, expected", [
    (b"", "fichier vide"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binaire"),
])
def test_unreadable_files_raise_a_clear_error(tmp_path, rpls, content, expected):
    path = tmp_path / "rpls_2021.csv"
    path.write_bytes(content)
    with pytest.raises(ExtractError, match=expected):
        read_extract(path, rpls)


def test_period_of_file_names():
    assert period_of(Path("rpls_2021.csv")) == (2021, None)
    assert period_of(Path("demandes_2021-03.parquet")) == (2021, 3)
    with pytest.raises(ExtractError, match="période"):
        period_of(Path("rpls.csv"))


def test_closed_lists_keep_sqls_logic_and_short_ones_are_not_planned_as_joins():
    """A short list is a chain of comparisons (DuckDB plans ``IN`` of constants as a MARK join, whose
    planning cost more than reading a monthly file), a long one stays ``IN``; both say what ``IN`` says."""
    import datetime as dt

    import duckdb

    from pipeline.sources import sql

    conn = duckdb.connect()
    lists = [[], ["'a'"], ["'a'", "'b'", "'c'", "'d'", "'e'", "'f'"], [f"'{i}'" for i in range(sql.CHAINED_LIST + 5)]]
    for items in lists:
        for negate in (False, True):
            for value in ("'a'", "'z'", "NULL", "'3'"):
                written = f"{value} {'NOT ' if negate else ''}IN ({', '.join(items) or 'NULL'})"
                expected = conn.execute(f"SELECT {written}").fetchone()
                assert conn.execute(f"SELECT {sql.member(value, items, negate)}").fetchone() == expected, written

    spec = SourceSpec.load("demandes")  # closed lists of 2 to 14 codes, booleans, a period column
    layout = spec.layouts[0]
    names = [exports[0] for exports in layout.sources.values()]
    mapping, missing = layout.match(names)
    assert not missing
    compiled = sql.compile_checks(spec, layout, mapping, names, trim=False, count_newlines=False,
                                  fichier_period=(dt.date(2024, 1, 1), dt.date(2024, 1, 31), "janvier 2024"),
                                  communes=[f"21{i:03d}" for i in range(40)], communes_reference="ref")
    assert sum(" IN (" in c.flag for c in compiled.checks) <= len(spec.commune_columns)
    cells = ", ".join(f"CAST(NULL AS VARCHAR) AS c{i}" for i in range(len(names)))
    conn.execute(f"CREATE TABLE cellules AS SELECT {cells}, CAST(NULL AS BIGINT) AS _ligne_connue")
    plan = conn.execute(f"EXPLAIN {compiled.typed_select('cellules')}").fetchall()[0][1]
    assert plan.count("MARK") == sum(1 for c in spec.commune_columns if c in mapping), plan
