"""The atlas du parc social: ``reports/atlas/atlas.qmd`` rendered for a year from the year's built
publication (:mod:`pipeline.assets.publication`) — the tables the readers get, after the disclosure
rule — never from the marts.

Rendered in ``var/build/atlas/<annee>/`` (``atlas.pdf`` and its HTML twin ``atlas.html``); the
``publication`` asset publishes them as ``reports/output/<annee>/atlas_parc_social_<epci>_<annee>.pdf``
(and ``.html``), a previous atlas of that year archived first.

The render may start ahead (:func:`rendre_en_avance`): as soon as the tables of a year are built, while
the blocking check audits them. The cells run in a Jupyter kernel, a process of its own, on the
machine's other core; the atlas step takes that render (:func:`atlas_rendu`) when it is of the very
folder it would read, and renders otherwise. Nothing is published before the check and the atlas step
have passed: a failed audit skips the atlas step and the publication, and the render left in the build
folder is replaced by the next run's. Only where the run's steps share this process (the command
line's runs: :func:`pipeline.assets.publication.rendu_en_avance_possible`). There, the render's kernel
itself is started when the step that builds the tables begins (:func:`prechauffer_atlas`).
"""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import Future, wait
from datetime import datetime
from pathlib import Path

from pipeline.publication.ecriture import METADONNEES
from pipeline.publication.lecture import PublicationLue
from pipeline.reports.render import prechauffer, render_document
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


#: Renders started ahead, per (home, year, publication folder): the folder's state when it started and
#: the render (PDF, seconds).
_EN_AVANCE: dict[tuple[str, int, str], tuple[str, Future]] = {}
#: One render at a time in a process: two of a year share the build folder.
_UN_RENDU = threading.Lock()


def _cle(settings: Settings, annee: int, publication: Path) -> tuple[str, int, str]:
    return str(settings.var_dir), annee, str(publication)


def _etat(publication: Path) -> str:
    """The state of a built publication folder: its metadata file holds every file's SHA-256 and the
    run's stamp."""
    return hashlib.sha256((publication / METADONNEES).read_bytes()).hexdigest()


def _rendre(settings: Settings, annee: int, publication: Path) -> tuple[Path, float]:
    with _UN_RENDU:
        debut = time.perf_counter()
        return build_atlas(settings, annee, publication), time.perf_counter() - debut


def prechauffer_atlas() -> None:
    """Start the atlas's kernel now (:func:`pipeline.reports.render.prechauffer`): while the tables of
    the year are built, so that the render started ahead begins with its cells."""
    prechauffer(ATLAS_DIR, "atlas.qmd")


def rendre_en_avance(settings: Settings, annee: int, publication: Path) -> None:
    """Start rendering the atlas of ``annee`` from the built ``publication`` in a thread of this process
    (see the module's docstring); :func:`atlas_rendu` takes it. A daemon thread: a process that ends
    (a failed audit) does not wait for a render nobody will take, and its kernel stops when it sees
    its parent gone."""
    rendu: Future = Future()

    def rendre() -> None:
        rendu.set_running_or_notify_cancel()
        try:
            rendu.set_result(_rendre(settings, annee, publication))
        except BaseException as err:  # given to whoever takes the render
            rendu.set_exception(err)

    _EN_AVANCE[_cle(settings, annee, publication)] = (_etat(publication), rendu)
    threading.Thread(target=rendre, name=f"atlas-{annee}-en-avance", daemon=True).start()


def atlas_rendu(settings: Settings, annee: int, publication: Path) -> tuple[Path, float, bool]:
    """The atlas of ``annee`` from ``publication``: (PDF, seconds of its render, whether it was rendered
    ahead). The render started ahead when it is of the folder as it is now — its failure raised here,
    as rendering now would raise it —, else a render now (after the one ahead has finished: they share
    the build folder)."""
    en_avance = _EN_AVANCE.pop(_cle(settings, annee, publication), None)
    if en_avance is not None:
        etat, rendu = en_avance
        if (publication / METADONNEES).exists() and etat == _etat(publication):
            pdf, secondes = rendu.result()
            return pdf, secondes, True
        wait([rendu])
    pdf, secondes = _rendre(settings, annee, publication)
    return pdf, secondes, False
