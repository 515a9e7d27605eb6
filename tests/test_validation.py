"""Bad input quarantined: every file-level case and every row rule, with its exact outcome.

Each test writes a tiny extract by hand in ``tmp_path`` and says what the reader must do with it: a
clear French :class:`ExtractError` (the file cannot be read), or a read whose rejected rows name the
file, the line, the column, the value, the rule and what was expected.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.sources.extract import (
    LAYOUTS_DIR,
    ExtractError,
    SourceSpec,
    epci_communes,
    period_bounds,
    read_extract,
    source_for_file,
)


def write(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def table(rows: list[dict[str, str]], sep: str = ";") -> str:
    """A CSV text whose header is the first row's keys (every row has the same keys)."""
    header = list(rows[0])
    return "\n".join([sep.join(header)] + [sep.join(row[c] for c in header) for row in rows]) + "\n"


def rejets(result) -> list[tuple[int, str, str]]:
    """(line, column, rule) of every rejet, in file order."""
    return list(result.rejets[["ligne", "colonne", "regle"]].itertuples(index=False, name=None))


DEMANDE = {
    "NUM_UNIQUE": "N1", "DATE_DEPOT": "2019-06-14", "TYPE_DEMANDE": "EXTERNE", "COMMUNE_RESIDENCE": "21231",
    "NB_PERSONNES": "3", "NB_ENFANTS_MOINS_14": "1", "AGE_DEMANDEUR": "34", "REVENU_MENSUEL": "1450.5",
    "MOTIF_PRINCIPAL": "AUTRE",
}
ATTRIBUTION = {
    "NUM_UNIQUE": "N1", "DATE_DEPOT": "2019-06-14", "DATE_CAL": "2021-03-09", "LOGEMENT_ID": "L1",
    "BAILLEUR": "GDH", "RESERVATAIRE": "EPCI", "COMMUNE_LOGEMENT": "21166", "QPV_LOGEMENT": "",
    "DECISION_CAL": "ATTRIBUTION", "RANG": "1", "REPONSE_DEMANDEUR": "ACCEPTE", "DATE_BAIL": "2021-03-20",
    "HORS_FLUX": "N", "NB_PERSONNES": "2", "NB_ENFANTS_MOINS_14": "0", "REVENU_MENSUEL": "980",
}
SYPLO = {"NUM_UNIQUE": "N1", "DATE_LABELLISATION": "2020-11-02", "MOTIF_PRIORITE": "DALO", "STATUT": "A_RELOGER"}
RPLS_HEADER = "DEPCOM;QPV;NBPIECE;SURFHAB;SURFMODE;IDENT_LOGT;NOMVOIE"


@pytest.fixture(scope="module")
def specs() -> dict[str, SourceSpec]:
    return {name: SourceSpec.load(name) for name in ("rpls", "demandes", "attributions", "syplo")}


def demandes(tmp_path: Path, content: str | bytes, encoding: str = "utf-8", name: str = "demandes_2021-03.csv"):
    return read_extract(write(tmp_path / "sne" / name, content, encoding), SourceSpec.load("demandes"))


# --- Encodings --------------------------------------------------------------------------------

def test_latin1_accents_in_a_file_declared_utf8_are_read_as_windows1252_and_said(tmp_path):
    result = demandes(tmp_path, table([{**DEMANDE, "COMMUNE_RESIDENCE": "Chenôve"}]), "latin-1")
    assert result.rows_rejected == 0 and result.encoding == "cp1252"
    assert result.data.loc[0, "COMMUNE_RESIDENCE"] == "Chenôve"
    assert result.notes == ["la disposition déclare l'encodage UTF-8, mais le fichier n'est pas de l'UTF-8 "
                            "valide : lu en Windows-1252 (accents d'un ancien export Windows)."]


def test_utf8_file_under_a_layout_declared_latin1_is_read_as_utf8_and_said(tmp_path):
    path = write(tmp_path / "rpls" / "rpls_2019.csv", RPLS_HEADER + "\n21166;0;3;65,5;70;L1;rue de Chenôve\n")
    result = read_extract(path, SourceSpec.load("rpls"))
    assert result.layout == "regional" and result.encoding == "utf-8" and result.rows_rejected == 0
    assert result.data.loc[0, "NOMVOIE"] == "rue de Chenôve"
    assert result.notes == ["la disposition déclare l'encodage Latin-1, mais le fichier est en UTF-8 valide "
                            "(ré-enregistré ?) : lu en UTF-8."]


def test_utf8_bom_is_dropped_before_the_header(tmp_path):
    result = demandes(tmp_path, "\ufeff" + table([DEMANDE]))
    assert result.encoding == "utf-8-sig" and result.rows_kept == 1 and result.data.loc[0, "NUM_UNIQUE"] == "N1"
    assert result.notes == ["le fichier commence par une marque d'ordre des octets (BOM) UTF-8 : ignorée."]


def test_utf16_text_export_is_read(tmp_path):
    text = table([DEMANDE], sep="\t").replace("\n", "\r\n")
    result = demandes(tmp_path, text.encode("utf-16"))
    assert result.encoding == "utf-16" and result.separator == "\t" and result.rows_kept == 1


def test_a_file_mixing_utf8_and_windows1252_lines_reads_each_in_its_encoding(tmp_path):
    content = (table([{**DEMANDE, "COMMUNE_RESIDENCE": "Chenôve"}]).encode("utf-8")
               + table([{**DEMANDE, "NUM_UNIQUE": "N2", "COMMUNE_RESIDENCE": "Fénay"}]).split("\n")[1].encode("cp1252")
               + b"\n")
    result = demandes(tmp_path, content)
    assert result.encoding == "utf-8+cp1252" and result.rows_kept == 2
    assert list(result.data["COMMUNE_RESIDENCE"]) == ["Chenôve", "Fénay"]
    assert result.notes[0].startswith("encodage mixte")


