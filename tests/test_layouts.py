"""The layout files of the household sources and of RPLS, and the registry built from them.

Every fixture is a tiny file written by hand in ``tmp_path``: one good row, one row carrying a code
outside the contract's closed list (a *rejet* naming the row and the column).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.sources.extract import (
    LAYOUTS_DIR,
    ExtractError,
    SourceSpec,
    all_sources,
    read_extract,
    source_for_file,
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def table(rows: list[dict[str, str]], sep: str = ";") -> str:
    """A CSV text whose header is the first row's keys (every row has the same keys)."""
    header = list(rows[0])
    return "\n".join([sep.join(header)] + [sep.join(row[c] for c in header) for row in rows]) + "\n"


def only_rejet(result, ligne: int, colonne: str, valeur: str) -> str:
    """Assert the result has exactly one rejected row, that one; return its message."""
    assert result.rows_read == 2 and result.rows_kept == 1 and result.rows_rejected == 1
    assert len(result.rejets) == 1
    rejet = result.rejets.iloc[0]
    assert (rejet["ligne"], rejet["colonne"], rejet["valeur"]) == (ligne, colonne, valeur)
    assert rejet["regle"] == "code_inconnu"
    assert f"ligne {ligne}, colonne {colonne}" in rejet["message"] and f"« {valeur} »" in rejet["message"]
    return rejet["message"]


# --- demandes, attributions, syplo: the pivot layouts ------------------------------------------

DEMANDE = {
    "NUM_UNIQUE": "0212110000001", "DATE_DEPOT": "2019-06-14", "DATE_RENOUVELLEMENT": "14/06/2020",
    "TYPE_DEMANDE": "MUTATION", "BAILLEUR_ACTUEL": "GDH", "COMMUNE_RESIDENCE": "21231",
    "NB_PERSONNES": "3", "NB_ENFANTS_MOINS_14": "1", "AGE_DEMANDEUR": "34",
    "COMPOSITION": "FAMILLE_MONOPARENTALE", "SITUATION_PRO": "CDD_INTERIM", "REVENU_MENSUEL": "1450.5",
    "TYPOLOGIE_SOUHAITEE": "T3", "COMMUNE_SOUHAITEE_1": "21231", "COMMUNE_SOUHAITEE_2": "21166",
    "COMMUNE_SOUHAITEE_3": "", "MOTIF_PRINCIPAL": "LOGEMENT_INADAPTE", "LOGEMENT_ACTUEL": "LOCATAIRE_HLM",
    "NB_PIECES_ACTUEL": "2", "HANDICAP": "N", "DALO": "N", "PRIORITAIRE": "O", "PORTEUR_MIXITE": "N",
    "COTATION": "",
}


def test_demandes_pivot_reads_a_demand_and_rejects_an_unknown_code(tmp_path):
    path = write(tmp_path / "sne" / "demandes_2021-03.csv",
                 table([DEMANDE, {**DEMANDE, "NUM_UNIQUE": "0212110000002", "TYPOLOGIE_SOUHAITEE": "T7"}]))
    result = read_extract(path, SourceSpec.load("demandes"))
    assert result.layout == "pivot" and result.extra_columns == []
    row = result.data.iloc[0]
    assert row["TYPE_DEMANDE"] == "MUTATION" and row["NB_PERSONNES"] == 3 and row["REVENU_MENSUEL"] == 1450.5
    assert str(row["DATE_RENOUVELLEMENT"]) == "2020-06-14"
    assert bool(row["PRIORITAIRE"]) is True and bool(row["DALO"]) is False
    assert row.isna()["COTATION"] and row.isna()["COMMUNE_SOUHAITEE_3"]
    message = only_rejet(result, 3, "TYPOLOGIE_SOUHAITEE", "T7")
    assert "demandes_2021-03.csv" in message and "CHAMBRE, T1, T2, T3, T4, T5, T6" in message


