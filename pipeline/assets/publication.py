"""The publication of each year of a run: the one door to the readers (architecture.md).

Three assets, in order, for the yearly partitions:

1. ``indicateurs_publies`` reads every catalogue mart (read-only), applies the disclosure rule to all the
   tables of the year at once and writes the year's folder — CSV, XLSX, GeoPackage, labels, metadata
   with the audit — under ``var/publication/<annee>/``: built, not yet published. Its blocking check
   ``audit_secret`` audits the files as written (feasible interval of every masked cell, by linear
   programming): a leak stops everything downstream.
2. ``atlas_parc_social`` renders the atlas (PDF and its HTML twin) from that folder — never from the
   marts — into ``var/build/atlas/<annee>/``.
3. ``publication`` swaps the folder into ``reports/output/<annee>/indicateurs/`` and the atlas into
   ``reports/output/<annee>/``, the previous versions archived. It runs only when everything before it
   succeeded: a failed check, render or step publishes nothing and replaces nothing.

Run config ``{"interne": true}`` on the three assets lifts the rule for a bailleur's internal use
(section F): every file is stamped « DIFFUSION INTERNE » and goes to ``reports/output/<annee>/interne/``,
never in place of the public files.
"""


import json
import os
import shutil
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import dagster as dg

from pipeline.assets.dbt import dbt_docs_dir
from pipeline.assets.quality import NON_REUSSIES
from pipeline.quality.docs import DATA_DOCS, DBT_DOCS, ecrire_data_docs, ecrire_dbt_docs
from pipeline.assets.atlas import atlas_metadata, atlas_path, atlas_rendu, prechauffer_atlas, rendre_en_avance
from pipeline.partitions import annual_partitions, years_from_tags, years_of_keys
from pipeline.provenance import is_demo
from pipeline.publication.catalogue import Catalogue, charger
from pipeline.publication.exports import construire_publication, dossier_indicateurs, publier_copie
from pipeline.publication.lecture import PublicationLue
from pipeline.publication.verification import auditer_dossier
from pipeline.reports.render import publish
from pipeline.resources import ObservatoireResource
from pipeline.runs import PID_TAG
from pipeline.settings import WRITER_POOL, Settings, code_version

INDICATEURS_KEY = dg.AssetKey(["indicateurs_publies"])
ATLAS_KEY = dg.AssetKey(["atlas_parc_social"])
PUBLICATION_KEY = dg.AssetKey(["publication"])
#: Metadata of indicateurs_publies: one line « <année> <code> : <raison> » per legal objective not
#: published (printed by the CLI's run summary).
OBJECTIFS_NON_RENSEIGNES = "objectifs_non_renseignes"
#: Marts read by the publication step besides the catalogue's: contours and the names of the codes.
MARTS_HORS_CATALOGUE_LUS = ("geo_communes", "geo_iris", "geo_qpv", "libelles")
#: The folder of the quality documents (GX Data Docs, dbt docs) in the year's publication.
QUALITE = "qualite"


class DiffusionConfig(dg.Config):
    """``interne``: the disclosure rule lifted, for a bailleur's internal use (stamped, never public)."""

    interne: bool = False


def rendu_en_avance_possible(context: dg.AssetExecutionContext) -> bool:
    """Whether the atlas may be rendered ahead (:func:`pipeline.assets.atlas.rendre_en_avance`): the run
    renders it — its job has the asset and the run did not leave it out (``observatoire run
    --sans-atlas``, a selection in the UI) — and its steps run in this process (the command line's
    runs, whose tags name their process: a step of a multiprocess run ends with its process, and a
    render in it would end too)."""
    if context.run.tags.get(PID_TAG) != str(os.getpid()):
        return False
    selection = context.run.asset_selection
    if selection:  # None or empty: the whole job
        return ATLAS_KEY in selection
    return ATLAS_KEY in context.job_def.asset_layer.executable_asset_keys


def dossier_construit(settings: Settings, annee: int, interne: bool = False) -> Path:
    """Where the publication of ``annee`` is built before it is published."""
    return settings.var_dir / "publication" / str(annee) / ("interne" if interne else "indicateurs")