# --- Dialect ----------------------------------------------------------------------------------

def test_comma_separator_with_quoted_decimal_comma(tmp_path):
    result = demandes(tmp_path, table([{**DEMANDE, "REVENU_MENSUEL": '"1450,5"'}], sep=","))
    assert result.separator == "," and result.rows_kept == 1 and result.data.loc[0, "REVENU_MENSUEL"] == 1450.5


def test_decimal_comma_and_grouped_thousands(tmp_path):
    result = demandes(tmp_path, table([{**DEMANDE, "REVENU_MENSUEL": "1\u00a0450,50"}]))
    assert result.rows_kept == 1 and result.data.loc[0, "REVENU_MENSUEL"] == 1450.5


def test_unquoted_decimal_comma_in_a_comma_separated_file_is_a_too_long_line(tmp_path):
    result = demandes(tmp_path, table([DEMANDE, {**DEMANDE, "NUM_UNIQUE": "N2", "REVENU_MENSUEL": "1450,5"}], sep=","))
    assert (result.rows_read, result.rows_kept) == (2, 1)
    assert rejets(result) == [(3, "(après MOTIF_PRINCIPAL)", "ligne_trop_longue")]
    assert result.rejets.loc[0, "message"] == (
        "demandes_2021-03.csv, ligne 3 : 10 champs au lieu de 9 — ligne trop longue (en trop : « AUTRE »). "
        "Attendu : « , » seulement entre les colonnes ; une valeur qui contient « , » s'écrit entre guillemets ; "
        "une virgule décimale s'écrit « \"48,5\" ». Ligne non chargée.")


# --- Header -----------------------------------------------------------------------------------

def test_missing_required_column_rejects_the_file_naming_column_and_layouts(tmp_path):
    with pytest.raises(ExtractError) as err:
        demandes(tmp_path, "NUM_UNIQUE;DATE_DEPOT\nN1;2019-01-01\n")
    assert str(err.value).startswith(
        "demandes_2021-03.csv: aucune disposition connue de la source « demandes » ne correspond à l'en-tête. "
        "Dispositions essayées : pivot (manque : TYPE_DEMANDE (colonne TYPE_DEMANDE)).")


def test_extra_columns_are_ignored_and_listed(tmp_path):
    result = demandes(tmp_path, table([{**DEMANDE, "NOM": "Dupont", "EN_TROP": "x"}]))
    assert result.rows_kept == 1 and result.extra_columns == ["NOM", "EN_TROP"]
    assert "Dupont" not in result.data.to_string()


def test_header_only_reads_zero_rows_and_says_so(tmp_path):
    result = demandes(tmp_path, ";".join(DEMANDE) + "\n")
    assert (result.rows_read, result.rows_kept, result.rows_rejected) == (0, 0, 0) and result.rejets.empty
    assert result.notes == ["aucune ligne de données : le fichier n'a que sa ligne d'en-tête."]
    assert list(result.data.columns)[:2] == ["NUM_UNIQUE", "DATE_DEPOT"]


def test_trailing_separators_on_every_line_are_not_a_column(tmp_path):
    text = "".join(line + ";\n" for line in table([DEMANDE]).splitlines())
    result = demandes(tmp_path, text)
    assert result.rows_kept == 1 and result.extra_columns == [] and result.rejets.empty


# --- Broken lines -----------------------------------------------------------------------------

def test_truncated_last_line_is_quarantined_not_a_crash(tmp_path):
    result = demandes(tmp_path, table([DEMANDE]) + "N2;2019-06-14;EXT")
    assert (result.rows_read, result.rows_kept) == (2, 1) and list(result.data["NUM_UNIQUE"]) == ["N1"]
    assert rejets(result) == [(3, "COMMUNE_RESIDENCE", "ligne_tronquee")]
    assert result.rejets.loc[0, "valeur"] == "3 champ(s) sur 9"
    assert result.rejets.loc[0, "message"] == (
        "demandes_2021-03.csv, ligne 3 : 3 champ(s) au lieu de 9 — ligne tronquée ; manque : COMMUNE_RESIDENCE, "
        "NB_PERSONNES, NB_ENFANTS_MOINS_14, AGE_DEMANDEUR, REVENU_MENSUEL et 1 autre(s). Ligne non chargée : "
        "vérifiez que l'export est complet (fichier coupé ?).")


def test_a_line_with_more_fields_than_the_header_is_quarantined(tmp_path):
    line = table([{**DEMANDE, "NUM_UNIQUE": "N2"}]).splitlines()[1]
    result = demandes(tmp_path, table([DEMANDE]) + line + ";x;y\n")
    assert (result.rows_read, result.rows_kept) == (2, 1)
    assert rejets(result) == [(3, "(après MOTIF_PRINCIPAL)", "ligne_trop_longue")]
    assert result.rejets.loc[0, "valeur"] == "x;y"


def test_every_line_one_field_longer_than_the_header_is_not_silently_shifted(tmp_path):
    # pandas would take the first field as an index and shift every column by one.
    lines = table([DEMANDE, {**DEMANDE, "NUM_UNIQUE": "N2"}]).splitlines()
    result = demandes(tmp_path, "\n".join([lines[0]] + [line + ";EN_TROP" for line in lines[1:]]) + "\n")
    assert result.rows_kept == 0 and {r[2] for r in rejets(result)} == {"ligne_trop_longue"}