ATTRIBUTION = {
    "NUM_UNIQUE": "0212110000001", "DATE_DEPOT": "2019-06-14", "DATE_CAL": "2021-03-09",
    "LOGEMENT_ID": "L000123", "BAILLEUR": "CDC_HABITAT", "RESERVATAIRE": "ETAT_PRIORITAIRES",
    "COMMUNE_LOGEMENT": "21166", "QPV_LOGEMENT": "QPDEMO01", "RESIDENCE_ID": "R42",
    "TYPOLOGIE_LOGEMENT": "T3", "DECISION_CAL": "ATTRIBUTION_RANG", "RANG": "2",
    "REPONSE_DEMANDEUR": "SANS_REPONSE", "MOTIF_REFUS": "", "DATE_BAIL": "", "MUTATION": "N",
    "BAILLEUR_ORIGINE": "", "RELOGEMENT_ANRU": "N", "HORS_FLUX": "N", "NB_PERSONNES": "3",
    "NB_ENFANTS_MOINS_14": "1", "REVENU_MENSUEL": "980", "AGE_DEMANDEUR": "34",
    "COMPOSITION": "FAMILLE_MONOPARENTALE", "SITUATION_PRO": "CHOMAGE", "PRIORITAIRE": "O", "DALO": "N",
    "MOTIF_PRIORITE": "C_DEFAVORISE", "SORTANT_HEBERGEMENT": "N", "PORTEUR_MIXITE": "N",
}


def test_attributions_pivot_reads_an_examination_and_rejects_an_unknown_code(tmp_path):
    refus = {**ATTRIBUTION, "NUM_UNIQUE": "0212110000002", "REPONSE_DEMANDEUR": "REFUS",
             "MOTIF_REFUS": "PAS_ENVIE"}
    path = write(tmp_path / "sne" / "attributions_2021-03.csv", table([ATTRIBUTION, refus]))
    result = read_extract(path, SourceSpec.load("attributions"))
    assert result.layout == "pivot"
    row = result.data.iloc[0]
    # SANS_REPONSE is an answer, not a motif: the motif stays empty.
    assert row["REPONSE_DEMANDEUR"] == "SANS_REPONSE" and row.isna()["MOTIF_REFUS"]
    assert row["RANG"] == 2 and row["RESERVATAIRE"] == "ETAT_PRIORITAIRES" and row["QPV_LOGEMENT"] == "QPDEMO01"
    assert bool(row["HORS_FLUX"]) is False and row.isna()["DATE_BAIL"]
    assert str(row["DATE_CAL"]) == "2021-03-09"
    only_rejet(result, 3, "MOTIF_REFUS", "PAS_ENVIE")


def test_attributions_without_qpv_column_do_not_match(tmp_path):
    # An empty QPV_LOGEMENT means « hors QPV »: a file without the column must not silently say so.
    row = {k: v for k, v in ATTRIBUTION.items() if k != "QPV_LOGEMENT"}
    path = write(tmp_path / "sne" / "attributions_2021-03.csv", table([row]))
    with pytest.raises(ExtractError, match="QPV_LOGEMENT"):
        read_extract(path, SourceSpec.load("attributions"))


def test_attributions_copro_degradee_column_is_optional(tmp_path):
    # CCH L441-1, CIA section 1.2: relogés of an opération de requalification des copropriétés
    # dégradées count in the 1st-quartile objective; the column is optional (absent = not such a
    # relogement), so an export without it still matches and reads it empty.
    avec = write(tmp_path / "a" / "sne" / "attributions_2021-03.csv",
                 table([{**ATTRIBUTION, "RELOGEMENT_COPRO_DEGRADEE": "O"}]))
    result = read_extract(avec, SourceSpec.load("attributions"))
    assert result.layout == "pivot" and bool(result.data.iloc[0]["RELOGEMENT_COPRO_DEGRADEE"]) is True
    sans = write(tmp_path / "b" / "sne" / "attributions_2021-03.csv", table([ATTRIBUTION]))
    result = read_extract(sans, SourceSpec.load("attributions"))
    assert result.layout == "pivot" and result.data.iloc[0].isna()["RELOGEMENT_COPRO_DEGRADEE"]


SYPLO = {
    "NUM_UNIQUE": "0212110000001", "DATE_LABELLISATION": "2020-11-02", "MOTIF_PRIORITE": "G_VIOLENCES",
    "STATUT": "RELOGE", "DATE_STATUT": "2021-03-30", "BAILLEUR_RELOGEMENT": "HABELLIS",
    "RESERVATAIRE_RELOGEMENT": "ETAT_PRIORITAIRES", "SORTANT_HEBERGEMENT": "O", "ACCOMPAGNEMENT": "AVDL",
}


