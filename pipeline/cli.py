"""``observatoire``: the command line. Every run goes through Dagster (materialising the assets).

- ``observatoire run --annee 2021 [--data-dir DIR]`` — the whole pipeline for a year (``--annee 2016-2025``:
  a backfill of the range, in one run);
- ``observatoire run --mois 2024-03`` — the month: its extracts (and the year's earlier months) ingested,
  the year's tables built up to the month, the tableau de bord mensuel published;
- ``observatoire demo`` — generate the demo extracts, then run the demo year;
- ``observatoire demo generate [--years 2016-2025] [--scale N] [--seed S]`` — generate only;
- ``observatoire demo calibration`` — the demo's published targets vs what its files give;
- ``observatoire validate FILE…`` — a dry run of the reader on extracts (nothing written);
- ``observatoire status [--annee AAAA[-AAAA]] [--json]`` — what is loaded, quarantined, missing, and the
  last run of each job (read only);
- ``observatoire ui`` — the Dagster UI on 127.0.0.1.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import re
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from pipeline.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Observatoire du parc social : ingestion, indicateurs, atlas.")
demo_app = typer.Typer(help="Les données de démonstration (fictives).")
app.add_typer(demo_app, name="demo")
console = Console()

DEMO_YEAR = 2024


def parse_years(text: str) -> tuple[int, int]:
    """``2021`` → (2021, 2021); ``2016-2025`` → (2016, 2025)."""
    match = re.fullmatch(r"(\d{4})(?:-(\d{4}))?", text.strip())
    if not match:
        raise typer.BadParameter(f"« {text} » : attendu AAAA ou AAAA-AAAA (par ex. 2016-2025).")
    first, last = int(match.group(1)), int(match.group(2) or match.group(1))
    if last < first:
        raise typer.BadParameter(f"« {text} » : la fin précède le début.")
    return first, last


def _settings(data_dir: Optional[Path], demo: bool = False) -> Settings:
    """The installation's settings, activated (folders, environment): the extracts of ``data_dir``,
    else of the demo's own folder (``demo``) or of the drop zone (``OBSERVATOIRE_DATA_DIR``)."""
    settings = Settings.from_env()
    if data_dir is not None:
        settings = dataclasses.replace(settings, data_dir=data_dir.resolve())
    elif demo:
        settings = dataclasses.replace(settings, data_dir=settings.demo_dir)
    return settings.activate()


def run_config(verbose: bool, interne: bool = False) -> dict:
    """Run config of a CLI run: Dagster's console log only with --verbose (the UI keeps everything);
    ``interne``: the publication assets build an internal diffusion (the disclosure rule lifted)."""
    config: dict = {"loggers": {"console": {"config": {"log_level": "INFO" if verbose else "CRITICAL"}}}}
    if interne:
        from pipeline.assets.publication import ATLAS_KEY, INDICATEURS_KEY, PUBLICATION_KEY

        config["ops"] = {cle.path[-1]: {"config": {"interne": True}}
                         for cle in (INDICATEURS_KEY, ATLAS_KEY, PUBLICATION_KEY)}
    return config


def render_seconds(result) -> float | None:
    """The atlas render time of a successful annual run (the atlas asset's metadata)."""
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        if materialization.asset_key.path[-1] == "atlas_parc_social" and "duree_rendu_s" in materialization.metadata:
            return float(materialization.metadata["duree_rendu_s"].value)
    return None


def objectifs_non_renseignes(result) -> list[str]:
    """The legal objectives a successful annual run could not publish, with why (« 2023 obj_q1_hors_qpv :
    non renseigné : … »), from the metadata of the indicators' asset."""
    from pipeline.assets.publication import INDICATEURS_KEY, OBJECTIFS_NON_RENSEIGNES

    lignes: list[str] = []
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        if materialization.asset_key == INDICATEURS_KEY and OBJECTIFS_NON_RENSEIGNES in materialization.metadata:
            lignes += [ligne for ligne in str(materialization.metadata[OBJECTIFS_NON_RENSEIGNES].value).splitlines()
                       if ligne.strip()]
    return lignes