def test_blank_lines_are_skipped_and_line_numbers_stay_those_of_the_file(tmp_path):
    second = table([{**DEMANDE, "NUM_UNIQUE": "N2", "TYPE_DEMANDE": "X"}]).splitlines()[1]
    result = demandes(tmp_path, table([DEMANDE]) + "\n;;;;\n" + second + "\n\n")
    assert result.rows_read == 2 and rejets(result) == [(5, "TYPE_DEMANDE", "code_inconnu")]
    assert list(result.data["_LIGNE"]) == [2]
    assert result.notes == ["2 ligne(s) vide(s) ignorée(s) (ligne(s) 3, 4)."]


def test_a_quoted_value_over_two_lines_keeps_later_line_numbers_right(tmp_path):
    path = write(tmp_path / "rpls" / "rpls_2019.csv",
                 RPLS_HEADER + '\n21166;0;3;65,5;70;L1;"rue\nde la Gare"\n21166;0;3;0;70;L2;x\n', "latin-1")
    result = read_extract(path, SourceSpec.load("rpls"))
    assert result.data.loc[0, "NOMVOIE"] == "rue\nde la Gare"
    assert rejets(result) == [(4, "SURFHAB", "minimum")]


@pytest.mark.parametrize("after", ["", "\nN5;2021-03-07;EXTERNE;2;1;800;T2;EN_TROP\n"], ids=["read_csv", "python"])
def test_lines_a_stray_quote_joined_are_refused_in_a_source_that_carries_an_identifier(tmp_path, after):
    """A quote closed a line later joins two lines into one row of the header's width; a source with an
    identifier has no text over several lines (an RPLS street name may: above): the row is refused,
    naming its lines, by DuckDB's reader and by Python's (a blank and a broken line after it)."""
    header = "NUM_UNIQUE;DATE_DEPOT;TYPE_DEMANDE;NB_PERSONNES;NB_ENFANTS_MOINS_14;REVENU_MENSUEL;TYPOLOGIE_SOUHAITEE\n"
    result = demandes(tmp_path, header + 'N1;2021-03-05;EXTERNE;2;1;"900;T2\nN2;2021-03-06;EXTERNE;2;1;900";T2\n'
                      "N3;2021-03-07;EXTERNE;2;1;800;T2\n" + after)
    assert rejets(result)[:2] == [(2, "(ligne entière)", "lignes_jointes"), (2, "REVENU_MENSUEL", "type")]
    assert result.rejets.loc[0, "message"] == (
        "demandes_2021-03.csv, ligne 2 : les lignes 2 à 3 sont lues comme une seule (un guillemet ouvert sur la "
        "ligne 2 se referme sur la ligne 3). Attendu : chaque valeur entre guillemets refermée sur sa ligne — "
        "aucune colonne de cette source n'a de texte sur plusieurs lignes. Lignes non chargées.")
    assert list(result.data["NUM_UNIQUE"]) == ["N3"]
    assert rejets(result)[2:] == ([(6, "(après TYPOLOGIE_SOUHAITEE)", "ligne_trop_longue")] if after else [])
    assert "N2;2021-03-06" in result.rejets.loc[1, "valeur"]  # the dry run shows the joined value
    ingested = read_extract(result.path, SourceSpec.load("demandes"), key=b"k").rejets  # ingesting: counted
    assert ingested.loc[1, "valeur"].startswith("valeur sur 2 lignes, non recopiée")
    assert not any("N2;" in text for text in [*ingested["valeur"], *ingested["message"]])


def test_lines_a_stray_quote_joined_are_refused_in_a_file_with_cr_line_ends(tmp_path):
    """The same in a file whose lines end with a lone CR (« CSV Macintosh »): the break inside the
    joined value is a CR; the rows after keep their numbers."""
    header = "NUM_UNIQUE;DATE_DEPOT;TYPE_DEMANDE;NB_PERSONNES;NB_ENFANTS_MOINS_14;REVENU_MENSUEL;TYPOLOGIE_SOUHAITEE"
    lines = [header, 'N1;2021-03-05;EXTERNE;2;1;"900;T2', 'N2;2021-03-06;EXTERNE;2;1;900";T2',
             "N3;2021-03-07;EXTERNE;2;1;800;T2", "N4;2021-03-07;EXTERNE;2;1;800;T9"]
    result = demandes(tmp_path, "\r".join(lines) + "\r")
    assert rejets(result) == [(2, "(ligne entière)", "lignes_jointes"), (2, "REVENU_MENSUEL", "type"),
                              (5, "TYPOLOGIE_SOUHAITEE", "code_inconnu")]
    assert "les lignes 2 à 3 sont lues comme une seule" in result.rejets.loc[0, "message"]
    assert list(result.data["NUM_UNIQUE"]) == ["N3"]


def test_an_address_over_two_lines_in_a_dropped_column_keeps_its_row(tmp_path):
    """The rule above looks at the contract's columns: an address (dropped, never loaded) may span lines."""
    header = "NUM_UNIQUE;ADRESSE;DATE_DEPOT;TYPE_DEMANDE;NB_PERSONNES;NB_ENFANTS_MOINS_14;REVENU_MENSUEL;TYPOLOGIE_SOUHAITEE\n"
    result = demandes(tmp_path, header + 'N1;"Bâtiment B\n12 rue Fénay";2021-03-05;EXTERNE;2;1;900;T2\n'
                      "N2;3 rue Berbisey;2021-03-07;EXTERNE;2;1;800;T2\n")
    assert rejets(result) == []
    assert list(result.data["NUM_UNIQUE"]) == ["N1", "N2"] and "ADRESSE" not in result.data