def test_syplo_pivot_reads_a_household_and_rejects_an_unknown_code(tmp_path):
    path = write(tmp_path / "syplo" / "syplo_2021.csv",
                 table([SYPLO, {**SYPLO, "NUM_UNIQUE": "0212110000002", "STATUT": "EN_COURS"}]))
    result = read_extract(path, SourceSpec.load("syplo"))
    assert result.layout == "pivot"
    row = result.data.iloc[0]
    assert row["MOTIF_PRIORITE"] == "G_VIOLENCES" and row["ACCOMPAGNEMENT"] == "AVDL"
    assert bool(row["SORTANT_HEBERGEMENT"]) is True and str(row["DATE_STATUT"]) == "2021-03-30"
    only_rejet(result, 3, "STATUT", "EN_COURS")


def test_household_sources_declare_what_ingestion_pseudonymises_and_drops():
    for source in ("demandes", "attributions", "syplo"):
        spec = SourceSpec.load(source)
        assert spec.pseudonymise == ("NUM_UNIQUE",)
        assert {"NOM", "PRENOM", "DATE_NAISSANCE", "TELEPHONE", "EMAIL", "ADRESSE"} <= set(spec.drop)
    assert SourceSpec.load("rpls").pseudonymise == () and SourceSpec.load("rpls").drop == ()


# --- RPLS: the regional layout beside dido ------------------------------------------------------

REGIONAL_HEADER = ("DEPCOM;QPV;TYPECONST;NBPIECE;SURFHAB;CONSTRUCT;LOCAT;FINAN;CONV;DPEENERGIE;DPESERRE;"
                   "NUMVOIE;TYPVOIE;NOMVOIE;CODEPOSTAL;X;Y;PLG_IRIS;IDENT_LOGT;BAILLEUR;LOYERPRINC;"
                   "SURFMODE;MODESURF;MODE;CONTINGENT;RESIDENCE_ID")
REGIONAL_ROW = ("21166;1;C;3;65,5;1968;1970;13;1;D;E;12;RUE;{voie};21300;851234,25;6688123,5;211660101;"
                "L000123;GDH;345,67;70,1;U;1;2;R42")


def test_regional_layout_reads_latin1_with_decimal_comma(tmp_path):
    path = write(tmp_path / "rpls" / "rpls_2019.csv",
                 REGIONAL_HEADER + "\n" + REGIONAL_ROW.format(voie="de l'Église Saint-Côme") + "\n", "latin-1")
    result = read_extract(path, SourceSpec.load("rpls"))
    assert result.layout == "regional" and result.encoding == "latin-1" and result.separator == ";"
    assert result.rows_rejected == 0 and result.extra_columns == []
    row = result.data.iloc[0]
    assert row["NOMVOIE"] == "de l'Église Saint-Côme"
    assert row["SURFHAB"] == 65.5 and row["X"] == 851234.25 and row["LOYERPRINC"] == 345.67
    assert row["QPV_CODE"] == "1" and row["TYPECONST_CODE"] == "C" and row["FINAN_CODE"] == "13"
    assert row["PLG_IRIS"] == "211660101" and row["CONTINGENT"] == "2"


def test_regional_layout_declared_latin1_is_read_as_windows1252_when_it_is(tmp_path):
    # Windows tools write « ’ » as 0x92 in exports they call Latin-1: not a C1 control character.
    path = write(tmp_path / "rpls" / "rpls_2019.csv",
                 REGIONAL_HEADER + "\n" + REGIONAL_ROW.format(voie="de l’Œuvre") + "\n", "cp1252")
    result = read_extract(path, SourceSpec.load("rpls"))
    assert result.layout == "regional" and result.encoding == "cp1252"
    assert result.data.loc[0, "NOMVOIE"] == "de l’Œuvre"


def test_regional_file_resaved_in_utf8_is_not_read_as_latin1(tmp_path):
    path = write(tmp_path / "rpls" / "rpls_2019.csv",
                 REGIONAL_HEADER + "\n" + REGIONAL_ROW.format(voie="de Chenôve") + "\n", "utf-8")
    result = read_extract(path, SourceSpec.load("rpls"))
    assert result.layout == "regional" and result.encoding == "utf-8"
    assert result.data.loc[0, "NOMVOIE"] == "de Chenôve"