def failure_message(message: str) -> str:
    """The last line of an error, without the exception's class path."""
    lines = [ln for ln in message.strip().splitlines() if ln.strip()]
    return re.sub(r"^[\w.]+(?:Error|Failure|Exception): ", "", lines[-1]) if lines else "erreur inconnue"


def _report_failure(result, log: Path) -> None:
    """The failing steps and checks of a run, in plain words: for a Great Expectations check, each
    expectation that failed, its table, year and rows."""
    from pipeline.assets.quality import NON_REUSSIES

    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            console.print(f"  • étape {event.step_key} : {failure_message(error.message if error else '')}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            if not data.passed:
                console.print(f"  • contrôle {data.check_name} en échec sur {data.asset_key.to_user_string()}")
                detail = data.metadata.get(NON_REUSSIES)
                for attente in (detail.value if detail is not None else None) or []:
                    # which expectation, which table and year, how many rows, which ones
                    lignes = (f"{attente['lignes_en_erreur']} ligne(s)" if attente.get("lignes_en_erreur")
                              else f"observé {attente.get('observe')}")
                    exemples = "; ".join(attente.get("exemples") or [])
                    console.print(f"      {attente['attente']} sur {attente['table']} {attente.get('annee') or ''} : "
                                  f"{lignes}{f' ({exemples})' if exemples else ''} — {attente.get('pourquoi', '')}")
    console.print(f"  Détail : {log}, ou make ui puis le run {result.run_id}.")


def run_log(settings: Settings, first: int, last: int) -> Path:
    """Where a quiet CLI run writes what its tools print (dbt's log, GX's progress)."""
    span = str(first) if first == last else f"{first}-{last}"
    return settings.var_dir / "logs" / f"run_{span}_{time.strftime('%Y%m%dT%H%M%S')}.log"


def history_years(settings: Settings, first: int) -> list[int]:
    """The years before ``first`` whose series the publication of ``first`` carries (up to four, as far
    as the RPLS extract of each is in the data folder, going back without a gap)."""
    from pipeline.assets.ingest import find_extract
    from pipeline.partitions import annual_partitions
    from pipeline.publication.tables import ANNEES_SERIE
    from pipeline.sources.extract import all_sources

    rpls = next(s for s in all_sources() if s.source == "rpls")
    years: list[int] = []
    for annee in range(first - 1, first - ANNEES_SERIE, -1):
        if not annual_partitions.has_partition_key(str(annee)) or find_extract(settings.data_dir, rpls, str(annee)) is None:
            break
        years.insert(0, annee)
    return years


def years_without_extracts(settings: Settings, years: list[int]) -> list[int]:
    """The years of ``years`` for which the data folder holds no extract of any source (annual
    ``<prefix>_<année>`` or monthly ``<prefix>_<année>-MM``): nothing to compute for them."""
    from pipeline.assets.ingest import find_extract
    from pipeline.partitions import months_of_year
    from pipeline.sources.extract import all_sources

    sources = all_sources()
    vides = []
    for annee in years:
        periodes = {"mois": months_of_year(annee)}
        if not any(find_extract(settings.data_dir, spec, periode) is not None for spec in sources
                   for periode in periodes.get(spec.period, [str(annee)])):
            vides.append(annee)
    return vides


def recover(settings: Settings, instance) -> None:
    """Before a run: the runs a killed process left STARTED are marked failed and their places in the
    writers' pool freed (else this run would wait for them for ever); when no other run is alive, the
    temporary copies a killed publication left beside the published files are removed."""
    from pipeline.runs import recover_killed_runs, remove, stale_publication_files

    recovered, alive = recover_killed_runs(instance)
    for run_id in recovered:
        console.print(f"[yellow]Run {run_id} interrompu[/yellow] (son processus n'existe plus) : marqué en échec, "
                      f"ses places dans la file des écritures libérées.")
    restes = [] if alive else stale_publication_files(settings.output_dir)
    if restes:
        remove(restes)
        console.print(f"Copies temporaires d'une publication interrompue supprimées : "
                      f"{', '.join(str(p.relative_to(settings.output_dir)) for p in restes)}.")


def unchanged_extracts(result) -> list[str]:
    """What the ingestion of a run did not reload (same file and layout SHA-256 as the last load), one
    line per source, from the metadata of the ingest assets."""
    from pipeline.assets.ingest import INCHANGES

    par_source: dict[str, list[str]] = {}  # a run over a range materialises each partition, same metadata
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        inchanges = materialization.metadata.get(INCHANGES)
        if inchanges is not None and inchanges.value != "aucun":
            par_source[materialization.asset_key.to_user_string()] = str(inchanges.value).split(", ")
    return [f"{source} : {len(fichiers)} extrait(s) déjà chargé(s), même SHA-256, non relu(s) : {', '.join(fichiers)}"
            for source, fichiers in par_source.items()]


def run_years(settings: Settings, first: int, last: int, verbose: bool = False, interne: bool = False,
              atlas: bool = True) -> bool:
    """Materialise, through Dagster, the annual extracts of the years before ``first`` that the series
    need (:func:`history_years`, one run), the monthly extracts of those years and of ``first``–``last``
    (one run over their months), then every asset of the annual job for ``first``–``last`` (one run
    over the partition range: a backfill is one dbt build); True on success. Without ``verbose``, what the tools print
    goes to a log file under ``var/logs/`` and the console shows a summary. Without ``atlas``, every
    asset but the atlas (the tables are still published)."""
    from pipeline.assets.atlas import atlas_path
    from pipeline.assets.publication import ATLAS_KEY
    from pipeline.assets.quality import enregistrer_resultats
    from pipeline.definitions import ANNUAL_JOB, HISTORY_JOB, MONTHLY_JOB, build_definitions
    from pipeline.partitions import annual_partitions, monthly_partitions, months_of_year, range_tags
    from pipeline.runs import Progression, dagster_instance, process_tags

    years = list(range(first, last + 1))
    unknown = [y for y in years if not annual_partitions.has_partition_key(str(y))]
    if unknown:
        console.print(f"[red]Année(s) hors des partitions du pipeline : {unknown}.[/red] "
                      f"Première année : {annual_partitions.get_first_partition_key()}.")
        return False
    vides = years_without_extracts(settings, years)
    if vides:
        console.print(f"[red]Aucun extrait pour {', '.join(map(str, vides))} dans {settings.data_dir}[/red] "
                      f"(attendus par exemple rpls/rpls_{vides[0]}.csv, sne/attributions_{vides[0]}-01.csv). "
                      f"Déposez les extraits de l'année ou choisissez une autre période. Rien n'a été lancé.")
        return False
    defs = build_definitions(settings)
    started = time.perf_counter()
    log = run_log(settings, first, last)
    log.parent.mkdir(parents=True, exist_ok=True)
    # the progress goes to the terminal, even when the tools' output goes to the log file
    live = Console(file=sys.stdout, soft_wrap=True)
    with dagster_instance(settings.dagster_home) as instance, log.open("a", encoding="utf-8") as sink, \
            contextlib.ExitStack() as quiet:
        recover(settings, instance)
        if not verbose:
            quiet.enter_context(contextlib.redirect_stdout(sink))
            quiet.enter_context(contextlib.redirect_stderr(sink))

        def execute(job: str, label: str, tags: dict[str, str] | None = None, **options):
            """Run a job in this process, its steps printed as they go; what it did not reload, said."""
            run_id = str(uuid.uuid4())
            with Progression(instance, run_id, label, live) as progression:
                result = defs.resolve_job_def(job).execute_in_process(
                    instance=instance, raise_on_error=False, run_id=run_id, tags={**process_tags(), **(tags or {})},
                    **options)
            live.print(f"  {progression.summary()}")
            for ligne in unchanged_extracts(result):
                live.print(f"  {ligne}")
            return result

        def prepare(job: str, start: str, end: str, what: str) -> bool:
            """Run an ingestion job over a range; on failure, say so (nothing is published)."""
            result = execute(job, f"{job} {what}", range_tags(start, end), run_config=run_config(verbose))
            if not result.success:
                quiet.close()
                console.print(f"[red]Run {result.run_id} ({job} {what}) en échec.[/red] Rien n'a été publié.")
                _report_failure(result, log)
            return result.success

        # the series of the atlas: the years before the first one, as far as their extracts are there
        history = history_years(settings, first)
        months = [m for y in [*history, *years] for m in months_of_year(y) if monthly_partitions.has_partition_key(m)]
        if history and not prepare(HISTORY_JOB, str(history[0]), str(history[-1]),
                                   f"extraits annuels {history[0]}–{history[-1]}"):
            return False
        if months and not prepare(MONTHLY_JOB, months[0], months[-1], f"extraits mensuels {months[0]}–{months[-1]}"):
            return False
        job = defs.resolve_job_def(ANNUAL_JOB)
        partition = {"partition_key": str(first)} if first == last else {}
        if not atlas:
            partition["asset_selection"] = [key for key in job.asset_layer.executable_asset_keys if key != ATLAS_KEY]
        if first != last:
            live.print(f"{ANNUAL_JOB} {first}–{last} : dbt, les contrôles et la publication traitent toute la plage "
                       f"en un run (un seul dbt build), même après un échec : seuls les extraits déjà chargés "
                       f"ne sont pas relus.")
        result = execute(ANNUAL_JOB, f"{ANNUAL_JOB} {first if first == last else f'{first}–{last}'}",
                         None if first == last else range_tags(str(first), str(last)),
                         run_config=run_config(verbose, interne), **partition)
    elapsed = time.perf_counter() - started
    enregistrer_resultats(settings.warehouse, settings.var_dir / "qualite")
    if result.success:
        chemin = atlas_path(settings, first, interne)
        publie = ("" if not atlas else f"atlas {chemin} et " if first == last else
                  f"{len(years)} atlas {chemin.name.replace(str(first), '<année>')} et ")
        rendu = render_seconds(result)
        duree = f"{elapsed:.0f} s" + (f" (rendu de l'atlas : {rendu:.0f} s)" if rendu is not None else "")
        dossier = chemin.parent if first == last else settings.output_dir / "<année>"
        mention = " — DIFFUSION INTERNE (secret statistique levé)" if interne else ""
        console.print(f"[green]Run {result.run_id} réussi[/green] en {duree} : {publie}indicateurs dans "
                      f"{dossier}/{mention}")
        avertis = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                   and not e.event_specific_data.passed]
        if avertis:
            console.print(f"[yellow]{len(avertis)} contrôle(s) en avertissement[/yellow] (publié quand même) : "
                          + ", ".join(sorted({a.check_name for a in avertis})))
        console.print(f"Contrôles qualité : {dossier}/qualite/data_docs/index.html")
        for ligne in objectifs_non_renseignes(result):
            console.print(f"  • objectif {ligne}", soft_wrap=True)
        return True
    console.print(f"[red]Run {result.run_id} en échec[/red] après {elapsed:.0f} s. Rien n'a été publié.")
    _report_failure(result, log)
    return False


