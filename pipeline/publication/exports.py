"""The publication of a year: the one step every reader's file goes through (indicators.md, sections E
and F; architecture.md: « the disclosure rule, applied once; the only door to readers »).

:func:`construire_publication` reads every catalogue table of the year from the marts (read-only),
applies the disclosure rule to all of them at once (:mod:`pipeline.publication.tables`), and writes the
folder of the year — CSV, the XLSX workbook, the GeoPackage for GIS teams, the labels, the list of
« non renseigné » and the stamped metadata with the audit of the rule — into a folder of its own. The
atlas and the dashboard are rendered from that folder (:mod:`pipeline.publication.lecture`), never from
the marts. :func:`publier_dossier` then swaps it into ``reports/output/<annee>/indicateurs/``; the
previous folder of the year goes to ``archives/``, never overwritten.

``secret=False`` builds an internal diffusion for a bailleur (the rule lifted, section F): it is stamped
« DIFFUSION INTERNE » on every file and published under ``reports/output/<annee>/interne/``, never in
place of the public folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipeline.publication.archives import chemin_archive
from pipeline.publication.catalogue import Catalogue, charger
from pipeline.publication.ecriture import (LIBELLES, NON_RENSEIGNES, ecrire_classeur, ecrire_csv, ecrire_libelles,
                                           ecrire_metadonnees, ecrire_non_renseignes)
from pipeline.publication.tables import ExportError, NonRenseigne, Preparation, preparer
from pipeline.publication.tampon import Tampon, enquetes_reprises, ingestion_de_l_annee, millesimes
from pipeline.warehouse import connect_read_only, tables_of_schema

DOSSIER = "indicateurs"
DOSSIER_INTERNE = "interne"

__all__ = ["DOSSIER", "Construction", "ExportError", "Publication", "construire_publication", "dossier_indicateurs",
           "exporter_annee", "publier_dossier"]


@dataclass(frozen=True)
class Construction:
    """A publication built in its own folder, not yet published."""

    dossier: Path
    preparation: Preparation
    tampon: Tampon
    classeur: Path
    geopackage: Path | None

    @property
    def publies(self) -> tuple[str, ...]:
        return tuple(t.indicateur.code for t in self.preparation.tables)

    @property
    def non_renseignes(self) -> tuple[NonRenseigne, ...]:
        return self.preparation.absents

    @property
    def cellules_masquees(self) -> int:
        return sum(t.cellules_masquees for t in self.preparation.tables)


def lire_libelles(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The names of the codes (``marts.libelles``: communes, QPV, bailleurs, réservataires, résidences, IRIS)."""
    if "libelles" not in tables_of_schema(conn, "marts"):
        return pd.DataFrame(columns=["dimension", "code", "libelle"])
    return conn.execute("select dimension, code, libelle from marts.libelles order by dimension, code").df()


