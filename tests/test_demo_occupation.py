"""The demo occupation sources (résidences, OPS, SLS, SISAL) and the saisies templates."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from pipeline.demo import occupation, rpls, saisies, territoire
from pipeline.demo.calibration import lire
from pipeline.sources.extract import SourceSpec, period_of, read_extract, source_for_file

SEED = 2021
ANNEES = (2020, 2021)


def _rpls_par_annee(seed: int = SEED) -> dict[int, pd.DataFrame]:
    """RPLS millésimes built with the project's rpls module (contract column names)."""
    geo = territoire.geographie()
    parc = rpls.parc_demo(geo, seed=seed)
    return {annee: rpls.millesime(parc, annee) for annee in ANNEES}


def _ecrire_tout(data_dir: Path, par_annee: dict[int, pd.DataFrame], seed: int = SEED) -> list[Path]:
    files = occupation.generer(data_dir, par_annee, seed)
    files += saisies.generer(data_dir, ANNEES, seed)
    return files


@pytest.fixture(scope="module")
def par_annee() -> dict[int, pd.DataFrame]:
    return _rpls_par_annee()


@pytest.fixture(scope="module")
def demo(tmp_path_factory, par_annee) -> tuple[Path, list[Path]]:
    data_dir = tmp_path_factory.mktemp("occupation")
    for annee, df in par_annee.items():
        rpls.ecrire_rpls(df, data_dir / "rpls" / f"rpls_{annee}.csv", annee)
    return data_dir, _ecrire_tout(data_dir, par_annee)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _source(path: Path) -> str:
    """The layouts folder of a generated file (as the brief names them)."""
    folder = path.parent.name
    if folder == "saisies":
        return "saisie_" + path.name.rsplit("_", 1)[0]
    return {"bailleurs": "residences"}.get(folder, folder)


def test_files_written(demo):
    data_dir, files = demo
    names = sorted(str(p.relative_to(data_dir)) for p in files)
    assert "ops/ops_2020.csv" in names and "ops/ops_2021.csv" not in names  # even survey years only
    for annee in ANNEES:
        for name in (f"bailleurs/residences_{annee}.csv", f"sls/sls_{annee}.csv", f"sisal/sisal_{annee}.csv",
                     f"saisies/ind_01_{annee}.csv", f"saisies/ind_20_{annee}.csv",
                     f"saisies/ind_21_{annee}.csv", f"saisies/ind_27_{annee}.csv"):
            assert name in names
    # The « non renseigné » path: ind_22 of the first year is left out on purpose.
    assert "saisies/ind_22_2020.csv" not in names and "saisies/ind_22_2021.csv" in names


def test_same_seed_gives_byte_identical_files(tmp_path, demo, par_annee):
    data_dir, files = demo
    again = _ecrire_tout(tmp_path / "b", par_annee)
    assert [p.relative_to(tmp_path / "b") for p in again] == [p.relative_to(data_dir) for p in files]
    assert [digest(p) for p in again] == [digest(p) for p in files]
    other = occupation.generer(tmp_path / "c", {2020: par_annee[2020]}, seed=7)
    assert digest(tmp_path / "c" / "ops" / "ops_2020.csv") != digest(data_dir / "ops" / "ops_2020.csv")
    assert len(other) == 4


def test_every_file_reads_back_without_rejects(demo):
    _, files = demo
    for path in files:
        source = _source(path)
        result = read_extract(path, SourceSpec.load(source))
        assert result.rows_rejected == 0, (path, result.rejets.head())
        assert result.layout == "pivot" and result.extra_columns == [] and result.rows_read > 0
        assert source_for_file(path).source == source  # the registry finds it by folder and prefix
    for path in files:
        if path.parent.name == "saisies":
            header = path.read_text(encoding="utf-8").splitlines()[0].split(";")
            assert header[0] == "ANNEE"
            assert set(pd.read_csv(path, sep=";")["ANNEE"]) == {period_of(path)[0]}