def test_the_python_reader_does_not_keep_the_broken_lines_of_the_read_it_replaces(tmp_path):
    """A quoted value over two lines in a file that also has a blank and a broken line: read_csv's
    attempt is dropped for Python's csv module, which numbers every line — the broken line once, at
    its own number, and the valid line before it loaded."""
    path = write(tmp_path / "rpls" / "rpls_2019.csv",
                 RPLS_HEADER + '\n21166;0;3;65,5;70;L1;"rue\nde la Gare"\n\n21166;0;3;40;70;L2;x\n'
                 '21166;0;3;40;70;L3;x;EN_TROP\n', "latin-1")
    result = read_extract(path, SourceSpec.load("rpls"))
    assert rejets(result) == [(6, "(après NOMVOIE)", "ligne_trop_longue")]
    assert list(result.data["IDENT_LOGT"]) == ["L1", "L2"]
    assert (result.rows_read, result.rows_kept) == (3, 2)


# --- Unreadable files -------------------------------------------------------------------------

@pytest.mark.parametrize("content, message", [
    (b"", "demandes_2021-03.csv: fichier vide (0 octet). Attendu : une ligne d'en-tête puis des lignes."),
    (b"\n \n\r\n", "demandes_2021-03.csv: fichier vide (aucune ligne d'en-tête, seulement des lignes blanches). "
                   "Attendu : une ligne d'en-tête puis des lignes."),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
     "demandes_2021-03.csv: ce n'est pas un fichier texte (c'est une image PNG) — fichier binaire renommé en .csv ? "
     "Attendu : un CSV exporté en texte (UTF-8 ou Windows-1252) ; un classeur se dépose tel quel en .xlsx."),
    (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40, "c'est un classeur Excel .xlsx ou une archive ZIP"),
    (b"\x00\x01\x02binary", "octets nuls : fichier binaire, ou texte UTF-16 sans BOM"),
])
def test_unreadable_csv_raise_a_clear_error(tmp_path, content, message):
    with pytest.raises(ExtractError) as err:
        demandes(tmp_path, content)
    assert message in str(err.value)


@pytest.mark.parametrize("name", ["demandes_2021-03.xlsx", "demandes_2021-03.parquet"])
def test_a_corrupt_workbook_or_parquet_raises_a_clear_error(tmp_path, name):
    with pytest.raises(ExtractError, match=r"demandes_2021-03\.(xlsx|parquet): fichier (Excel|Parquet).* illisible"):
        demandes(tmp_path, b"not really", name=name)


def test_xlsx_and_parquet_rows_are_checked_like_csv_rows(tmp_path):
    for name in ("demandes_2021-03.xlsx", "demandes_2021-03.parquet"):
        path = tmp_path / "sne" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame([DEMANDE, {**DEMANDE, "NUM_UNIQUE": "N2", "NB_PERSONNES": "0",
                                       "NB_ENFANTS_MOINS_14": "0"}])
        frame.to_excel(path, index=False) if name.endswith("xlsx") else frame.to_parquet(path)
        result = read_extract(path, SourceSpec.load("demandes"))
        assert (result.rows_read, result.rows_kept) == (2, 1)
        assert rejets(result) == [(3, "NB_PERSONNES", "minimum")]


@pytest.mark.parametrize("name, message", [
    ("demandes.csv", "demandes.csv: le nom du fichier ne porte pas de période. Attendu : <nom>_AAAA.<ext> ou "
                     "<nom>_AAAA-MM.<ext> (par ex. rpls_2021.csv). Renommez le fichier."),
    ("demandes_2021-13.csv", "demandes_2021-13.csv: le mois « 13 » du nom n'existe pas. Attendu : "
                             "<nom>_AAAA-MM.<ext> avec MM de 01 à 12. Renommez le fichier."),
])
def test_a_name_without_a_valid_period_is_refused(tmp_path, name, message):
    path = write(tmp_path / "sne" / name, table([DEMANDE]))
    with pytest.raises(ExtractError) as err:
        source_for_file(path)
    assert str(err.value) == message
    with pytest.raises(ExtractError) as err:  # the period checks need it too
        read_extract(path, SourceSpec.load("demandes"))
    assert str(err.value) == message


# --- Values -----------------------------------------------------------------------------------

def test_unknown_code_is_quarantined(tmp_path):
    result = demandes(tmp_path, table([{**DEMANDE, "TYPE_DEMANDE": "AUTRE_CHOSE"}]))
    assert rejets(result) == [(2, "TYPE_DEMANDE", "code_inconnu")]
    assert result.rejets.loc[0, "message"] == (
        "demandes_2021-03.csv, ligne 2, colonne TYPE_DEMANDE : « AUTRE_CHOSE » n'est pas un code parmi EXTERNE, "
        "MUTATION. Si c'est un code de l'export, ajoutez sa correspondance dans [recodes.TYPE_DEMANDE] de "
        "pipeline/sources/layouts/demandes/pivot.toml.")


def test_impossible_household_values_of_a_demand(tmp_path):
    result = demandes(tmp_path, table([
        {**DEMANDE, "NB_ENFANTS_MOINS_14": "4"},
        {**DEMANDE, "NUM_UNIQUE": "N2", "NB_PERSONNES": "0", "NB_ENFANTS_MOINS_14": "0"},
        {**DEMANDE, "NUM_UNIQUE": "N3", "REVENU_MENSUEL": "-5", "AGE_DEMANDEUR": "150"},
        {**DEMANDE, "NUM_UNIQUE": "N4", "REVENU_MENSUEL": "0", "NB_ENFANTS_MOINS_14": "3"},  # limits included
    ]))
    assert (result.rows_read, result.rows_kept) == (4, 1) and list(result.data["NUM_UNIQUE"]) == ["N4"]
    assert rejets(result) == [
        (2, "NB_ENFANTS_MOINS_14 ; NB_PERSONNES", "enfants_inferieurs_personnes"),
        (3, "NB_PERSONNES", "minimum"),
        (4, "AGE_DEMANDEUR", "maximum"),
        (4, "REVENU_MENSUEL", "minimum"),
    ]
    messages = list(result.rejets["message"])
    assert messages[0] == (
        "demandes_2021-03.csv, ligne 2, colonnes NB_ENFANTS_MOINS_14 = « 4 », NB_PERSONNES = « 3 » : le ménage "
        "compte plus d'enfants de moins de 14 ans que de personnes. Attendu : NB_ENFANTS_MOINS_14 ≤ NB_PERSONNES.")
    assert messages[1] == ("demandes_2021-03.csv, ligne 3, colonne NB_PERSONNES : « 0 » est en dessous du minimum "
                           "(attendu : au moins 1).")
    assert messages[2] == ("demandes_2021-03.csv, ligne 4, colonne AGE_DEMANDEUR : « 150 » est au-dessus du maximum "
                           "(attendu : au plus 120).")
    assert result.rejets.loc[0, "valeur"] == "4 ; 3"