def test_dido_and_regional_files_never_match_each_other(tmp_path):
    rpls = SourceSpec.load("rpls")
    layouts = {layout.name: layout for layout in rpls.layouts}
    # A dido 2025 file with the restricted extension shares most names with regional, not QPV.
    dido_header = ("DEPCOM;DEPCOM_LIBELLE;EPCI_CODE;QPV_CODE;PLG_QP;PLG_IRIS2024_CODE;TYPECONST_CODE;NBPIECE;"
                   "SURFHAB;CONSTRUCT;LOCAT;FINAN_CODE;CONV;DPEDATE;DPEENERGIE;DPESERRE;PMR_CODE;NUMVOIE;"
                   "TYPVOIE;NOMVOIE;CODEPOSTAL;X;Y;EPSG;IDENT_LOGT;BAILLEUR;LOYERPRINC;SURFMODE;MODESURF;"
                   "MODE;CONTINGENT;RESIDENCE_ID")
    assert layouts["regional"].match(dido_header.split(";"))[1] == ["QPV_CODE"]
    assert layouts["dido"].match(REGIONAL_HEADER.split(";"))[1] == ["QPV_CODE"]
    path = write(tmp_path / "rpls" / "rpls_2025.csv", dido_header + "\n"
                 "21166;Chenôve;242100410;1;QPDEMO01;211660101;C;3;65.5;1968;1970;13;1;2024-01-15;D;E;;12;"
                 "RUE;de l'Église;21300;851234.25;6688123.5;2154;L000123;GDH;345.67;70.1;U;1;2;R42\n")
    result = read_extract(path, rpls)
    assert result.layout == "dido" and result.encoding == "utf-8" and result.rows_rejected == 0
    assert result.data.loc[0, "PLG_QP"] == "QPDEMO01" and result.data.loc[0, "NOMVOIE"] == "de l'Église"


def test_regional_file_without_qpv_says_which_export_column_is_missing(tmp_path):
    header = REGIONAL_HEADER.replace("QPV;", "")
    row = REGIONAL_ROW.format(voie="x").replace("21166;1;", "21166;")
    path = write(tmp_path / "rpls" / "rpls_2019.csv", header + "\n" + row + "\n", "latin-1")
    with pytest.raises(ExtractError) as err:
        read_extract(path, SourceSpec.load("rpls"))
    assert "regional (manque : QPV_CODE (colonne QPV))" in str(err.value)


# --- A real export mapped by a layout file: recodes ---------------------------------------------

def layouts_with(tmp_path: Path, source: str, name: str, text: str) -> Path:
    """A copy of the project's layouts of ``source`` plus one more layout file ``name``."""
    layouts = tmp_path / "layouts"
    shutil.copytree(LAYOUTS_DIR / source, layouts / source)
    (layouts / source / name).write_text(text, encoding="utf-8")
    return layouts


EXPORT_LAYOUT = """\
description = "A fichier partagé export (test): own column names, own codes, Latin-1."
encoding = "latin-1"
required = ["NUM_UNIQUE", "DATE_DEPOT", "TYPE_DEMANDE"]

[columns]
NUM_UNIQUE = "Numéro unique"
DATE_DEPOT = "Date de dépôt"
TYPE_DEMANDE = "Type de demande"
TYPOLOGIE_SOUHAITEE = "Typologie"
DALO = "DALO"

[recodes.TYPE_DEMANDE]
"Demande externe" = "EXTERNE"
"Mutation interne" = "MUTATION"

[recodes.TYPOLOGIE_SOUHAITEE]
"Studio" = "T1"
"T6 et plus" = "T6"
"""


def test_a_layout_recodes_export_values_before_the_closed_list(tmp_path):
    layouts = layouts_with(tmp_path, "demandes", "export_test.toml", EXPORT_LAYOUT)
    spec = SourceSpec.load("demandes", layouts)
    path = write(tmp_path / "sne" / "demandes_2021-03.csv",
                 "Numéro unique;Date de dépôt;Type de demande;Typologie;DALO;NOM\n"
                 "N1;14/06/2019;Mutation interne;Studio;Oui;Dupont\n"
                 "N2;15/06/2019;Demande externe;T6 et plus;Non;Martin\n"
                 "N3;16/06/2019;Demande de logement;T3;Non;Durand\n", "latin-1")
    result = read_extract(path, spec)
    assert result.layout == "export_test" and result.encoding == "latin-1"
    assert list(result.data["TYPE_DEMANDE"]) == ["MUTATION", "EXTERNE"]
    assert list(result.data["TYPOLOGIE_SOUHAITEE"]) == ["T1", "T6"]
    assert list(result.data["DALO"]) == [True, False]
    # The unknown code is still rejected, with the export's own value and what to edit.
    rejet = result.rejets.iloc[0]
    assert len(result.rejets) == 1 and rejet["ligne"] == 4 and rejet["colonne"] == "Type de demande"
    assert rejet["valeur"] == "Demande de logement"
    assert "[recodes.TYPE_DEMANDE]" in rejet["message"] and "export_test.toml" in rejet["message"]
    # A dropped identifier is read past, never loaded.
    assert result.extra_columns == ["NOM"] and "Dupont" not in result.data.to_string()


