"""The published exports of a year (indicators.md, sections E and F): CSV for open data, one XLSX for people.

For a year, every entry of the catalogue is either published or listed as « non renseigné » with
its reason — never written as zeros:

- ``a_construire`` in the catalogue → not built yet;
- its mart is absent from the warehouse → dbt did not build it;
- one of its ``source`` extracts was not ingested for the year (``raw._ingestion``) → source absente
  (a survey source of the catalogue, the OPS, counts as present when the marts describe the year with
  an earlier survey whose extract was ingested: :func:`enquetes_reprises`);
- the mart has no row for the year, or no figure for it (its ``raison`` column says why).

A published table has exactly the columns ``annee``, the catalogue's dimensions in order, the
family's figure columns and ``secret``; the disclosure rule (:mod:`pipeline.publication.secret`)
has masked what it must, and a masked figure prints ``s``. No published value may be a pseudonym.

What is written, in ``reports/output/<annee>/indicateurs/``:

- ``<code>.csv`` — UTF-8, comma, decimal point, header row; plain, nothing else in the file;
- ``indicateurs_<epci>_<annee>.xlsx`` — a « Lisez-moi » sheet (the stamp, the list of tables, the
  non renseignés, the disclosure rule), then one sheet per published code;
- ``_non_renseignes.csv`` — code, label and reason of every indicator not published;
- ``_metadonnees.json`` — the stamp of the folder (millésime of each source, run id, code version,
  date, the demo mark) and, for each file, what it holds and its SHA-256: the CSV stay plain for
  open-data portals, their stamp travels beside them.

The stamp is the atlas's (:func:`pipeline.assets.atlas.atlas_metadata`), completed with the
millésime of every source. The folder is built beside its final place and swapped in whole
(:func:`publier_dossier`); the previous folder of the year goes to ``archives/``, never overwritten.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from pipeline.publication.archives import chemin_archive
from pipeline.publication.catalogue import Catalogue, Indicateur, charger
from pipeline.publication.secret import SEUIL, TOTAL, appliquer_secret
from pipeline.warehouse import INGESTION_LOG, connect_read_only

DOSSIER = "indicateurs"
METADONNEES = "_metadonnees.json"
NON_RENSEIGNES = "_non_renseignes.csv"
LISEZ_MOI = "Lisez-moi"
#: The mark of every output built from the demo data (the atlas prints the same words).
MENTION_DEMO = "DONNÉES FICTIVES — démonstration"
#: What a masked figure prints (indicators.md, section F).
MASQUE = "s"
#: Pseudonyms are HMAC-SHA-256 in hex (pipeline.sources.pseudonymise): 64 hex digits.
PSEUDONYME = re.compile(r"^[0-9a-fA-F]{64}$")
COLONNES_INTERDITES = frozenset({"num_unique"})

REGLE_DU_SECRET = (
    f"Secret statistique (indicators.md, section F). Géographie fine (IRIS, résidence, adresse) : une "
    f"cellule qui décrit moins de {SEUIL} logements ou ménages est masquée. Fragilité : la classe d'un IRIS "
    f"ou d'une résidence de moins de {SEUIL} ménages enquêtés n'est pas publiée. Motifs de priorité "
    f"sensibles (violences, prostitution, traite, handicap, expulsion) : à toute échelle, les effectifs de "
    f"moins de {SEUIL} ménages sont masqués. Tables institutionnelles (bailleur, réservataire, QPV, "
    f"commune, EPCI) : publiées en effectifs. Secret secondaire : là où une seule cellule d'une ligne ou "
    f"d'une colonne sommant à un TOTAL est masquée, la plus petite autre cellule l'est aussi. Une "
    f"cellule masquée s'affiche « {MASQUE} » et sa ligne porte secret = true."
)
FORMAT_CSV = ("UTF-8, séparateur virgule, point décimal, une ligne d'en-tête ; "
              f"« {MASQUE} » = chiffre masqué par le secret statistique ; vide = non calculable.")


class ExportError(RuntimeError):
    """The exports of a year cannot be published (the message names the table, the column, the fix)."""


# --------------------------------------------------------------------------------------------
# The stamp
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tampon:
    """What stamps every published file (indicators.md, section F, last bullet)."""

    annee: int
    epci: str
    #: source → millésime(s) ingested for the year, or « absente ».
    sources: Mapping[str, str]
    run_id: str
    code_version: str
    date: str
    demo: bool

    @classmethod
    def depuis_atlas(cls, atlas: Mapping[str, Any], epci: str, sources: Mapping[str, str]) -> "Tampon":
        """From the atlas's stamp (:func:`pipeline.assets.atlas.atlas_metadata`), with each source's millésime."""
        return cls(annee=int(atlas["millesime"]), epci=epci, sources=dict(sources), run_id=str(atlas["run-id"]),
                   code_version=str(atlas["code-version"]), date=str(atlas["build-date"]),
                   demo=bool(atlas["demo"]))

    @property
    def mention(self) -> str | None:
        return MENTION_DEMO if self.demo else None

    def lignes(self) -> list[tuple[str, str]]:
        """(label, value) lines, for the Lisez-moi sheet."""
        lignes = [("Millésime", str(self.annee)), ("Territoire (EPCI)", self.epci)]
        lignes += [(f"Source {nom}", millesime) for nom, millesime in self.sources.items()]
        lignes += [("Run", self.run_id), ("Version du code", self.code_version), ("Date de production", self.date)]
        return lignes


def millesimes(conn: duckdb.DuckDBPyConnection, annee: int) -> dict[str, str]:
    """Source → the periods of ``annee`` ingested with at least one row kept (``raw._ingestion``).

    An annual source reads ``2021``; a monthly one ``2021-01 à 2021-12 (12 mois)``. Only the last
    ingestion of each (source, period) counts: a corrected extract replaced the earlier one.
    """
    schema, table = INGESTION_LOG.split(".")
    existe = conn.execute("select count(*) from information_schema.tables where table_schema = ? "
                          "and table_name = ?", [schema, table]).fetchone()[0]
    if not existe:
        return {}
    lignes = conn.execute(
        f"""select source, periode from (
                select source, periode, lignes_gardees,
                       row_number() over (partition by source, periode order by ingere_le desc) as rang
                from {INGESTION_LOG} where left(periode, 4) = ?)
            where rang = 1 and lignes_gardees > 0 order by source, periode""", [str(annee)]).fetchall()
    periodes: dict[str, list[str]] = {}
    for source, periode in lignes:
        periodes.setdefault(source, []).append(periode)
    texte = {}
    for source, liste in periodes.items():
        if len(liste) == 1:
            texte[source] = liste[0]
        else:
            texte[source] = f"{liste[0]} à {liste[-1]} ({len(liste)} mois)"
    return texte


def enquetes_reprises(conn: duckdb.DuckDBPyConnection, catalogue: Catalogue, annee: int) -> dict[str, str]:
    """Survey source → « 2020 (enquête reprise pour 2021) », for the survey sources of the catalogue
    that the marts describe ``annee`` with an earlier survey (their column ``annee_enquete``), when
    that survey's extract was ingested. A year the marts leave without a survey gets nothing here:
    its survey-based indicators stay « non renseigné »."""
    marts = _tables_du_schema(conn, "marts")
    reprises: dict[str, str] = {}
    for source in catalogue.sources_enquete:
        annees: set[int] = set()
        for indicateur in catalogue.indicateurs:
            if source in indicateur.source and indicateur.modele in marts \
                    and "annee_enquete" in _colonnes(conn, "marts", indicateur.modele):
                annees |= {int(r[0]) for r in conn.execute(
                    f'select distinct annee_enquete from marts."{indicateur.modele}" '
                    f"where annee = ? and annee_enquete < ?", [annee, annee]).fetchall() if r[0] is not None}
        ingerees = sorted(a for a in annees if source in millesimes(conn, a))
        if ingerees:
            reprises[source] = f"{', '.join(map(str, ingerees))} (enquête reprise pour {annee})"
    return reprises


# --------------------------------------------------------------------------------------------
# Reading the marts
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TablePubliee:
    """One indicator table ready to write: published columns, disclosure applied."""

    indicateur: Indicateur
    donnees: pd.DataFrame
    #: The distinct ``source`` texts of the mart's rows (e.g. « RPLS 2021 »).
    sources: tuple[str, ...] = ()
    #: The distinct ``raison`` texts of the mart's rows: why some figures are empty.
    remarques: tuple[str, ...] = ()

    @property
    def cellules_masquees(self) -> int:
        return int(self.donnees["secret"].sum())


@dataclass(frozen=True)
class NonRenseigne:
    """An indicator of the catalogue not published for the year, and why."""

    code: str
    libelle: str
    raison: str


def _tables_du_schema(conn: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    return {r[0] for r in conn.execute(
        "select table_name from information_schema.tables where table_schema = ?", [schema]).fetchall()}


def _colonnes(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, table]).fetchall()]


def _annees(indicateur: Indicateur, annee: int) -> list[int]:
    """The years an export carries: the « Évolution… » indicators show the previous year too."""
    return [annee - 1, annee] if indicateur.evolution else [annee]


def lire_mart(conn: duckdb.DuckDBPyConnection, indicateur: Indicateur,
              annee: int) -> tuple[pd.DataFrame, tuple[str, ...], tuple[str, ...]]:
    """The published columns of the indicator's mart for its years, the mart's ``source`` texts and
    its ``raison`` texts (why a figure is empty), when it has those columns.

    A mart names its columns as published, or the catalogue's ``colonnes`` maps them. A monthly
    mart without ``annee`` gets it from ``mois``.
    """
    mart = indicateur.modele
    presentes = set(_colonnes(conn, "marts", mart))
    expressions, manquantes = {}, []
    for publiee in ("annee", *indicateur.dimensions, *indicateur.colonnes_chiffres):
        colonne = indicateur.colonnes.get(publiee, publiee)
        if colonne in presentes:
            expressions[publiee] = f'"{colonne}"'
        elif publiee == "annee" and "mois" in presentes:
            expressions[publiee] = 'cast(left(cast("mois" as varchar), 4) as integer)'
        else:
            manquantes.append(publiee if colonne == publiee else f"{publiee} (colonne {colonne!r} du mart)")
    if manquantes:
        raise ExportError(
            f"marts.{mart} (indicateur {indicateur.code}) : colonnes absentes : {', '.join(manquantes)}. "
            f"Ajoutez-les au mart, ou nommez la colonne du mart dans « colonnes: » de l'entrée {indicateur.code} "
            f"de catalogue/indicateurs.yaml.")

    annees = _annees(indicateur, annee)
    requete = f"from marts.{mart} where {expressions['annee']} in ({', '.join('?' * len(annees))})"
    colonnes = ", ".join(f'{sql} as "{publiee}"' for publiee, sql in expressions.items())
    frame = conn.execute(f"select {colonnes} {requete}", annees).df()
    textes = {}
    for colonne in ("source", "raison"):
        textes[colonne] = tuple(r[0] for r in conn.execute(
            f'select distinct cast("{colonne}" as varchar) {requete} and "{colonne}" is not null order by 1',
            annees).fetchall()) if colonne in presentes else ()
    return _trier(frame, indicateur), textes["source"], textes["raison"]


def _trier(frame: pd.DataFrame, indicateur: Indicateur) -> pd.DataFrame:
    """Rows in a stable order: year, then each dimension (numbers as numbers), its TOTAL row last."""
    if frame.empty:
        return frame.reset_index(drop=True)
    cles, colonnes = {}, []
    for colonne in ("annee", *indicateur.dimensions):
        valeurs = frame[colonne]
        cles[f"_total_{colonne}"] = valeurs.eq(TOTAL).fillna(False).astype(bool)
        nombres = pd.to_numeric(valeurs, errors="coerce")
        cles[f"_nombre_{colonne}"] = nombres.fillna(float("inf"))
        cles[f"_texte_{colonne}"] = valeurs.astype("string").fillna("")
        colonnes += [f"_total_{colonne}", f"_nombre_{colonne}", f"_texte_{colonne}"]
    ordre = pd.DataFrame(cles, index=frame.index).sort_values(colonnes, kind="stable").index
    return frame.loc[ordre].reset_index(drop=True)


def verifier_sans_pseudonyme(frame: pd.DataFrame, code: str) -> None:
    """Raise when a published table would carry a pseudonymised identifier (indicators.md, section F)."""
    for colonne in frame.columns:
        if str(colonne).lower() in COLONNES_INTERDITES:
            raise ExportError(f"{code} : la colonne {colonne!r} est un identifiant pseudonymisé ; elle ne doit "
                              f"jamais être publiée. Retirez-la du mart ou du catalogue.")
        valeurs = frame[colonne]
        if valeurs.dtype.kind in "biufcmM":
            continue
        texte = valeurs.dropna().astype(str)
        trouves = texte[texte.str.fullmatch(PSEUDONYME)]
        if not trouves.empty:
            raise ExportError(
                f"{code} : colonne {colonne!r}, ligne {int(trouves.index[0]) + 1} : la valeur {trouves.iloc[0][:12]}… "
                f"a la forme d'un pseudonyme (64 chiffres hexadécimaux) ; aucun identifiant pseudonymisé ne doit "
                f"être publié. Corrigez le mart qui la produit.")


def preparer(conn: duckdb.DuckDBPyConnection, catalogue: Catalogue, annee: int,
             sources_presentes: Mapping[str, str]) -> tuple[list[TablePubliee], list[NonRenseigne]]:
    """Every catalogue entry of ``annee``: the tables to publish, and those « non renseigné »."""
    marts = _tables_du_schema(conn, "marts")
    tables, absents = [], []
    for indicateur in catalogue.indicateurs:
        def non_renseigne(raison: str) -> None:
            absents.append(NonRenseigne(indicateur.code, indicateur.libelle, raison))

        if not indicateur.disponible:
            non_renseigne("indicateur pas encore construit (statut a_construire au catalogue)")
            continue
        if indicateur.modele not in marts:
            non_renseigne(f"table marts.{indicateur.modele} absente de l'entrepôt (dbt ne l'a pas construite)")
            continue
        manquantes = [s for s in indicateur.source if s not in sources_presentes]
        if manquantes:
            non_renseigne(f"source{'s' if len(manquantes) > 1 else ''} absente{'s' if len(manquantes) > 1 else ''} "
                          f"pour {annee} : {', '.join(manquantes)} (aucun extrait ingéré)")
            continue
        frame, sources, remarques = lire_mart(conn, indicateur, annee)
        if not frame["annee"].eq(annee).any():
            non_renseigne(f"aucune ligne pour {annee} dans marts.{indicateur.modele}")
            continue
        # the target of an objective is known without data: it does not make the year renseigné
        mesures = [c for c in indicateur.colonnes_chiffres if c != "cible"]
        if not frame.loc[frame["annee"].eq(annee), mesures].notna().any(axis=None):
            non_renseigne("; ".join(remarques) or f"aucune valeur calculée pour {annee} dans marts.{indicateur.modele}")
            continue
        publie = appliquer_secret(frame, indicateur)
        publie = publie[list(indicateur.colonnes_publiees)]
        verifier_sans_pseudonyme(publie, indicateur.code)
        tables.append(TablePubliee(indicateur, publie, sources, remarques))
    return tables, absents


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

def _scalaire(valeur: Any) -> Any:
    """A cell as a plain Python value (None for missing)."""
    if valeur is None or valeur is pd.NA or valeur is pd.NaT:
        return None
    if isinstance(valeur, float) and math.isnan(valeur):
        return None
    if isinstance(valeur, np.generic):
        return _scalaire(valeur.item())
    return valeur


def _texte(valeur: Any) -> str:
    """A cell as open-data text: decimal point, no exponent, true/false, empty when missing."""
    valeur = _scalaire(valeur)
    if valeur is None:
        return ""
    if isinstance(valeur, bool):
        return "true" if valeur else "false"
    if isinstance(valeur, float):
        return np.format_float_positional(valeur, trim="-")
    if isinstance(valeur, Decimal):
        return format(valeur, "f")
    return str(valeur)


def _lignes(table: TablePubliee) -> list[list[Any]]:
    """The rows of a table as plain values, masked figures as ``s``."""
    chiffres = set(table.indicateur.colonnes_chiffres)
    colonnes = list(table.donnees.columns)
    lignes = []
    for ligne in table.donnees.itertuples(index=False):
        secret = bool(ligne[-1])
        lignes.append([MASQUE if secret and colonne in chiffres else _scalaire(valeur)
                       for colonne, valeur in zip(colonnes, ligne)])
    return lignes


def ecrire_csv(table: TablePubliee, chemin: Path) -> None:
    """``<code>.csv``: UTF-8, comma, decimal point, header row (indicators.md, section E)."""
    with chemin.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(table.donnees.columns)
        writer.writerows([_texte(v) for v in ligne] for ligne in _lignes(table))


def ecrire_non_renseignes(annee: int, absents: Sequence[NonRenseigne], chemin: Path) -> None:
    with chemin.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["annee", "code", "libelle", "raison"])
        writer.writerows([annee, a.code, a.libelle, a.raison] for a in absents)


def ecrire_classeur(tables: Sequence[TablePubliee], absents: Sequence[NonRenseigne], tampon: Tampon,
                    chemin: Path) -> None:
    """The workbook for people: « Lisez-moi » (stamp, contents, non renseignés, rule), one sheet per code."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    gras, rouge = Font(bold=True), Font(bold=True, color="C00000")
    classeur = Workbook()
    lisez_moi = classeur.active
    lisez_moi.title = LISEZ_MOI
    lisez_moi.append([f"Indicateurs de l'observatoire du parc social — {tampon.annee}"])
    lisez_moi["A1"].font = Font(bold=True, size=14)
    if tampon.mention:
        lisez_moi.append([tampon.mention])
        lisez_moi.cell(lisez_moi.max_row, 1).font = rouge
    lisez_moi.append([])
    for libelle, valeur in tampon.lignes():
        lisez_moi.append([libelle, valeur])
        lisez_moi.cell(lisez_moi.max_row, 1).font = gras
    lisez_moi.append([])
    lisez_moi.append(["Secret statistique", REGLE_DU_SECRET])
    lisez_moi.append(["Fichiers CSV", FORMAT_CSV])
    for ligne in (lisez_moi.max_row - 1, lisez_moi.max_row):
        lisez_moi.cell(ligne, 1).font = gras
    lisez_moi.append([])
    lisez_moi.append(["Feuille", "Libellé", "Unité", "Source", "Lignes", "Cellules masquées", "Définition",
                      "Chiffres absents"])
    for cellule in lisez_moi[lisez_moi.max_row]:
        cellule.font = gras
    for table in tables:
        ind = table.indicateur
        lisez_moi.append([ind.code, ind.libelle, ind.unite, ", ".join(table.sources), len(table.donnees),
                          table.cellules_masquees, ind.definition, "; ".join(table.remarques) or None])
    lisez_moi.append([])
    lisez_moi.append(["Non renseigné", "Libellé", "Raison"])
    for cellule in lisez_moi[lisez_moi.max_row]:
        cellule.font = gras
    for absent in absents:
        lisez_moi.append([absent.code, absent.libelle, absent.raison])
    for lettre, largeur in zip("ABCDEFGH", (28, 60, 12, 24, 8, 10, 80, 40)):
        lisez_moi.column_dimensions[lettre].width = largeur

    for table in tables:
        feuille = classeur.create_sheet(table.indicateur.code)  # ≤ 31 characters: checked by the catalogue
        feuille.append(list(table.donnees.columns))
        for cellule in feuille[1]:
            cellule.font = gras
        for ligne in _lignes(table):
            feuille.append([float(v) if isinstance(v, Decimal) else v for v in ligne])
        feuille.freeze_panes = "A2"
    classeur.properties.title = f"Indicateurs de l'observatoire du parc social — {tampon.annee}"
    classeur.properties.creator = "observatoire"
    classeur.properties.description = " · ".join(
        ([tampon.mention] if tampon.mention else []) + [f"{k} : {v}" for k, v in tampon.lignes()])
    classeur.save(chemin)


