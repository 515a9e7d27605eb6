"""``observatoire``: the command line. Every run goes through Dagster (materialising the assets).

- ``observatoire run --annee 2021 [--data-dir DIR]`` — the whole pipeline for a year;
- ``observatoire demo`` — generate the demo extracts, then run the demo year;
- ``observatoire demo generate [--years 2021-2021] [--seed S]`` — generate only;
- ``observatoire ui`` — the Dagster UI on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import sys
import time
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

DEMO_YEAR = 2021


def parse_years(text: str) -> tuple[int, int]:
    """``2021`` → (2021, 2021); ``2016-2025`` → (2016, 2025)."""
    match = re.fullmatch(r"(\d{4})(?:-(\d{4}))?", text.strip())
    if not match:
        raise typer.BadParameter(f"« {text} » : attendu AAAA ou AAAA-AAAA (par ex. 2016-2025).")
    first, last = int(match.group(1)), int(match.group(2) or match.group(1))
    if last < first:
        raise typer.BadParameter(f"« {text} » : la fin précède le début.")
    return first, last


def _settings(data_dir: Optional[Path]) -> Settings:
    if data_dir is not None:
        os.environ["OBSERVATOIRE_DATA_DIR"] = str(data_dir.resolve())
    return Settings.from_env().activate()


def run_config(verbose: bool) -> dict:
    """Run config of a CLI run: Dagster's console log only with --verbose (the UI keeps everything)."""
    return {"loggers": {"console": {"config": {"log_level": "INFO" if verbose else "CRITICAL"}}}}


def failure_message(message: str) -> str:
    """The last line of an error, without the exception's class path."""
    lines = [ln for ln in message.strip().splitlines() if ln.strip()]
    return re.sub(r"^[\w.]+(?:Error|Failure|Exception): ", "", lines[-1]) if lines else "erreur inconnue"


def run_year(settings: Settings, annee: int, verbose: bool = False) -> bool:
    """Materialise every asset of the annual job for ``annee`` through Dagster; True on success."""
    from dagster import DagsterInstance

    from pipeline.assets.atlas import atlas_path
    from pipeline.definitions import ANNUAL_JOB, build_definitions

    job = build_definitions(settings).resolve_job_def(ANNUAL_JOB)
    started = time.perf_counter()
    with DagsterInstance.get() as instance:
        result = job.execute_in_process(partition_key=str(annee), instance=instance, raise_on_error=False,
                                        run_config=run_config(verbose))
    elapsed = time.perf_counter() - started
    if result.success:
        console.print(f"[green]Run {result.run_id} réussi[/green] en {elapsed:.0f} s : "
                      f"atlas {atlas_path(settings, annee)}")
        return True
    console.print(f"[red]Run {result.run_id} en échec[/red] après {elapsed:.0f} s. Rien n'a été publié.")
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            console.print(f"  • étape {event.step_key} : {failure_message(error.message if error else '')}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            if not data.passed:
                console.print(f"  • contrôle {data.check_name} en échec sur {data.asset_key.to_user_string()}")
    console.print(f"  Détail : make ui, puis le run {result.run_id}.")
    return False


@app.command()
def run(
    annee: int = typer.Option(..., "--annee", help="Millésime (année) à traiter."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Dossier des extraits (défaut : data_raw/)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Afficher le journal Dagster."),
) -> None:
    """Run the whole pipeline for one year on the extracts of DATA_DIR."""
    settings = _settings(data_dir)
    if not settings.data_dir.is_dir():
        console.print(f"[red]{settings.data_dir} n'existe pas.[/red] Donnez --data-dir, ou lancez `observatoire demo`.")
        raise typer.Exit(2)
    raise typer.Exit(0 if run_year(settings, annee, verbose) else 1)


@demo_app.callback(invoke_without_command=True)
def demo(
    ctx: typer.Context,
    annee: int = typer.Option(DEMO_YEAR, "--annee", help="Année de démonstration à traiter."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Où écrire les données fictives (défaut : data_raw/)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Afficher le journal Dagster."),
) -> None:
    """Generate the demo extracts, then run the pipeline on them (the embedded default)."""
    if ctx.invoked_subcommand is not None:
        return
    settings = _settings(data_dir)
    _generate(settings, (annee, annee), seed=None)
    raise typer.Exit(0 if run_year(settings, annee, verbose) else 1)


@demo_app.command("generate")
def demo_generate(
    years: str = typer.Option(f"{DEMO_YEAR}", "--years", help="AAAA ou AAAA-AAAA."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Graine (défaut : celle de la démo)."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Où écrire (défaut : data_raw/)."),
) -> None:
    """Write the fictitious demo extracts (deterministic: same seed, same bytes)."""
    _generate(_settings(data_dir), parse_years(years), seed)


def _generate(settings: Settings, years: tuple[int, int], seed: Optional[int]) -> None:
    from pipeline.demo import DEFAULT_SEED, generate, is_demo

    data_dir = settings.data_dir
    if data_dir.exists() and any(p.name != "README.md" for p in data_dir.iterdir()) and not is_demo(data_dir):
        console.print(f"[red]{data_dir} contient des fichiers qui ne sont pas des données de démonstration.[/red] "
                      f"La démo n'y écrit pas : donnez un autre --data-dir.")
        raise typer.Exit(2)
    started = time.perf_counter()
    report = generate(data_dir, years, seed if seed is not None else DEFAULT_SEED)
    console.print(f"Données fictives {years[0]}–{years[1]} écrites dans {data_dir} "
                  f"({len(report.files)} fichiers, {time.perf_counter() - started:.1f} s).")


@app.command()
def ui(port: int = typer.Option(3000, help="Port (sur 127.0.0.1).")) -> None:
    """Start the Dagster UI on 127.0.0.1 (state under var/dagster)."""
    _settings(None)
    dagster = Path(sys.executable).parent / "dagster"
    os.execv(str(dagster), [str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port), "-m", "pipeline.definitions"])


if __name__ == "__main__":
    app()
