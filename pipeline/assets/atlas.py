"""The atlas du parc social: ``reports/atlas/atlas.qmd`` rendered for a year from the year's built
publication (:mod:`pipeline.assets.publication`) — the tables the readers get, after the disclosure
rule — never from the marts.

Rendered in ``var/build/atlas/<annee>/`` (``atlas.pdf`` and its HTML twin ``atlas.html``); the
``publication`` asset publishes them as ``reports/output/<annee>/atlas_parc_social_<epci>_<annee>.pdf``
(and ``.html``), a previous atlas of that year archived first.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pipeline.publication.lecture import PublicationLue
from pipeline.reports.render import render_document
from pipeline.settings import REPORTS_DIR, Settings

ATLAS_DIR = REPORTS_DIR / "atlas"


def atlas_path(settings: Settings, annee: int, interne: bool = False) -> Path:
    """Where the atlas of ``annee`` is published (an internal one in the ``interne/`` folder)."""
    dossier = settings.output_dir / str(annee)
    if interne:
        return dossier / "interne" / f"atlas_parc_social_{settings.epci}_{annee}_interne.pdf"
    return dossier / f"atlas_parc_social_{settings.epci}_{annee}.pdf"


def atlas_metadata(annee: int, run_id: str, demo: bool, version: str, date: datetime) -> dict:
    """The stamp of a run's outputs (cover and footer of the atlas, metadata of the exports)."""
    return {
        "millesime": annee,
        "run-id": run_id,
        "run-court": run_id[:8],
        "code-version": version,
        "build-date": date.strftime("%d/%m/%Y %H:%M"),
        "demo": demo,
    }


def stamp_of(publication: PublicationLue) -> dict:
    """The atlas's document metadata, from the stamp of the publication it is rendered from."""
    meta = publication.metadonnees
    sources = " · ".join(f"{nom} {millesime}" for nom, millesime in meta["sources"].items()
                         if not str(millesime).startswith("absente"))
    return {
        "millesime": meta["annee"],
        # the EPCI's name from the referential (ref_epci, published in _libelles.csv), else its SIREN
        "epci-name": publication.libelle("epci", meta["epci"]),
        "sources": sources,
        "run-id": meta["run_id"],
        "run-court": meta["run_id"][:8],
        "code-version": meta["version_du_code"],
        "build-date": meta["date_de_production"],
        "demo": bool(meta["donnees_fictives"]),
        "interne": bool(meta.get("diffusion_interne", False)),
    }


def build_atlas(settings: Settings, annee: int, publication: Path) -> Path:
    """Render the atlas of one year from the built publication folder; return the built PDF."""
    build_dir = settings.var_dir / "build" / "atlas" / str(annee)
    lue = PublicationLue(publication)
    params = {"annee": annee, "publication": str(publication), "figures": "figures"}
    return render_document(ATLAS_DIR, "atlas.qmd", build_dir, params, stamp_of(lue))
