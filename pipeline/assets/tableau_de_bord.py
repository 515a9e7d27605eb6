"""The tableau de bord mensuel: the month's dashboard of demand and attributions, published like the
atlas — through the publication layer (the disclosure rule, its audit) and the same renderer — from
the published tables only, never from the marts.

Two assets of the monthly partitions (job ``mensuel_tableau_de_bord``, with the month's ingestion):

1. ``tableau_de_bord_indicateurs`` builds the year's marts up to the month (dbt, with
   ``OBSERVATOIRE_MOIS_MAX``: the monthly extracts after the month are left out, so the year's tables
   count the year to date) and the dashboard's tables after the disclosure rule into
   ``var/publication/mensuel/<AAAA-MM>/indicateurs/``. Its blocking check ``audit_secret_mensuel``
   audits them as written.
2. ``tableau_de_bord`` renders ``reports/mensuel/tableau_de_bord.qmd`` (PDF and HTML twin) from that
   folder, then publishes folder and documents in ``reports/output/<annee>/mensuel/<AAAA-MM>/`` — the
   previous ones archived. A failed check, dbt test or render publishes nothing and replaces nothing.

A month whose year has no annual extract (RPLS…) ingested yet is published all the same: the tables
that need it are « non renseigné », with the reason, as in the annual publication.
"""

# no `from __future__ import annotations`: Dagster reads the context parameter's annotation
import dataclasses
import time
from pathlib import Path

import dagster as dg

from pipeline.assets.atlas import ATLAS_DIR, stamp_of
from pipeline.assets.dbt import BUILD_ARGS, ObservatoireDbtResource, _demo, dbt_env, environment, keep_test_results
from pipeline.assets.publication import construire_annee, controles_du_run
from pipeline.partitions import monthly_partitions
from pipeline.publication.catalogue import Catalogue, charger
from pipeline.publication.exports import publier_copie
from pipeline.publication.lecture import PublicationLue
from pipeline.publication.verification import auditer_dossier
from pipeline.reports.formats import fr_mois_annee
from pipeline.reports.render import publish, render_document
from pipeline.resources import ObservatoireResource
from pipeline.settings import REPORTS_DIR, WRITER_POOL, Settings

TABLEAU_INDICATEURS_KEY = dg.AssetKey(["tableau_de_bord_indicateurs"])
TABLEAU_KEY = dg.AssetKey(["tableau_de_bord"])
TABLEAU_DIR = REPORTS_DIR / "mensuel"
#: The page design, stamp and styles the dashboard shares with the atlas (one copy, in reports/atlas/).
PARTAGES = tuple(ATLAS_DIR / nom for nom in ("typst-template.typ", "typst-show.typ", "pandoc-main.typ", "atlas.css"))
#: Read by ``macros/annee_filter.sql`` (``mois_filter``): the last month the dbt invocation counts.
MOIS_MAX = "OBSERVATOIRE_MOIS_MAX"
#: The published tables the dashboard shows, in its order.
CODES_TABLEAU = ("tableau_bord_mensuel", "tableau_bord_delais_mensuel", "ind_03", "obj_prio_etat", "obj_prio_resa",
                 "obj_q1_hors_qpv", "obj_q234_qpv", "ind_28")
def catalogue_du_tableau(catalogue: Catalogue) -> Catalogue:
    """The catalogue restricted to the dashboard's tables (and the relations between them)."""
    indicateurs = tuple(i for i in catalogue.indicateurs if i.code in CODES_TABLEAU)
    codes = {i.code for i in indicateurs}
    liens = tuple(l for l in catalogue.liens if l.detail.table in codes and l.ensemble.table in codes)
    return dataclasses.replace(catalogue, indicateurs=indicateurs, liens=liens)


def dossier_tableau_construit(settings: Settings, mois: str) -> Path:
    """Where the dashboard's tables of ``mois`` are built before they are published."""
    return settings.var_dir / "publication" / "mensuel" / mois / "indicateurs"


def dossier_tableau(settings: Settings, mois: str) -> Path:
    """Where the dashboard of ``mois`` is published: ``reports/output/<annee>/mensuel/<AAAA-MM>/``."""
    return settings.output_dir / mois[:4] / "mensuel" / mois


def tableau_path(settings: Settings, mois: str) -> Path:
    """The published PDF of the dashboard of ``mois`` (its HTML twin beside it)."""
    return dossier_tableau(settings, mois) / f"tableau_de_bord_{settings.epci}_{mois}.pdf"


def build_tableau(settings: Settings, mois: str, publication: Path) -> Path:
    """Render the dashboard of ``mois`` from its built tables; return the built PDF."""
    build_dir = settings.var_dir / "build" / "mensuel" / mois
    stamp = {**stamp_of(PublicationLue(publication)), "millesime": fr_mois_annee(mois)}
    params = {"mois": mois, "publication": str(publication)}
    return render_document(TABLEAU_DIR, "tableau_de_bord.qmd", build_dir, params, stamp, partages=PARTAGES)