def construire_publication(warehouse: Path, annee: int, dossier: Path, estampille: Mapping[str, Any], epci: str,
                           catalogue: Catalogue | None = None, secret: bool = True,
                           controles: Mapping[str, Any] | None = None, jusqu_au_mois: str | None = None
                           ) -> Construction:
    """Build every file of the publication of ``annee`` in ``dossier`` (created; must not exist) from the
    marts of ``warehouse`` (read-only). ``estampille`` is the run's stamp
    (:func:`pipeline.assets.atlas.atlas_metadata`); ``controles`` the run's data-quality checks so far
    (passed, failed, warned), written with the rows each source's ingestion quarantined;
    ``jusqu_au_mois`` (``AAAA-MM``, the monthly dashboard): the monthly extracts counted up to that month,
    as the marts were built."""
    from pipeline.publication.geopackage import ecrire_geopackage

    catalogue = catalogue or charger()
    with connect_read_only(warehouse) as conn:
        presentes = {**enquetes_reprises(conn, catalogue, annee), **millesimes(conn, annee, jusqu_au_mois)}
        preparation = preparer(conn, catalogue, annee, presentes, secret=secret)
        libelles = lire_libelles(conn)
        qualite = {"controles": dict(controles or {}), "ingestion": ingestion_de_l_annee(conn, annee, jusqu_au_mois)}
        noms_sources = sorted({s for ind in catalogue.indicateurs for s in ind.source} | set(presentes))
        tampon = Tampon.depuis_atlas({**estampille, "interne": not secret}, epci,
                                     {s: presentes.get(s, "absente (non renseigné)") for s in noms_sources})
        dossier.mkdir(parents=True)
        for table in preparation.tables:
            ecrire_csv(table, dossier / f"{table.indicateur.code}.csv")
        ecrire_non_renseignes(annee, preparation.absents, dossier / NON_RENSEIGNES)
        ecrire_libelles(libelles, dossier / LIBELLES)
        classeur = dossier / f"indicateurs_{epci}_{annee}.xlsx"
        ecrire_classeur(preparation, tampon, classeur)
        geopackage = ecrire_geopackage(conn, preparation, tampon, dossier / f"indicateurs_{epci}_{annee}.gpkg")
    ecrire_metadonnees(dossier, preparation, tampon, qualite)
    return Construction(dossier, preparation, tampon, classeur, geopackage)


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


def publier_copie(source: Path, cible: Path) -> Path | None:
    """Publish a copy of the built folder ``source`` as ``cible`` (copied beside it, then swapped in)."""
    cible.parent.mkdir(parents=True, exist_ok=True)
    temporaire = Path(tempfile.mkdtemp(prefix=f".{cible.name}.", dir=cible.parent))
    try:
        shutil.copytree(source, temporaire, dirs_exist_ok=True)
        os.chmod(temporaire, 0o755)  # mkdtemp makes it private; the published folder is for everyone
        return publier_dossier(temporaire, cible)
    except BaseException:
        shutil.rmtree(temporaire, ignore_errors=True)
        raise


def restes_de_publication(dossier: Path) -> list[Path]:
    """The temporary copies a killed publication left in a published year's folder: every hidden entry
    (a folder is built as ``.<nom>.<hasard>`` by :func:`publier_copie` and :func:`exporter_annee`, a
    file copied as ``.<nom>.tmp`` by :func:`pipeline.reports.render.publish`); the publication puts no
    other hidden file there."""
    return sorted(p for p in dossier.iterdir() if p.name.startswith(".")) if dossier.is_dir() else []


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


def dossier_indicateurs(sortie: Path, annee: int, secret: bool = True) -> Path:
    """Where the exports of ``annee`` are published (``sortie`` = ``reports/output``)."""
    return sortie / str(annee) / (DOSSIER if secret else DOSSIER_INTERNE)


def exporter_annee(warehouse: Path, annee: int, sortie: Path, estampille: Mapping[str, Any], epci: str,
                   catalogue: Catalogue | None = None, secret: bool = True) -> Publication:
    """Build and publish the exports of ``annee`` in one go (the pipeline builds, renders the atlas from
    the built folder, then publishes both). Nothing is published unless every file was written: on any
    error the previous folder stays."""
    cible = dossier_indicateurs(sortie, annee, secret)
    cible.parent.mkdir(parents=True, exist_ok=True)
    temporaire = Path(tempfile.mkdtemp(prefix=f".{cible.name}.", dir=cible.parent))
    construit = temporaire / cible.name
    try:
        construction = construire_publication(warehouse, annee, construit, estampille, epci, catalogue, secret)
        os.chmod(construit, 0o755)
        archive = publier_dossier(construit, cible)
    finally:
        shutil.rmtree(temporaire, ignore_errors=True)
    return Publication(dossier=cible, classeur=cible / construction.classeur.name, publies=construction.publies,
                       non_renseignes=construction.non_renseignes, cellules_masquees=construction.cellules_masquees,
                       archive=archive, sources=construction.tampon.sources)