def marts_lus(cles_dbt: Iterable[dg.AssetKey], catalogue: Catalogue) -> list[dg.AssetKey]:
    """The asset keys of the marts the publication step reads that the dbt project defines."""
    cles = set(cles_dbt)
    lus = [dg.AssetKey([i.modele]) for i in catalogue.indicateurs] + [dg.AssetKey([m]) for m in MARTS_HORS_CATALOGUE_LUS]
    return [cle for cle in lus if cle in cles]


def controles_du_run(instance: dg.DagsterInstance, run_id: str, dbt_dir: Path | None = None) -> dict:
    """The data-quality checks the run has evaluated so far — its Dagster asset checks (the Great
    Expectations suites) and its dbt tests (kept by :func:`pipeline.assets.dbt.keep_test_results`):
    passed, failed (blocking), warned (failed with severity WARN), and the names of those that did not
    pass."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    resume = {"reussis": 0, "en_echec": 0, "avertissements": 0, "non_reussis": []}
    for chemin in sorted((dbt_dir / "tests" / run_id).glob("*.json")) if dbt_dir is not None else []:
        tests = json.loads(chemin.read_text(encoding="utf-8"))
        for cle in ("reussis", "en_echec", "avertissements"):
            resume[cle] += tests[cle]
        resume["non_reussis"] += tests["non_reussis"]
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.passed:
            resume["reussis"] += 1
            continue
        avertissement = evaluation.severity == dg.AssetCheckSeverity.WARN
        resume["avertissements" if avertissement else "en_echec"] += 1
        detail = evaluation.metadata.get(NON_REUSSIES)
        for attente in (detail.value if detail is not None else None) or [{}]:
            # a Great Expectations check names each expectation that did not pass, its table and rows
            resume["non_reussis"].append({"controle": evaluation.check_name,
                                          "table": attente.get("table") or evaluation.asset_key.to_user_string(),
                                          "gravite": "avertissement" if avertissement else "bloquant",
                                          **{k: v for k, v in attente.items() if k != "table"}})
    return resume


def construire_annee(settings: Settings, annee: int, run_id: str, catalogue: Catalogue, interne: bool = False,
                     controles: dict | None = None, dossier: Path | None = None, jusqu_au_mois: str | None = None):
    """Build the publication of one year in its build folder (a previous build is replaced); ``dossier``:
    another build folder, and ``jusqu_au_mois`` its last month (the monthly dashboard's)."""
    dossier = dossier or dossier_construit(settings, annee, interne)
    if dossier.exists():
        shutil.rmtree(dossier)
    estampille = atlas_metadata(annee, run_id, is_demo(settings.data_dir), code_version(), datetime.now())
    return construire_publication(settings.warehouse, annee, dossier, estampille, settings.epci, catalogue,
                                  secret=not interne, controles=controles, jusqu_au_mois=jusqu_au_mois)


def dossier_qualite(settings: Settings, annee: int) -> Path:
    """Where the quality documents of ``annee`` are built (published with the indicators)."""
    return settings.var_dir / "publication" / str(annee) / QUALITE


def construire_qualite(settings: Settings, annee: int, run_id: str, catalogue: Catalogue) -> dict:
    """The run's GX Data Docs and the dbt docs of ``annee``, built for publication; their paths in the
    published year's folder (for the metadata and the run's summary)."""
    dossier = dossier_qualite(settings, annee)
    if dossier.exists():
        shutil.rmtree(dossier)
    documents = {}
    if ecrire_data_docs(settings.var_dir / "qualite" / run_id, dossier, annee) is not None:
        documents["data_docs"] = f"{QUALITE}/{DATA_DOCS}/index.html"
    if ecrire_dbt_docs(dbt_docs_dir(), dossier, catalogue) is not None:
        documents["dbt_docs"] = f"{QUALITE}/{DBT_DOCS}/index.html"
    return documents


def build_publication_assets(dbt_assets: Iterable[dg.AssetsDefinition], catalogue: Catalogue | None = None
                             ) -> tuple[list[dg.AssetsDefinition], list[dg.AssetChecksDefinition]]:
    """The three publication assets and the audit check, depending on the marts among ``dbt_assets``."""
    catalogue = catalogue or charger()
    deps = marts_lus((k for a in dbt_assets for k in a.keys), catalogue)

    # The two readers of the marts are in the warehouse's pool (a writer of another run cannot hold
    # the file while they read it); the atlas and the swap read files only.
    @dg.asset(key=INDICATEURS_KEY, deps=deps, partitions_def=annual_partitions, pool=WRITER_POOL,
              backfill_policy=dg.BackfillPolicy.single_run(), group_name="publication", kinds={"csv", "xlsx", "python"})
    def indicateurs_publies(context: dg.AssetExecutionContext, config: DiffusionConfig,
                            observatoire: ObservatoireResource) -> dg.MaterializeResult:
        """The indicator tables of each year after the disclosure rule — CSV, XLSX, GeoPackage — built for
        publication; the indicators without their sources listed « non renseigné »."""
        settings = observatoire.settings()
        en_avance = rendu_en_avance_possible(context)
        if en_avance:  # the atlas's kernel starts on the other core meanwhile
            prechauffer_atlas()
        resume, objectifs_absents = [], []
        familles = {i.code: i.famille for i in catalogue.indicateurs}
        controles = controles_du_run(context.instance, context.run_id, settings.dbt_dir)
        for annee in years_of_keys(context.partition_keys):
            documents = construire_qualite(settings, annee, context.run_id, catalogue)
            construction = construire_annee(settings, annee, context.run_id, catalogue, config.interne,
                                            {**controles, **documents})
            audit = construction.preparation.audit
            context.log.info(
                f"indicateurs {annee} construits : {construction.dossier} — {len(construction.publies)} table(s), "
                f"{len(construction.non_renseignes)} non renseigné(s), {construction.cellules_masquees} ligne(s) "
                f"masquée(s)" + ("" if audit is None else f", audit {'réussi' if audit.reussi else 'EN ÉCHEC'} "
                                 f"({audit.programmes} programmes linéaires, {audit.duree_s:.1f} s)"))
            if en_avance:  # rendered while the check audits the files (pipeline.assets.atlas)
                rendre_en_avance(settings, annee, construction.dossier)
                context.log.info(f"atlas {annee} : rendu commencé (pendant l'audit des fichiers)")
            resume.append(f"- {annee} : {len(construction.publies)} tables, {construction.cellules_masquees} lignes "
                          f"masquées, {len(construction.non_renseignes)} non renseignées")
            # the legal objectives are the bilan's headline: the run's summary names each one missing
            objectifs_absents += [f"{annee} {absent.code} : {absent.raison}" for absent in construction.non_renseignes
                                  if familles.get(absent.code) == "objectif"]
        return dg.MaterializeResult(metadata={"diffusion": "interne" if config.interne else "publique",
                                              "annees": dg.MetadataValue.md("\n".join(resume)),
                                              OBJECTIFS_NON_RENSEIGNES: "\n".join(objectifs_absents)})

    @dg.asset_check(asset=INDICATEURS_KEY, name="audit_secret", blocking=True, pool=WRITER_POOL,
                    description="Audit du secret statistique des fichiers construits (programmation linéaire) ; "
                                "bloquant : une cellule masquée recalculable arrête la publication.")
    def audit_secret(context: dg.AssetCheckExecutionContext, observatoire: ObservatoireResource) -> dg.AssetCheckResult:
        settings = observatoire.settings()
        lignes, reussi, debut = [], True, time.perf_counter()
        for annee in years_from_tags(context.run.tags):
            dossier = dossier_construit(settings, annee)
            if not dossier.exists():
                continue  # an internal diffusion: no public folder built, nothing to audit
            rapport = auditer_dossier(dossier, settings.warehouse, catalogue)
            reussi &= rapport.reussi
            etroite = rapport.plus_etroite
            lignes.append(f"- {annee} : {rapport.cellules_auditees} lignes masquées auditées, intervalle le plus "
                          f"étroit {'—' if etroite is None else f'{etroite.largeur:g}'}, "
                          f"{len(rapport.limitees)} limitée(s) par un total institutionnel, "
                          f"{rapport.programmes} programmes linéaires")
            if not rapport.reussi:
                lignes.append("  " + rapport.message().replace("\n", "\n  "))
        return dg.AssetCheckResult(passed=reussi, severity=dg.AssetCheckSeverity.ERROR, metadata={
            "detail": dg.MetadataValue.md("\n".join(lignes) or "rien à auditer"),
            "duree_s": round(time.perf_counter() - debut, 2)})

    @dg.asset(key=ATLAS_KEY, deps=[INDICATEURS_KEY], partitions_def=annual_partitions,
              backfill_policy=dg.BackfillPolicy.single_run(), group_name="publication", kinds={"pdf", "html", "python"})
    def atlas_parc_social(context: dg.AssetExecutionContext, config: DiffusionConfig,
                          observatoire: ObservatoireResource) -> dg.MaterializeResult:
        """The annual atlas du parc social (PDF and HTML twin, in French), rendered from the built
        publication of each year — the tables the readers get."""
        settings = observatoire.settings()
        rendus, durees = [], []
        for annee in years_of_keys(context.partition_keys):
            debut = time.perf_counter()
            pdf, duree, en_avance = atlas_rendu(settings, annee, dossier_construit(settings, annee, config.interne))
            durees.append(duree)
            context.log.info(f"atlas {annee} rendu en {duree:.1f} s : {pdf}" + (
                f" (commencé pendant l'audit des fichiers ; attendu ici {time.perf_counter() - debut:.1f} s)"
                if en_avance else ""))
            rendus.append(str(pdf))
        return dg.MaterializeResult(metadata={"pdf": ", ".join(rendus),
                                              "duree_rendu_s": round(sum(durees), 1)})

    @dg.asset(key=PUBLICATION_KEY, deps=[INDICATEURS_KEY, ATLAS_KEY], partitions_def=annual_partitions,
              backfill_policy=dg.BackfillPolicy.single_run(), group_name="publication", kinds={"python"})
    def publication(context: dg.AssetExecutionContext, config: DiffusionConfig,
                    observatoire: ObservatoireResource) -> dg.MaterializeResult:
        """Publish each year's built folder and atlas in ``reports/output/<annee>/`` (previous ones archived)."""
        settings = observatoire.settings()
        publies = []
        # a run without the atlas (observatoire run --sans-atlas) publishes the tables only, never the
        # atlas an earlier run left in the build folder
        materialisees = context.instance.get_records_for_run(
            context.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
        atlas_rendu = any(r.event_log_entry.dagster_event.asset_key == ATLAS_KEY for r in materialisees)
        for annee in years_of_keys(context.partition_keys):
            source = dossier_construit(settings, annee, config.interne)
            cible = dossier_indicateurs(settings.output_dir, annee, secret=not config.interne)
            publier_copie(source, cible)
            qualite = dossier_qualite(settings, annee)
            if not config.interne and qualite.exists():
                # swapped in like the indicators: a failed run never replaces the published documents
                publier_copie(qualite, settings.output_dir / str(annee) / QUALITE)
            atlas = atlas_path(settings, annee, config.interne)
            for rendu in sorted((settings.var_dir / "build" / "atlas" / str(annee)).glob("atlas.*")):
                if atlas_rendu and rendu.suffix in (".pdf", ".html"):
                    publish(rendu, atlas.with_suffix(rendu.suffix))
            PublicationLue(cible)  # the published folder reads back
            context.log.info(f"{annee} publié : {cible} et {atlas}")
            publies.append(str(cible.parent))
        return dg.MaterializeResult(metadata={"dossiers": ", ".join(publies)})

    return [indicateurs_publies, atlas_parc_social, publication], [audit_secret]