def test_impossible_dwelling_surfaces_and_rooms(tmp_path):
    path = write(tmp_path / "rpls" / "rpls_2019.csv", RPLS_HEADER + "\n"
                 "21166;0;3;65,5;70;L1;a\n21166;0;3;0;70;L2;b\n21166;0;3;65;0;L3;c\n21166;0;0;65;70;L4;d\n"
                 "21166;0;1;0,01;0,01;L5;e\n", "latin-1")
    result = read_extract(path, SourceSpec.load("rpls"))
    assert list(result.data["IDENT_LOGT"]) == ["L1", "L5"]
    assert rejets(result) == [(3, "SURFHAB", "minimum"), (4, "SURFMODE", "minimum"), (5, "NBPIECE", "minimum")]
    assert result.rejets.loc[0, "message"] == ("rpls_2019.csv, ligne 3, colonne SURFHAB : « 0 » est en dessous du "
                                               "minimum (attendu : au moins 0,01).")


def attributions(tmp_path: Path, rows: list[dict[str, str]], name: str = "attributions_2021-03.csv"):
    return read_extract(write(tmp_path / "sne" / name, table(rows)), SourceSpec.load("attributions"))


def test_rank_is_required_on_every_positive_decision(tmp_path):
    result = attributions(tmp_path, [
        ATTRIBUTION,
        {**ATTRIBUTION, "NUM_UNIQUE": "N2", "RANG": "0"},
        {**ATTRIBUTION, "NUM_UNIQUE": "N3", "RANG": "", "DECISION_CAL": "ATTRIBUTION_RANG"},
        {**ATTRIBUTION, "NUM_UNIQUE": "N4", "RANG": "0", "DECISION_CAL": "ATTRIBUTION_CONDITION_SUSPENSIVE"},
        {**ATTRIBUTION, "NUM_UNIQUE": "N5", "RANG": "0", "DECISION_CAL": "NON_ATTRIBUTION", "DATE_BAIL": ""},
        {**ATTRIBUTION, "NUM_UNIQUE": "N6", "RANG": "", "DECISION_CAL": "IRRECEVABILITE", "DATE_BAIL": ""},
        {**ATTRIBUTION, "NUM_UNIQUE": "N7", "RANG": "-1", "DECISION_CAL": "NON_ATTRIBUTION", "DATE_BAIL": ""},
    ])
    assert list(result.data["NUM_UNIQUE"]) == ["N1", "N5", "N6"]
    assert rejets(result) == [(3, "RANG ; DECISION_CAL", "rang_decision_positive"),
                              (4, "RANG ; DECISION_CAL", "rang_decision_positive"),
                              (5, "RANG ; DECISION_CAL", "rang_decision_positive"),
                              (8, "RANG", "minimum")]
    assert result.rejets.loc[1, "message"] == (
        "attributions_2021-03.csv, ligne 4, colonnes RANG vide, DECISION_CAL = « ATTRIBUTION_RANG » : une attribution "
        "(même sous condition ou au rang) porte le rang du candidat, 1 étant le premier. Attendu : RANG ≥ 1 (une "
        "cellule vide est une erreur) quand DECISION_CAL est ATTRIBUTION, ATTRIBUTION_RANG ou "
        "ATTRIBUTION_CONDITION_SUSPENSIVE.")


def test_lease_before_its_caleol_and_demand_after_it_are_quarantined(tmp_path):
    result = attributions(tmp_path, [
        {**ATTRIBUTION, "DATE_BAIL": ""},  # no lease yet: nothing to compare
        {**ATTRIBUTION, "NUM_UNIQUE": "N2", "DATE_BAIL": "2021-03-09"},  # same day is fine
        {**ATTRIBUTION, "NUM_UNIQUE": "N3", "DATE_BAIL": "01/03/2021"},
        {**ATTRIBUTION, "NUM_UNIQUE": "N4", "DATE_DEPOT": "2021-03-10"},
        {**ATTRIBUTION, "NUM_UNIQUE": "N5", "NB_ENFANTS_MOINS_14": "3"},
    ])
    assert list(result.data["NUM_UNIQUE"]) == ["N1", "N2"]
    assert rejets(result) == [(4, "DATE_BAIL ; DATE_CAL", "bail_apres_cal"),
                              (5, "DATE_DEPOT ; DATE_CAL", "depot_avant_cal"),
                              (6, "NB_ENFANTS_MOINS_14 ; NB_PERSONNES", "enfants_inferieurs_personnes")]
    assert result.rejets.loc[0, "message"] == (
        "attributions_2021-03.csv, ligne 4, colonnes DATE_BAIL = « 01/03/2021 », DATE_CAL = « 2021-03-09 » : le bail "
        "est signé avant la CALEOL qui attribue le logement. Attendu : DATE_BAIL ≥ DATE_CAL.")
    assert result.rejets.loc[1, "message"].endswith(
        "la demande est déposée après la CALEOL qui l'examine. Attendu : DATE_DEPOT ≤ DATE_CAL.")