def _sha256(chemin: Path) -> str:
    return hashlib.sha256(chemin.read_bytes()).hexdigest()


def ecrire_metadonnees(dossier: Path, tables: Sequence[TablePubliee], absents: Sequence[NonRenseigne],
                       tampon: Tampon) -> None:
    """``_metadonnees.json``: the stamp of the folder and, for each file, what it holds and its SHA-256."""
    fichiers = []
    for table in tables:
        ind = table.indicateur
        chemin = dossier / f"{ind.code}.csv"
        fichiers.append({
            "fichier": chemin.name, "code": ind.code, "libelle": ind.libelle, "unite": ind.unite,
            "definition": ind.definition, "colonnes": list(table.donnees.columns),
            "lignes": len(table.donnees), "cellules_masquees": table.cellules_masquees,
            "source": list(table.sources), "chiffres_absents": list(table.remarques), "sha256": _sha256(chemin),
        })
    for chemin in sorted(dossier.iterdir()):
        if chemin.suffix != ".csv" or chemin.stem not in {t.indicateur.code for t in tables}:
            fichiers.append({"fichier": chemin.name, "sha256": _sha256(chemin)})
    contenu = {
        "titre": f"Indicateurs de l'observatoire du parc social — {tampon.annee}",
        "annee": tampon.annee,
        "epci": tampon.epci,
        "donnees_fictives": tampon.demo,
        "mention": tampon.mention,
        "sources": dict(tampon.sources),
        "run_id": tampon.run_id,
        "version_du_code": tampon.code_version,
        "date_de_production": tampon.date,
        "format_csv": FORMAT_CSV,
        "regle_du_secret": REGLE_DU_SECRET,
        "fichiers": fichiers,
        "non_renseignes": [{"code": a.code, "libelle": a.libelle, "raison": a.raison} for a in absents],
    }
    (dossier / METADONNEES).write_text(json.dumps(contenu, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Publication
# --------------------------------------------------------------------------------------------

def publier_dossier(construit: Path, cible: Path) -> Path | None:
    """Put the folder ``construit`` in place of ``cible``; return where the previous ``cible`` was archived.

    ``construit`` must be on the same file system (build it beside ``cible``): both moves are
    renames. The previous folder goes to ``archives/<nom>_<date>`` first (as the atlas's PDF does),
    and comes back if the second rename fails. A folder cannot be replaced by one atomic rename;
    between the two renames — microseconds — the year has no folder, never a half-written one.
    """
    archive = None
    if cible.exists():
        archive = chemin_archive(cible)
        os.rename(cible, archive)
    try:
        os.rename(construit, cible)
    except OSError:
        if archive is not None:
            os.rename(archive, cible)
        raise
    os.utime(cible)  # the folder's date is its publication date (names its archive next time)
    return archive


@dataclass(frozen=True)
class Publication:
    """What :func:`exporter_annee` published."""

    dossier: Path
    classeur: Path
    publies: tuple[str, ...]
    non_renseignes: tuple[NonRenseigne, ...]
    cellules_masquees: int
    archive: Path | None = None
    sources: Mapping[str, str] = field(default_factory=dict)


def dossier_indicateurs(sortie: Path, annee: int) -> Path:
    """Where the exports of ``annee`` are published (``sortie`` = ``reports/output``)."""
    return sortie / str(annee) / DOSSIER


def exporter_annee(warehouse: Path, annee: int, sortie: Path, estampille: Mapping[str, Any], epci: str,
                   catalogue: Catalogue | None = None) -> Publication:
    """Build and publish the exports of ``annee`` from the marts of ``warehouse`` (read-only).

    ``estampille`` is the atlas's stamp of the run (:func:`pipeline.assets.atlas.atlas_metadata`).
    Nothing is published unless every file was written: on any error the previous folder stays.
    """
    catalogue = catalogue or charger()
    with connect_read_only(warehouse) as conn:
        presentes = {**enquetes_reprises(conn, catalogue, annee), **millesimes(conn, annee)}
        tables, absents = preparer(conn, catalogue, annee, presentes)
    noms_sources = sorted({s for ind in catalogue.indicateurs for s in ind.source} | set(presentes))
    tampon = Tampon.depuis_atlas(estampille, epci,
                                 {s: presentes.get(s, "absente (non renseigné)") for s in noms_sources})

    cible = dossier_indicateurs(sortie, annee)
    cible.parent.mkdir(parents=True, exist_ok=True)
    construit = Path(tempfile.mkdtemp(prefix=f".{DOSSIER}.", dir=cible.parent))
    try:
        for table in tables:
            ecrire_csv(table, construit / f"{table.indicateur.code}.csv")
        ecrire_non_renseignes(annee, absents, construit / NON_RENSEIGNES)
        classeur = construit / f"indicateurs_{epci}_{annee}.xlsx"
        ecrire_classeur(tables, absents, tampon, classeur)
        ecrire_metadonnees(construit, tables, absents, tampon)
        os.chmod(construit, 0o755)  # mkdtemp makes it private; the published folder is for everyone
        archive = publier_dossier(construit, cible)
    except BaseException:
        shutil.rmtree(construit, ignore_errors=True)
        raise
    return Publication(dossier=cible, classeur=cible / classeur.name,
                       publies=tuple(t.indicateur.code for t in tables), non_renseignes=tuple(absents),
                       cellules_masquees=sum(t.cellules_masquees for t in tables), archive=archive,
                       sources=tampon.sources)