def test_ops_is_the_occupied_parc_with_consistent_households(demo, par_annee):
    data_dir, _ = demo
    ops = lire(data_dir, "ops", "ops", "ops")
    parc = par_annee[2020]
    loues = set(parc.loc[parc["MODE"].astype(int) == 1, "IDENT_LOGT"])
    assert ops["LOGEMENT_ID"].is_unique and set(ops["LOGEMENT_ID"]) == loues
    rep = ops[ops["REPONDANT"].astype(bool)]
    assert 0.8 <= len(rep) / len(ops) <= 0.9
    assert rep[["NB_OCCUPANTS", "NB_MAJEURS", "NB_MAJEURS_CHOMAGE", "NB_MINEURS", "AGE_TITULAIRE",
                "COMPOSITION", "RESSOURCES_PCT_PLUS", "EMMENAGE_RECENT", "APL"]].notna().all().all()
    non = ops[~ops["REPONDANT"].astype(bool)]
    assert non[["NB_OCCUPANTS", "COMPOSITION", "RESSOURCES_PCT_PLUS", "APL"]].isna().all().all()
    assert (rep["NB_OCCUPANTS"] == rep["NB_MAJEURS"] + rep["NB_MINEURS"]).all()
    assert (rep["NB_MAJEURS_CHOMAGE"] <= rep["NB_MAJEURS"]).all() and (rep["NB_MAJEURS"] >= 1).all()
    comp = rep["COMPOSITION"]
    assert (rep.loc[comp == "PERSONNE_SEULE", "NB_OCCUPANTS"] == 1).all()
    assert ((rep.loc[comp == "COUPLE_SANS_ENFANT", ["NB_MAJEURS", "NB_MINEURS"]]) == [2, 0]).all().all()
    assert (rep.loc[comp == "COUPLE_AVEC_ENFANTS", "NB_MAJEURS"] >= 2).all()
    assert (rep.loc[comp.isin(["COUPLE_AVEC_ENFANTS", "FAMILLE_MONOPARENTALE"]), "NB_MINEURS"] >= 1).all()
    # household size follows the rooms
    pieces = parc.set_index("IDENT_LOGT")["NBPIECE"].astype(int)
    taille = rep.groupby(rep["LOGEMENT_ID"].map(pieces))["NB_OCCUPANTS"].mean()
    assert taille.is_monotonic_increasing and taille.loc[1] < 1.3
    # APL goes with low resources
    bas = rep["RESSOURCES_PCT_PLUS"] < 40
    assert rep.loc[bas, "APL"].mean() > rep.loc[~bas, "APL"].mean() + 0.3
    # dwelling attributes copied from the RPLS
    logement = parc.set_index("IDENT_LOGT")
    sample = ops.set_index("LOGEMENT_ID")
    assert (sample["IRIS"] == logement.loc[sample.index, "PLG_IRIS"]).all()
    assert (sample["RESIDENCE_ID"] == logement.loc[sample.index, "RESIDENCE_ID"]).all()
    assert (sample["QPV"].fillna("") == logement.loc[sample.index, "PLG_QP"].fillna("")).all()


def test_fragile_iris_have_enough_respondents(demo):
    data_dir, _ = demo
    ops = lire(data_dir, "ops", "ops", "ops", annees={2020})
    classes = occupation.fragilite(ops)
    fragiles = classes[classes["nb_criteres"] >= 2]
    assert (fragiles["nb_menages"] >= occupation.MIN_REPONDANTS).all()
    assert set(classes["nb_criteres"]) == {0, 1, 2, 3}