# --- Duplicates -------------------------------------------------------------------------------

def test_duplicate_rows_keep_the_first_occurrence(tmp_path):
    result = demandes(tmp_path, table([DEMANDE, DEMANDE, {**DEMANDE, "AGE_DEMANDEUR": "35"},
                                       {**DEMANDE, "NUM_UNIQUE": "N2"}]))
    assert list(result.data["NUM_UNIQUE"]) == ["N1", "N2"] and list(result.data["_LIGNE"]) == [2, 5]
    assert rejets(result) == [(3, "NUM_UNIQUE", "doublon"), (4, "NUM_UNIQUE", "doublon")]
    assert list(result.rejets["message"]) == [
        "demandes_2021-03.csv, ligne 3 : ligne identique à la ligne 2 (doublon exact). Seule la première occurrence "
        "est chargée.",
        "demandes_2021-03.csv, ligne 4, colonne NUM_UNIQUE = « N1 » : doublon de la ligne 2 (même NUM_UNIQUE). Seule "
        "la première occurrence est chargée ; attendu : une seule ligne par NUM_UNIQUE.",
    ]


def test_attribution_key_compares_typed_dates_and_ignores_empty_keys(tmp_path):
    result = attributions(tmp_path, [
        ATTRIBUTION,
        {**ATTRIBUTION, "DATE_CAL": "09/03/2021"},  # the same CALEOL written the French way
        {**ATTRIBUTION, "LOGEMENT_ID": "L2"},  # same candidate, another dwelling
        {**ATTRIBUTION, "DATE_CAL": "2021-03-23", "DATE_BAIL": ""},  # same dwelling, a later CALEOL
    ])
    assert (result.rows_kept, rejets(result)) == (3, [(3, "NUM_UNIQUE ; LOGEMENT_ID ; DATE_CAL", "doublon")])
    assert result.rejets.loc[0, "valeur"] == "N1 ; L1 ; 09/03/2021"
    assert "doublon de la ligne 2 (même NUM_UNIQUE × LOGEMENT_ID × DATE_CAL)" in result.rejets.loc[0, "message"]


def test_identical_lines_without_a_key_column_and_a_note(tmp_path):
    header = RPLS_HEADER.replace(";IDENT_LOGT", "")
    path = write(tmp_path / "rpls" / "rpls_2019.csv", header + "\n21166;0;3;65;70;a\n21166;0;3;65;70;a\n", "latin-1")
    result = read_extract(path, SourceSpec.load("rpls"))
    assert rejets(result) == [(3, "(ligne entière)", "doublon")]
    assert result.notes == ["pas de contrôle des doublons sur la clé IDENT_LOGT : colonne(s) IDENT_LOGT absente(s) "
                            "du fichier."]


# --- Period and territory ---------------------------------------------------------------------

def test_caleol_outside_the_month_of_the_file(tmp_path):
    result = attributions(tmp_path, [
        {**ATTRIBUTION, "DATE_CAL": "2021-03-01"},
        {**ATTRIBUTION, "NUM_UNIQUE": "N2", "DATE_CAL": "2021-03-31", "DATE_BAIL": ""},
        {**ATTRIBUTION, "NUM_UNIQUE": "N3", "DATE_CAL": "2021-04-02", "DATE_BAIL": ""},
        {**ATTRIBUTION, "NUM_UNIQUE": "N4", "DATE_CAL": "2021-02-28", "DATE_BAIL": ""},
    ])
    assert rejets(result) == [(4, "DATE_CAL", "hors_periode"), (5, "DATE_CAL", "hors_periode")]
    assert result.rejets.loc[0, "message"] == (
        "attributions_2021-03.csv, ligne 4, colonne DATE_CAL : « 2021-04-02 » est hors de la période du fichier "
        "(mars 2021, du 01/03/2021 au 31/03/2021). Une ligne d'une autre période va dans le fichier de sa période.")


def test_demand_filed_after_the_end_of_the_month(tmp_path):
    result = demandes(tmp_path, table([{**DEMANDE, "DATE_DEPOT": "2021-03-31"},
                                       {**DEMANDE, "NUM_UNIQUE": "N2", "DATE_DEPOT": "01/04/2021"}]))
    assert rejets(result) == [(3, "DATE_DEPOT", "hors_periode")]
    assert result.rejets.loc[0, "message"] == (
        "demandes_2021-03.csv, ligne 3, colonne DATE_DEPOT : « 01/04/2021 » est postérieure à la fin de la période "
        "du fichier (attendu : au plus tard le 31/03/2021, fin de mars 2021).")


def test_syplo_labelled_after_the_year(tmp_path):
    rows = [SYPLO, {**SYPLO, "NUM_UNIQUE": "N2", "DATE_LABELLISATION": "2021-12-31"},
            {**SYPLO, "NUM_UNIQUE": "N3", "DATE_LABELLISATION": "2022-01-01"}]
    result = read_extract(write(tmp_path / "syplo" / "syplo_2021.csv", table(rows)), SourceSpec.load("syplo"))
    assert rejets(result) == [(4, "DATE_LABELLISATION", "hors_periode")]
    assert "au plus tard le 31/12/2021, fin de l'année 2021" in result.rejets.loc[0, "message"]


def test_period_bounds():
    assert period_bounds(Path("attributions_2024-02.csv"))[:2] == (pd.Timestamp("2024-02-01").date(),
                                                                     pd.Timestamp("2024-02-29").date())
    assert period_bounds(Path("x_2021-12.csv"))[1:] == (pd.Timestamp("2021-12-31").date(), "décembre 2021")
    assert period_bounds(Path("syplo_2021.csv"))[2] == "l'année 2021"