def dbt_jusqu_au_mois(dbt: ObservatoireDbtResource, mois: str, demo: bool, run_id: str) -> None:
    """``dbt build`` of the year of ``mois``, its monthly extracts counted up to ``mois`` (the year to
    date), in the run's process; a failed model or test raises (nothing is published)."""
    with environment({**dbt_env([int(mois[:4])], demo), MOIS_MAX: mois}):
        invocation = dbt.construire(BUILD_ARGS, nom="tableau_de_bord_indicateurs", run_id=run_id)
    keep_test_results(invocation.target_path, run_id, "tableau_de_bord_indicateurs")


def build_tableau_de_bord_assets(catalogue: Catalogue | None = None, deps: list[dg.AssetKey] | None = None
                                 ) -> tuple[list[dg.AssetsDefinition], list[dg.AssetChecksDefinition]]:
    """The two dashboard assets and their audit check; ``deps``: the monthly ingestion assets."""
    catalogue = catalogue_du_tableau(catalogue or charger())

    @dg.asset(key=TABLEAU_INDICATEURS_KEY, deps=deps or [], partitions_def=monthly_partitions, pool=WRITER_POOL,
              group_name="publication", kinds={"dbt", "csv", "python"})
    def tableau_de_bord_indicateurs(context: dg.AssetExecutionContext, observatoire: ObservatoireResource,
                                    dbt: ObservatoireDbtResource) -> dg.MaterializeResult:
        """The year's marts built up to the month, then the dashboard's tables after the disclosure rule,
        built for publication; those without their sources listed « non renseigné »."""
        settings, mois = observatoire.settings(), context.partition_key
        debut = time.perf_counter()
        dbt_jusqu_au_mois(dbt, mois, _demo(observatoire), context.run_id)
        context.log.info(f"dbt jusqu'à {mois} : {time.perf_counter() - debut:.0f} s")
        construction = construire_annee(settings, int(mois[:4]), context.run_id, catalogue,
                                        controles=controles_du_run(context.instance, context.run_id, settings.dbt_dir),
                                        dossier=dossier_tableau_construit(settings, mois), jusqu_au_mois=mois)
        non_renseignes = [f"{a.code} : {a.raison}" for a in construction.non_renseignes]
        context.log.info(f"tableau de bord {mois} : {len(construction.publies)} table(s), "
                         f"{len(non_renseignes)} non renseignée(s), {construction.cellules_masquees} ligne(s) masquée(s)")
        return dg.MaterializeResult(metadata={"tables": ", ".join(construction.publies),
                                              "non_renseignes": "\n".join(non_renseignes)})

    @dg.asset_check(asset=TABLEAU_INDICATEURS_KEY, name="audit_secret_mensuel", blocking=True, pool=WRITER_POOL,
                    description="Audit du secret statistique des tables du tableau de bord (programmation linéaire) ; "
                                "bloquant : une cellule masquée recalculable arrête la publication.")
    def audit_secret_mensuel(context: dg.AssetCheckExecutionContext,
                             observatoire: ObservatoireResource) -> dg.AssetCheckResult:
        settings = observatoire.settings()
        mois = context.run.tags["dagster/partition"]
        rapport = auditer_dossier(dossier_tableau_construit(settings, mois), settings.warehouse, catalogue)
        return dg.AssetCheckResult(passed=rapport.reussi, severity=dg.AssetCheckSeverity.ERROR, metadata={
            "detail": dg.MetadataValue.md(f"{rapport.cellules_auditees} lignes masquées auditées"
                                          + ("" if rapport.reussi else "\n" + rapport.message()))})

    @dg.asset(key=TABLEAU_KEY, deps=[TABLEAU_INDICATEURS_KEY], partitions_def=monthly_partitions,
              group_name="publication", kinds={"pdf", "html", "python"})
    def tableau_de_bord(context: dg.AssetExecutionContext, observatoire: ObservatoireResource) -> dg.MaterializeResult:
        """The tableau de bord mensuel (PDF and HTML twin, in French), rendered from the month's built
        tables, then published with them (the previous ones archived)."""
        settings, mois = observatoire.settings(), context.partition_key
        source = dossier_tableau_construit(settings, mois)
        debut = time.perf_counter()
        pdf = build_tableau(settings, mois, source)
        duree = time.perf_counter() - debut
        # published only now: the tables' audit passed and both documents rendered
        publier_copie(source, dossier_tableau(settings, mois) / "indicateurs")
        cible = tableau_path(settings, mois)
        for rendu in (pdf, pdf.with_suffix(".html")):
            publish(rendu, cible.with_suffix(rendu.suffix))
        context.log.info(f"tableau de bord {mois} rendu en {duree:.1f} s : {cible}")
        return dg.MaterializeResult(metadata={"pdf": str(cible), "duree_rendu_s": round(duree, 1)})

    return [tableau_de_bord_indicateurs, tableau_de_bord], [audit_secret_mensuel]