def parse_month(text: str) -> str:
    """``2024-03`` → ``2024-03`` (checked)."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise typer.BadParameter(f"« {text} » : attendu AAAA-MM (par ex. 2024-03).")
    return text.strip()


def run_month(settings: Settings, mois: str, verbose: bool = False) -> bool:
    """The monthly run by hand: the monthly extracts of the 11 months before ``mois`` ingested (one run
    over their months: the year to date and the rolling 12 months), then the job of the schedule ``mensuel_le_5`` for ``mois`` — the month ingested, the
    year's tables built up to it, the tableau de bord mensuel rendered and published. True on success."""
    from pipeline.assets.ingest import find_extract
    from pipeline.assets.tableau_de_bord import TABLEAU_KEY, dossier_tableau, tableau_path
    from pipeline.definitions import MONTHLY_JOB, TABLEAU_JOB, build_definitions
    from pipeline.partitions import monthly_partitions, range_tags
    from pipeline.runs import dagster_instance
    from pipeline.sources.extract import all_sources

    if not monthly_partitions.has_partition_key(mois):
        console.print(f"[red]{mois} est hors des partitions mensuelles du pipeline[/red] "
                      f"(de {monthly_partitions.get_first_partition_key()} à {monthly_partitions.get_last_partition_key()}).")
        return False
    mensuelles = [s for s in all_sources() if s.period == "mois"]
    if not any(find_extract(settings.data_dir, spec, mois) is not None for spec in mensuelles):
        console.print(f"[red]Aucun extrait mensuel de {mois} dans {settings.data_dir}[/red] (attendus par exemple "
                      f"sne/demandes_{mois}.csv, sne/attributions_{mois}.csv). Rien n'a été lancé.")
        return False
    defs = build_definitions(settings)
    started = time.perf_counter()
    log = settings.var_dir / "logs" / f"run_{mois}_{time.strftime('%Y%m%dT%H%M%S')}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with dagster_instance(settings.dagster_home) as instance, log.open("a", encoding="utf-8") as sink, \
            contextlib.ExitStack() as quiet:
        if not verbose:
            quiet.enter_context(contextlib.redirect_stdout(sink))
            quiet.enter_context(contextlib.redirect_stderr(sink))
        # the 12 months before (the year to date, and the rolling 12 months of attributions), as far as
        # their extracts are there (a month without extract ingests nothing)
        annee, numero = int(mois[:4]), int(mois[5:])
        debut = f"{annee - 1}-{numero + 1:02d}" if numero < 12 else f"{annee}-01"
        precedent = f"{annee}-{numero - 1:02d}" if numero > 1 else f"{annee - 1}-12"
        if monthly_partitions.has_partition_key(debut):
            result = defs.resolve_job_def(MONTHLY_JOB).execute_in_process(
                instance=instance, raise_on_error=False, tags=range_tags(debut, precedent),
                run_config=run_config(verbose))
            if not result.success:
                quiet.close()
                console.print(f"[red]Run {result.run_id} (extraits mensuels {debut}–{precedent}) en échec.[/red] "
                              f"Rien n'a été publié.")
                _report_failure(result, log)
                return False
        result = defs.resolve_job_def(TABLEAU_JOB).execute_in_process(
            instance=instance, raise_on_error=False, partition_key=mois, run_config=run_config(verbose))
    elapsed = time.perf_counter() - started
    if not result.success:
        console.print(f"[red]Run {result.run_id} en échec[/red] après {elapsed:.0f} s. Rien n'a été publié "
                      f"(le tableau de bord publié, s'il y en a un, reste en place).")
        _report_failure(result, log)
        return False
    rendu = next((float(m.metadata["duree_rendu_s"].value) for m in
                  (e.step_materialization_data.materialization for e in result.get_asset_materialization_events())
                  if m.asset_key == TABLEAU_KEY), None)
    pdf = tableau_path(settings, mois)
    duree = f"{elapsed:.0f} s" + (f" (rendu du tableau de bord : {rendu:.0f} s)" if rendu is not None else "")
    console.print(f"[green]Run {result.run_id} réussi[/green] en {duree} : tableau de bord {pdf} (et .html), "
                  f"tables dans {dossier_tableau(settings, mois)}/indicateurs/", soft_wrap=True)
    from pipeline.publication.lecture import PublicationLue

    for absent in PublicationLue(dossier_tableau(settings, mois) / "indicateurs").non_renseignes.itertuples():
        console.print(f"  • non renseigné : {absent.code} — {absent.raison}", soft_wrap=True)
    return True