def test_commune_outside_the_epci(tmp_path):
    path = write(tmp_path / "rpls" / "rpls_2018.csv", RPLS_HEADER + "\n"
                 "21231;0;3;65;70;L1;a\n21213;0;3;65;70;L2;b\n21999;0;3;65;70;L3;c\n", "latin-1")
    result = read_extract(path, SourceSpec.load("rpls"))
    assert list(result.data["DEPCOM"]) == ["21231", "21213"]  # Crimolois, merged in 2019: historical, kept
    assert rejets(result) == [(4, "DEPCOM", "commune_hors_epci")]
    assert result.rejets.loc[0, "message"] == (
        "rpls_2018.csv, ligne 4, colonne DEPCOM : « 21999 » n'est pas une commune de l'EPCI (attendu : un code INSEE "
        "de dbt_project/seeds/ref_communes.csv, anciens codes compris). Si la commune a rejoint l'EPCI, "
        "ajoutez-la au référentiel.")
    attribution = attributions(tmp_path, [{**ATTRIBUTION, "COMMUNE_LOGEMENT": "21001"}])
    assert rejets(attribution) == [(2, "COMMUNE_LOGEMENT", "commune_hors_epci")]


def test_a_demander_may_live_outside_the_epci(tmp_path):
    assert demandes(tmp_path, table([{**DEMANDE, "COMMUNE_RESIDENCE": "75056"}])).rows_rejected == 0


def test_the_referential_holds_every_commune_with_its_historical_codes():
    communes = epci_communes()
    assert len(communes) == 24 and {"21231", "21213", "21452"} <= communes


# --- A row breaking several rules, and speed --------------------------------------------------

def test_one_rejet_per_broken_rule_and_the_row_once_out(tmp_path):
    result = attributions(tmp_path, [{**ATTRIBUTION, "RANG": "0", "COMMUNE_LOGEMENT": "21999",
                                      "DATE_CAL": "2021-04-01", "DATE_BAIL": "2021-03-20", "BAILLEUR": "XYZ"}])
    assert (result.rows_read, result.rows_kept, result.rows_rejected) == (1, 0, 1)
    assert sorted(r[2] for r in rejets(result)) == ["bail_apres_cal", "code_inconnu", "commune_hors_epci",
                                                    "hors_periode", "rang_decision_positive"]


def test_a_10000_row_demand_file_with_one_duplicate_key(tmp_path):
    # Reading speed is measured by benchmarks/ingestion.py, not asserted here.
    rows = [{**DEMANDE, "NUM_UNIQUE": f"N{i}", "NB_PERSONNES": str(1 + i % 6), "NB_ENFANTS_MOINS_14": str(i % 2),
             "REVENU_MENSUEL": f"{500 + i % 3000},{i % 100:02d}"} for i in range(10_000)]
    rows[9_999] = {**rows[9_999], "NUM_UNIQUE": "N0"}
    path = write(tmp_path / "sne" / "demandes_2021-03.csv", table(rows))
    result = read_extract(path, SourceSpec.load("demandes"))
    assert (result.rows_read, result.rows_rejected) == (10_000, 1)
    assert rejets(result) == [(10_001, "NUM_UNIQUE", "doublon")]


# --- The rule language ------------------------------------------------------------------------

def source_with(tmp_path: Path, schema: str) -> Path:
    """A layouts folder holding one source ``essai`` (files essai/essai_AAAA.csv) with ``schema``."""
    layouts = tmp_path / "layouts"
    write(layouts / "essai" / "schema.toml", '[source]\nfolder = "essai"\nperiod = "annee"\n' + schema)
    write(layouts / "essai" / "pivot.toml", 'required = []\n[columns]\n'
          + "".join(f'{name} = "{name}"\n' for name in ("A", "B", "C", "D", "CODE", "COMMUNE", "OUI")))
    return layouts


COLUMNS = """
[columns]
A = { type = "int" }
B = { type = "float" }
C = { type = "date" }
D = { type = "date" }
CODE = { type = "str", values = ["X", "Y", "10"] }
COMMUNE = { type = "str" }
OUI = { type = "bool" }
"""


def test_a_new_source_declares_its_own_rules_key_period_and_communes(tmp_path):
    layouts = source_with(tmp_path, 'key = ["A"]\nperiod_end_columns = ["C"]\ncommune_columns = ["COMMUNE"]\n'
                          + COLUMNS.replace('A = { type = "int" }', 'A = { type = "int", min = 1 }') + """
[[rules]]
name = "b_grand_si_x"
when = ["CODE in [X]", "OUI == true"]
check = ["B >= 10", "B < 100.5"]
message = "B va de 10 à 100,5 pour un code X confirmé"

[[rules]]
name = "d_apres_c"
check = "D > C"
message = "D suit C"

[[rules]]
name = "code_si_commune"
when = "COMMUNE is not empty"
check = "CODE is not empty"
message = "une commune va avec un code"
""")
    spec = SourceSpec.load("essai", layouts)
    path = write(tmp_path / "essai" / "essai_2021.csv",
                 "A;B;C;D;CODE;COMMUNE;OUI\n"
                 "1;5;2021-01-01;2021-02-01;X;21231;N\n"       # 2  OUI false: B is free
                 "2;5;2021-01-01;;X;;O\n"                       # 3  B < 10 for a confirmed X
                 "3;200;;;Y;;O\n"                               # 4  CODE Y: B is free
                 "4;;2022-01-01;2021-01-01;;21231;N\n"          # 5  C after the year, D before C, no code
                 "5;50;2021-01-01;2021-01-01;10;21000;1\n"      # 6  D not after C; commune outside
                 "1;50;;;X;;1\n"                                # 7  A repeats line 2
                 "0;50;;;X;;1\n")                               # 8  A below its min
    result = read_extract(path, spec)
    assert list(result.data["A"]) == [1, 3]
    assert rejets(result) == [
        (3, "B ; CODE ; OUI", "b_grand_si_x"),
        (5, "C", "hors_periode"),
        (5, "CODE ; COMMUNE", "code_si_commune"),
        (5, "D ; C", "d_apres_c"),
        (6, "COMMUNE", "commune_hors_epci"),
        (6, "D ; C", "d_apres_c"),
        (7, "A", "doublon"),
        (8, "A", "minimum"),
    ]
    message = result.rejets.loc[0, "message"]
    assert message == ("essai_2021.csv, ligne 3, colonnes B = « 5 », CODE = « X », OUI = « O » : B va de 10 à 100,5 "
                       "pour un code X confirmé. Attendu : B ≥ 10 et B < 100,5 quand CODE est X et OUI = vrai.")
    assert "CODE vide" in result.rejets.loc[2, "message"]
    assert "Attendu : CODE renseigné quand COMMUNE renseigné." in result.rejets.loc[2, "message"]