def test_residences_match_the_rpls(demo, par_annee):
    data_dir, _ = demo
    for annee, parc in par_annee.items():
        res = lire(data_dir, "residences", "bailleurs", "residences", annees={annee}).set_index("RESIDENCE_ID")
        counts = parc.groupby("RESIDENCE_ID").size()
        assert res.index.is_unique and set(res.index) == set(counts.index)
        assert (res["NB_LOGEMENTS"] == counts.reindex(res.index)).all()
        assert (res["NB_LOGEMENTS_ADAPTES"] <= res["NB_LOGEMENTS"]).all()
        assert res["NOM"].str.endswith("(fictif)").all()
        assert not res[["COMMUNE", "NOM"]].duplicated().any()
        # bas loyer: more frequent in QPV
        en_qpv = res["QPV"].notna()
        assert res.loc[en_qpv, "LABEL_BAS_LOYER"].mean() > res.loc[~en_qpv, "LABEL_BAS_LOYER"].mean()


def test_sls_counts_are_ordered_and_no_sls_in_qpv(demo):
    data_dir, _ = demo
    sls = lire(data_dir, "sls", "sls", "sls")
    assert (sls["NB_REPONDANTS"] <= sls["NB_LOGEMENTS_ENQUETES"]).all()
    assert (sls["NB_DEPASSEMENT"] <= sls["NB_REPONDANTS"]).all()
    assert (sls["NB_DEPASSEMENT_20"] <= sls["NB_DEPASSEMENT"]).all()
    assert (sls["NB_SLS_APPLIQUE"] <= sls["NB_DEPASSEMENT"]).all()
    assert (sls.loc[sls["QPV"].notna(), "NB_SLS_APPLIQUE"] == 0).all()
    assert sls["NB_SLS_APPLIQUE"].sum() > 0


def test_saisies_values_are_plausible(demo):
    data_dir, _ = demo
    npnru = lire(data_dir, "saisie_ind_01", "saisies", "ind_01")
    assert set(npnru["QPV"]) == {"QPDEMO01", "QPDEMO02"}
    par_projet = npnru.sort_values("_ANNEE").groupby("PROJET")
    for column in ("LOGEMENTS_DEMOLIS", "LOGEMENTS_RECONSTRUITS", "LOGEMENTS_REHABILITES", "MENAGES_RELOGES"):
        assert par_projet[column].apply(lambda s: s.is_monotonic_increasing).all()  # cumulated figures
    for code in ("ind_20", "ind_22"):
        acc = lire(data_dir, f"saisie_{code}", "saisies", code)
        assert (acc["ACCEDANTS"] <= acc["LOGEMENTS_COMMERCIALISES"]).all()
        assert (acc["ACCEDANTS_ISSUS_PARC_SOCIAL"] <= acc["ACCEDANTS"]).all()
    instances = lire(data_dir, "saisie_ind_27", "saisies", "ind_27")
    assert len(instances) == 5 * len(ANNEES) and (instances["NB_REUNIONS"] > 0).all()


def test_every_calibration_line_is_within_tolerance(demo):
    data_dir, _ = demo
    lignes = occupation.cibles(data_dir)
    libelles = " ".join(l.libelle for l in lignes)
    assert "IRIS fragiles" in libelles and "emménagés récents hors QPV" in libelles and "PLAI" in libelles
    hors = [l for l in lignes if l.ok is False]
    assert not hors, [(l.libelle, l.attendu, l.obtenu) for l in hors]


def test_fragile_set_is_chosen_from_whatever_iris_the_rpls_gives(par_annee):
    parc = par_annee[2020].copy()
    # Recode the IRIS (another cut of the territory): the choice still meets both totals.
    codes = sorted(parc["PLG_IRIS"].unique())
    parc["PLG_IRIS"] = parc["PLG_IRIS"].map({c: f"X{i:04d}" for i, c in enumerate(reversed(codes))})
    choisis = occupation.choisir_iris_fragiles(parc, 11249, 7357)
    dans = parc["PLG_IRIS"].isin(choisis)
    assert abs(int(dans.sum()) - 11249) <= 112
    assert abs(int((dans & (parc["QPV_CODE"] == "1")).sum()) - 7357) <= 74