def test_a_recode_to_a_code_outside_the_contract_is_refused(tmp_path):
    layouts = layouts_with(tmp_path, "demandes", "export_test.toml",
                           EXPORT_LAYOUT.replace('"T6 et plus" = "T6"', '"T6 et plus" = "T6+"'))
    with pytest.raises(ValueError, match=r"recodes\.TYPOLOGIE_SOUHAITEE.*T6\+"):
        SourceSpec.load("demandes", layouts)


def test_a_layout_cannot_map_a_dropped_identifier(tmp_path):
    layouts = layouts_with(tmp_path, "demandes", "export_test.toml",
                           EXPORT_LAYOUT.replace('DALO = "DALO"', 'COMMUNE_RESIDENCE = "ADRESSE"'))
    with pytest.raises(ValueError, match="ADRESSE"):
        SourceSpec.load("demandes", layouts)


def test_only_a_text_column_can_be_pseudonymised(tmp_path):
    layouts = tmp_path / "layouts"
    shutil.copytree(LAYOUTS_DIR / "demandes", layouts / "demandes")
    schema = layouts / "demandes" / "schema.toml"
    text = schema.read_text(encoding="utf-8")
    assert 'pseudonymise = ["NUM_UNIQUE"]' in text
    schema.write_text(text.replace('pseudonymise = ["NUM_UNIQUE"]', 'pseudonymise = ["NUM_UNIQUE", "NB_PERSONNES"]'),
                      encoding="utf-8")
    with pytest.raises(ValueError, match=r"pseudonymise \['NB_PERSONNES'\] must be of type str"):
        SourceSpec.load("demandes", layouts)


# --- The registry: which source a dropped file belongs to --------------------------------------

@pytest.mark.parametrize("relative, source", [
    ("rpls/rpls_2021.csv", "rpls"),
    ("sne/demandes_2021-03.csv", "demandes"),
    ("sne/attributions_2021-03.parquet", "attributions"),
    ("syplo/syplo_2021.xlsx", "syplo"),
    ("syplo/syplo_2021-06.csv", "syplo"),  # SYPLO may also come monthly
])
def test_source_for_file(tmp_path, relative, source):
    assert source_for_file(tmp_path / "data_raw" / relative).source == source


@pytest.mark.parametrize("relative, shown", [
    ("geo/communes_2021.csv", "dossier « geo », préfixe « communes »"),
    ("sne/offres_2021-03.csv", "dossier « sne », préfixe « offres »"),
    ("rpls/demandes_2021.csv", "dossier « rpls », préfixe « demandes »"),
])
def test_source_for_file_names_the_known_sources_when_none_matches(tmp_path, relative, shown):
    with pytest.raises(ExtractError) as err:
        source_for_file(tmp_path / "data_raw" / relative)
    message = str(err.value)
    assert shown in message and "aucune source connue" in message
    assert "rpls : rpls/rpls_AAAA.<ext>" in message and "demandes : sne/demandes_AAAA-MM.<ext>" in message


def test_source_for_file_without_period_says_how_to_name_it(tmp_path):
    with pytest.raises(ExtractError, match="période"):
        source_for_file(tmp_path / "rpls" / "rpls.csv")


def test_all_sources_discovers_every_folder_and_reads_source_tables():
    specs = {spec.source: spec for spec in all_sources()}
    assert {"rpls", "demandes", "attributions", "syplo"} <= set(specs)
    assert (specs["rpls"].folder, specs["rpls"].prefix, specs["rpls"].period) == ("rpls", "rpls", "annee")
    demandes = specs["demandes"]
    assert (demandes.folder, demandes.prefix, demandes.period) == ("sne", "demandes", "mois")
    assert (specs["attributions"].folder, specs["attributions"].period) == ("sne", "mois")
    assert (specs["syplo"].folder, specs["syplo"].period) == ("syplo", "annee")
    assert {layout.name for layout in specs["rpls"].layouts} >= {"dido", "regional"}
    for source in ("demandes", "attributions", "syplo"):
        assert [layout.name for layout in specs[source].layouts] == ["pivot"]