def test_rules_with_a_column_the_layout_does_not_carry_are_skipped(tmp_path):
    layouts = source_with(tmp_path, COLUMNS + '[[rules]]\nname = "r"\ncheck = "A <= B"\nmessage = "m"\n')
    spec = SourceSpec.load("essai", layouts)
    result = read_extract(write(tmp_path / "essai" / "essai_2021.csv", "A\n5\n"), spec)
    assert result.rows_kept == 1


@pytest.mark.parametrize("rule, error", [
    ('check = "__import__(\'os\').system(\'rm\')"', "cannot read"),
    ('check = "A.__class__ == 1"', "cannot read"),
    ('check = "E >= 1"', "'E' is not a column"),
    ('check = "A >= \'x\'"', "compares a number with a str"),
    ('check = "C >= 1"', "compares a date with a number"),
    ('check = "CODE > \'X\'"', "compare with == or != only"),
    ('check = "1 < 2"', "compares two values"),
    ('check = "CODE in [X, Z]"', "['Z'] are not codes of CODE"),
    ('check = "A in [1, x]"', "'x' is not a value"),
    ('check = "A >= 1"\nwhen = "C == 2021-02-30"', "is not a date"),
    ('check = "A >= 1"\nname2 = 1', "unknown keys"),
])
def test_a_rule_that_is_not_the_small_language_is_refused_at_load(tmp_path, rule, error):
    layouts = source_with(tmp_path, COLUMNS + f'[[rules]]\nname = "essai"\nmessage = "m"\n{rule}\n')
    with pytest.raises(ValueError, match=error.replace("(", r"\(").replace("[", r"\[").replace(")", r"\)")):
        SourceSpec.load("essai", layouts)


@pytest.mark.parametrize("source_table, error", [
    ('key = ["E"]', r"key \['E'\] are not columns"),
    ('period_columns = ["A"]', r"period_columns \['A'\] must be of type date"),
    ('commune_columns = ["A"]', r"commune_columns \['A'\] must be of type str"),
])
def test_source_checks_name_existing_columns_of_the_right_type(tmp_path, source_table, error):
    with pytest.raises(ValueError, match=error):
        SourceSpec.load("essai", source_with(tmp_path, source_table + "\n" + COLUMNS))


@pytest.mark.parametrize("column, error", [
    ('A = { type = "int", min = "1" }', "min of A"),
    ('A = { type = "int", min = 5, max = 1 }', "min > max"),
    ('CODE = { type = "str", max = 3 }', "max of CODE"),
])
def test_bounds_must_fit_the_column_type(tmp_path, column, error):
    schema = COLUMNS.replace('A = { type = "int" }', column) if column.startswith("A") else COLUMNS.replace(
        'CODE = { type = "str", values = ["X", "Y", "10"] }', column)
    with pytest.raises(ValueError, match=error):
        SourceSpec.load("essai", source_with(tmp_path, schema))


def test_rule_names_cannot_take_a_reader_rule_or_repeat(tmp_path):
    rule = '[[rules]]\nname = "{}"\ncheck = "A >= 1"\nmessage = "m"\n'
    with pytest.raises(ValueError, match="rule of the reader"):
        SourceSpec.load("essai", source_with(tmp_path, COLUMNS + rule.format("doublon")))
    shutil.rmtree(tmp_path / "layouts")
    with pytest.raises(ValueError, match="used twice"):
        SourceSpec.load("essai", source_with(tmp_path, COLUMNS + rule.format("r") + rule.format("r")))


def test_date_bounds_and_numeric_looking_codes(tmp_path):
    layouts = source_with(tmp_path, COLUMNS.replace('C = { type = "date" }', 'C = { type = "date", min = 2000-01-01 }')
                          + '[[rules]]\nname = "r"\nwhen = "CODE in [10]"\ncheck = "A == 1"\nmessage = "m"\n')
    spec = SourceSpec.load("essai", layouts)
    result = read_extract(write(tmp_path / "essai" / "essai_2021.csv", "A;C;CODE\n1;1999-12-31;X\n2;;10\n"), spec)
    assert rejets(result) == [(2, "C", "minimum"), (3, "A ; CODE", "r")]
    assert "attendu : au moins 01/01/2000" in result.rejets.loc[0, "message"]


def test_every_project_source_loads():
    for folder in sorted(LAYOUTS_DIR.iterdir()):
        if (folder / "schema.toml").is_file():
            SourceSpec.load(folder.name)