@app.command()
def run(
    annee: Optional[str] = typer.Option(None, "--annee",
                                        help="Millésime à traiter (AAAA), ou une plage (AAAA-AAAA) rattrapée en un seul run."),
    mois: Optional[str] = typer.Option(None, "--mois",
                                       help="Le run mensuel (AAAA-MM) : ingestion du mois, tableau de bord mensuel publié."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Dossier des extraits (défaut : data_raw/)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Afficher le journal Dagster."),
    interne: bool = typer.Option(
        False, "--interne",
        help="Diffusion interne pour un bailleur : le secret statistique est levé ; chaque fichier le dit et "
             "va dans reports/output/<année>/interne/, jamais à la place des fichiers publics."),
    sans_atlas: bool = typer.Option(False, "--sans-atlas",
                                    help="Tout sauf l'atlas : ingestion, dbt, contrôles, exports des indicateurs."),
) -> None:
    """Run the whole pipeline for one year (or a range of years) on the extracts of DATA_DIR, or the
    monthly run of one month (--mois)."""
    if (annee is None) == (mois is None):
        raise typer.BadParameter("donnez --annee AAAA[-AAAA] ou --mois AAAA-MM (l'un des deux).")
    if mois is not None:
        mois = parse_month(mois)
    else:
        first, last = parse_years(annee)
    settings = _settings(data_dir)
    if not settings.data_dir.is_dir():
        console.print(f"[red]{settings.data_dir} n'existe pas.[/red] Donnez --data-dir, ou lancez `observatoire demo`.")
        raise typer.Exit(2)
    if mois is not None:
        raise typer.Exit(0 if run_month(settings, mois, verbose) else 1)
    raise typer.Exit(0 if run_years(settings, first, last, verbose, interne, atlas=not sans_atlas) else 1)


@demo_app.callback(invoke_without_command=True)
def demo(
    ctx: typer.Context,
    annee: str = typer.Option(str(DEMO_YEAR), "--annee",
                              help="Année (AAAA) ou plage (AAAA-AAAA) de démonstration à traiter."),
    years: str = typer.Option("2016-2025", "--years", help="Années des données fictives à écrire (AAAA-AAAA)."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir",
                                            help="Où écrire les données fictives (défaut : data_demo/, jamais data_raw/)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Afficher le journal Dagster."),
) -> None:
    """Generate the demo extracts (2016–2025), then run the pipeline on the demo year."""
    if ctx.invoked_subcommand is not None:
        return
    span = parse_years(years)
    first, last = parse_years(annee)
    if not (span[0] <= first and last <= span[1]):
        raise typer.BadParameter(f"« {annee} » n'est pas dans {years}.", param_hint="--annee")
    settings = _settings(data_dir, demo=True)
    # The dbt manifest the run needs (on a fresh checkout a `dbt parse`, a process of its own, ≈ 10 s)
    # is prepared while the generator writes the extracts, each on a core; its failure is the run's.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="manifeste-dbt") as pool:
        manifest = pool.submit(_prepare_manifest, settings)
        _generate(settings, span, seed=None)
        manifest.result()
    raise typer.Exit(0 if run_years(settings, first, last, verbose) else 1)


def _prepare_manifest(settings: Settings) -> Path:
    from pipeline.assets.dbt import prepare_dbt_project

    return prepare_dbt_project(settings.warehouse)


@demo_app.command("generate")
def demo_generate(
    years: str = typer.Option("2016-2025", "--years", help="AAAA ou AAAA-AAAA."),
    scale: int = typer.Option(1, "--scale", min=1, help="Nombre de territoires de la même forme (≈ 200 : taille nationale)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Graine (défaut : celle de la démo)."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Où écrire (défaut : data_demo/)."),
) -> None:
    """Write the fictitious demo extracts (deterministic: same seed, same bytes)."""
    _generate(_settings(data_dir, demo=True), parse_years(years), seed, scale)


@demo_app.command("calibration")
def demo_calibration(
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Dossier des données fictives (défaut : data_demo/)."),
) -> None:
    """Print each published target of the demo, the value read back from the files, and the tolerance."""
    from pipeline.demo.calibration import rapport, texte
    from pipeline.provenance import provenance

    settings = _settings(data_dir, demo=True)
    origine = provenance(settings.data_dir)
    if not origine.demo:
        console.print(f"[red]{settings.data_dir} ne contient pas (seulement) des données de démonstration[/red] : "
                      f"{origine.reason()}. Lancez d'abord `observatoire demo generate`.")
        raise typer.Exit(2)
    lignes = rapport(settings.data_dir)
    print(texte(lignes))
    raise typer.Exit(1 if any(l.ok is False for l in lignes) else 0)


def _generate(settings: Settings, years: tuple[int, int], seed: Optional[int], scale: int = 1) -> None:
    from pipeline.demo import DEFAULT_SEED, generate
    from pipeline.provenance import provenance

    data_dir = settings.data_dir
    # The demo writes only among its own files (an earlier demo's, even modified since); the user's
    # commune contours in geo/ are welcome (it draws inside them).
    etrangers = [f for f in provenance(data_dir).foreign if not f.startswith("geo/")]
    if etrangers:
        console.print(f"[red]{data_dir} contient des fichiers qui ne sont pas des données de démonstration[/red] "
                      f"({', '.join(etrangers[:5])}{' …' if len(etrangers) > 5 else ''}). "
                      f"La démo n'y écrit pas : donnez un autre --data-dir.")
        raise typer.Exit(2)
    started = time.perf_counter()
    report = generate(data_dir, years, seed if seed is not None else DEFAULT_SEED, scale=scale)
    console.print(f"Données fictives {years[0]}–{years[1]} ({scale} territoire(s)) écrites dans {data_dir} "
                  f"({len(report.files)} fichiers, {time.perf_counter() - started:.1f} s).")


#: What ``validate`` reads when given a folder (the formats the ingestion accepts).
VALIDATE_EXTENSIONS = (".csv", ".parquet", ".xlsx")
#: Exit codes of ``validate``: every row kept / rows rejected / a file that cannot be read.
VALIDE, REJETS, ILLISIBLE = 0, 1, 2


def _extracts(paths: list[Path]) -> list[Path]:
    """The files named, a folder standing for every extract under it (hidden folders skipped)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.rglob("*")
                          if p.is_file() and p.suffix.lower() in VALIDATE_EXTENSIONS
                          and not any(part.startswith(".") for part in p.relative_to(path).parts))
        else:
            out.append(path)
    return out


def validate_file(path: Path, source: Optional[str] = None, max_errors: int = 10) -> tuple[int, list[str]]:
    """Read one extract as the ingestion would, writing nothing; return (exit code, French lines).

    The code is :data:`VALIDE` when every row would be kept, :data:`REJETS` when some would go to
    quarantine, :data:`ILLISIBLE` when the file cannot be read at all.
    """
    from pipeline.sources.extract import (ENCODING_NAMES, LAYOUTS_DIR, ExtractError, SourceSpec, all_sources,
                                          period_bounds, read_extract, source_for_file)

    lines = [str(path)]
    if not path.is_file():
        return ILLISIBLE, lines + [f"  illisible : {path} : fichier introuvable."]
    try:
        if source and not (LAYOUTS_DIR / source / "schema.toml").is_file():
            known = ", ".join(s.source for s in all_sources())
            raise ExtractError(f"source inconnue « {source} » (--source). Sources connues : {known}.")
        spec = SourceSpec.load(source) if source else source_for_file(path)
        periode = period_bounds(path)[2]
        result = read_extract(path, spec)
    except ExtractError as err:
        return ILLISIBLE, lines + [f"  illisible : {err}"]
    except (OSError, ValueError) as err:  # a layout file in error, a source that does not exist…
        return ILLISIBLE, lines + [f"  illisible : {type(err).__name__} : {err}"]
    separator = {None: "—", "\t": "tabulation"}.get(result.separator, f"« {result.separator} »")
    lines += [
        f"  source : {spec.source} — disposition : {result.layout} — période : {periode}",
        f"  encodage : {ENCODING_NAMES.get(result.encoding, result.encoding)} — séparateur : {separator}",
        f"  lignes : {result.rows_read} lue(s), {result.rows_kept} gardée(s), {result.rows_rejected} rejetée(s)",
        f"  colonnes ignorées : {', '.join(result.extra_columns) or 'aucune'}",
    ]
    lines += [f"  remarque : {note}" for note in result.notes]
    try:
        if not result.rows_rejected:
            return VALIDE, lines + ["  → toutes les lignes seraient chargées."]
        count = result.rejets_count()
        shown = result.messages(max_errors)
        more = f" (les {len(shown)} premières)" if count > len(shown) else ""
        lines.append(f"  {count} erreur(s){more} :")
        lines += [f"    - {message}" for message in shown]
        lines.append(f"  → {result.rows_rejected} ligne(s) seraient mises en quarantaine.")
        return REJETS, lines
    finally:
        result.close()


@app.command()
def validate(
    files: list[Path] = typer.Argument(..., help="Extraits à contrôler (fichiers, ou dossiers parcourus)."),
    max_errors: int = typer.Option(10, "--max", min=0, help="Nombre d'erreurs affichées par fichier."),
    source: Optional[str] = typer.Option(None, "--source",
                                         help="Source des fichiers (défaut : déduite du dossier et du nom)."),
) -> None:
    """Check extracts without loading them: source, layout, encoding, rows kept and rejected, why.

    Nothing is written (no warehouse, no Dagster run). Exit 0 when every row would be kept, 1 when
    rows would be rejected, 2 when a file cannot be read.
    """
    paths = _extracts(files)
    if not paths:
        typer.echo(f"Aucun extrait ({', '.join(VALIDATE_EXTENSIONS)}) dans {', '.join(map(str, files))}.")
        raise typer.Exit(ILLISIBLE)
    codes = []
    for path in paths:
        code, lines = validate_file(path, source, max_errors)
        codes.append(code)
        typer.echo("\n".join(lines))
    typer.echo(f"Bilan : {len(paths)} fichier(s) — {codes.count(VALIDE)} sans rejet, {codes.count(REJETS)} avec "
               f"rejets, {codes.count(ILLISIBLE)} illisible(s). Rien n'a été écrit.")
    raise typer.Exit(max(codes))


@app.command()
def status(
    annee: Optional[str] = typer.Option(None, "--annee",
                                        help="Année (AAAA) ou plage (AAAA-AAAA) ; défaut : toute année déposée ou chargée."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Dossier des extraits (défaut : data_raw/)."),
    as_json: bool = typer.Option(False, "--json", help="Le statut en JSON (clés : docs/statut.md)."),
) -> None:
    """What is loaded, quarantined, missing, and the last run of each job; read only.

    Exit 0 when nothing expected is missing, waiting or failed, 1 otherwise, 3 when the warehouse is held
    by a writer and nothing else is wrong.
    """
    from pipeline.statut import afficher, etat

    settings = Settings.from_env()  # read only: nothing is created under the home
    if data_dir is not None:
        settings = Settings(home=settings.home, data_dir=data_dir.resolve(), epci=settings.epci)
    annees = None
    if annee is not None:
        first, last = parse_years(annee)
        annees = list(range(first, last + 1))
    statut = etat(settings, annees)
    if as_json:
        typer.echo(statut.as_json())
    else:
        afficher(statut, Console())  # sized to the terminal of this call (COLUMNS), not of the import
    raise typer.Exit(statut.code_sortie)


@app.command()
def ui(port: int = typer.Option(3000, help="Port (sur 127.0.0.1).")) -> None:
    """Start the Dagster UI on 127.0.0.1 (state under var/dagster)."""
    _settings(None)
    dagster = Path(sys.executable).parent / "dagster"
    os.execv(str(dagster), [str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port), "-m", "pipeline.definitions"])


def main() -> None:
    """The console script (and ``python -m pipeline.cli``): the command, then the end of the process
    without Python's teardown. A run's process has imported Dagster, dbt, Great Expectations, pandas:
    freeing their objects one by one at exit took ≈ 2.3 s after every command, for nothing the
    commands need. Everything a command opens is closed by its own ``with`` blocks; the exit functions
    (``atexit``: logging's flush among them) still run and the standard streams are flushed; the exit
    code is the command's. An exception a command does not handle ends the process the usual way."""
    try:
        app()
        code = 0
    except SystemExit as fin:
        code = fin.code
    if code is not None and not isinstance(code, int):  # sys.exit("message"): printed, status 1
        print(code, file=sys.stderr)
        code = 1
    for fil in threading.enumerate():  # what Python's teardown waits for: the threads not daemon
        if fil is not threading.current_thread() and not fil.daemon:
            fil.join()
    atexit._run_exitfuncs()
    for flux in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            flux.flush()
    os._exit(code or 0)


if __name__ == "__main__":
    main()