def test_a_new_source_folder_is_discovered_and_source_table_defaults(tmp_path):
    layouts = tmp_path / "layouts"
    write(layouts / "sisal" / "schema.toml",
          '[source]\nfolder = "sisal"\nprefix = "sisal"\nperiod = "annee"\n\n'
          '[columns]\nANNEE = { type = "int" }\n')
    write(layouts / "sans_table" / "schema.toml", '[columns]\nX = { type = "str" }\n')
    (layouts / "__pycache__").mkdir()
    assert [s.source for s in all_sources(layouts)] == ["sans_table", "sisal"]
    default = SourceSpec.load("sans_table", layouts)
    assert (default.folder, default.prefix, default.period) == ("sans_table", "sans_table", "annee")
    assert default.pseudonymise == () and default.drop == ()
    assert source_for_file(tmp_path / "sisal" / "sisal_2022.csv", layouts).source == "sisal"


def test_the_contracts_are_read_once_until_a_file_changes(tmp_path, monkeypatch):
    """A caller may ask for the sources of every file it sees (the sensor, the status, the benchmarks:
    ≈ 0.1 s a reading of every contract file): they are read once, and again when a file is added or
    edited."""
    import tomllib

    from pipeline.sources import contract

    layouts = tmp_path / "layouts"
    write(layouts / "sisal" / "schema.toml", '[source]\nprefix = "sisal"\n\n[columns]\nANNEE = { type = "int" }\n')
    lectures = []
    loads = tomllib.loads
    monkeypatch.setattr(contract.tomllib, "loads", lambda text: lectures.append(1) or loads(text))
    assert [s.source for s in all_sources(layouts)] == ["sisal"]
    assert [s.source for s in all_sources(layouts)] == ["sisal"] and len(lectures) == 1
    write(layouts / "sisal" / "schema.toml", '[source]\nprefix = "agrements"\n\n[columns]\nANNEE = { type = "int" }\n')
    assert [s.prefix for s in all_sources(layouts)] == ["agrements"] and len(lectures) == 2
    write(layouts / "sls" / "schema.toml", '[columns]\nX = { type = "str" }\n')
    assert [s.source for s in all_sources(layouts)] == ["sisal", "sls"]


def test_two_sources_claiming_the_same_files_are_refused(tmp_path):
    layouts = tmp_path / "layouts"
    for name in ("a", "b"):
        write(layouts / name / "schema.toml",
              '[source]\nfolder = "sne"\nprefix = "demandes"\nperiod = "mois"\n\n'
              '[columns]\nX = { type = "str" }\n')
    with pytest.raises(ValueError, match="both claim sne/demandes"):
        all_sources(layouts)


def test_the_raw_schema_of_dbt_is_the_layouts_schema():
    """One declaration of the raw schema: _raw__sources.yml (the columns dbt's source_or_empty stands in
    for a source not ingested yet) declares, for every source, exactly the contract columns of its
    schema.toml with the types ingestion writes, plus the columns ingestion adds (the period, the file
    and the line). A column added to a schema.toml and not to the YAML fails here."""
    import yaml

    from pipeline.settings import DBT_PROJECT_DIR
    from pipeline.sources.sql import SQL_TYPES

    sources = yaml.safe_load((DBT_PROJECT_DIR / "models" / "staging" / "_raw__sources.yml").read_text("utf-8"))
    raw = next(s for s in sources["sources"] if s["name"] == "raw")
    declared = {t["name"]: {c["name"]: c["data_type"] for c in t.get("columns", [])} for t in raw["tables"]}
    added = {"ANNEE", "MOIS", "_LIGNE", "_FICHIER"}
    for spec in all_sources():
        contract = {c.name: SQL_TYPES[c.type].lower() for c in spec.columns}
        assert spec.source in declared, f"_raw__sources.yml has no table {spec.source}"
        yml = declared[spec.source]
        assert {c: t for c, t in yml.items() if c in contract} == contract, spec.source
        assert set(yml) - set(contract) <= added, (spec.source, set(yml) - set(contract) - added)
    assert set(declared) - {s.source for s in all_sources()} == {"geo_communes", "geo_iris", "geo_qpv"}
