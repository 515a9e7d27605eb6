"""``observatoire status``: what a home holds, per year and source, and what is missing or failed.

Read only, from three places: the data folder (the extracts dropped, :func:`pipeline.sensors.scan`),
the warehouse (what the ingestion loaded — ``raw._ingestion``, one line per file loaded with its
SHA-256, rows and time — and the rows it quarantined, ``raw._quarantaine``) and the Dagster instance
of the home (the runs of each job and their outcome). Nothing is written, nothing is created.

What is *expected* of a year (docs/statut.md, « observatoire status »):

- the RPLS millésime of every year looked at — the parc's source, whose absence the quality suite
  of ``stg_rpls__logements`` warns of (``presence``);
- in a year holding at least one monthly extract (loaded or dropped), every monthly source
  (demandes, attributions) for every month from January to the last month elapsed (December for a
  past year) — the freshness rule of their quality suites;
- nothing else: the other sources (OPS every two years, SLS, SISAL, résidences, SYPLO, the saisies)
  are optional (the ingestion requires none, a year computes what its extracts allow).

Each (source, period) gets a state: ``charge`` (loaded, and the file in the data folder, if any, is
the one loaded), ``a_charger`` (dropped, never loaded), ``modifie`` (dropped, different from the file
loaded: the next run reloads it), ``manquant`` (expected, neither dropped nor loaded), ``absent`` (not
expected, neither), ``inconnu`` (dropped, but the warehouse could not be read). Exit code
(:func:`code_sortie`): 0 when nothing is missing, waiting or failed; 1 otherwise; 3 when the only
trouble is a warehouse that could not be read (a writer holds it: ask again later).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline.assets.ingest import find_extract
from pipeline.sensors import scan
from pipeline.settings import Settings
from pipeline.sources.extract import ExtractError, SourceSpec, all_sources, period_of
from pipeline.warehouse import INGESTION_LOG, QUARANTINE, WarehouseBusy, connect_read_only, sha256, tables_of_schema

#: Version of the JSON's keys (``observatoire status --json``): raised when a key changes meaning.
VERSION = 1
OK, PROBLEME, ILLISIBLE = 0, 1, 3
#: The source whose millésime every year looked at expects.
SOURCE_DE_REFERENCE = "rpls"
#: States that make the status fail (the others are information).
EN_DEFAUT = ("manquant", "a_charger", "modifie")
#: Dagster run statuses → the words of the status.
ISSUES = {"SUCCESS": "reussi", "FAILURE": "echec", "CANCELED": "annule", "CANCELING": "annule",
          "STARTED": "en_cours", "STARTING": "en_cours", "QUEUED": "en_attente", "NOT_STARTED": "en_attente",
          "MANAGED": "en_cours"}
#: The outcomes that fail the status, in words.
ECHECS = {"echec": "en échec", "annule": "annulé"}


@dataclass
class Chargement:
    """The last load of a (source, period): the ``raw._ingestion`` line."""

    fichier: str
    sha256: str
    taille: int
    lignes: int
    lignes_rejetees: int
    le: str
    run_id: str


@dataclass
class Periode:
    """One (source, period) of a year."""

    source: str
    periode: str
    frequence: str  # "annee" | "mois"
    attendu: bool
    etat: str
    extrait: str | None  # path under the data folder
    chargement: Chargement | None
    quarantaine: int


@dataclass
class Run:
    """A Dagster run: its job, outcome, times and the periods it covered."""

    job: str
    run_id: str
    statut: str
    debut: str | None
    fin: str | None
    periodes: str


@dataclass
class Annee:
    """One year: its (source, period) states and the last run of each job that covered it."""

    annee: int
    periodes: list[Periode]
    derniers_runs: dict[str, Run]


@dataclass
class Entrepot:
    chemin: str
    etat: str  # "lu" | "absent" | "verrouille"
    message: str = ""


@dataclass
class Statut:
    """Everything ``observatoire status`` shows."""

    home: str
    data_dir: str
    entrepot: Entrepot
    annees: list[Annee]
    jobs: dict[str, Run]
    problemes: list[str] = field(default_factory=list)

    @property
    def code_sortie(self) -> int:
        """0: nothing missing, waiting or failed; 1: something is; 3: only an unreadable warehouse."""
        if self.problemes:
            return PROBLEME
        return ILLISIBLE if self.entrepot.etat == "verrouille" else OK

    def as_json(self) -> str:
        """The status for scripts (keys documented in docs/statut.md)."""
        return json.dumps({"version": VERSION, **asdict(self), "code_sortie": self.code_sortie},
                          ensure_ascii=False, indent=2)


def mois_attendus(annee: int, aujourdhui: dt.date) -> list[int]:
    """The months of ``annee`` whose monthly extracts are due on ``aujourdhui``: January to the last month
    elapsed (every month of a past year, none of a future one)."""
    if annee < aujourdhui.year:
        return list(range(1, 13))
    if annee > aujourdhui.year:
        return []
    return list(range(1, aujourdhui.month))


def _iso(moment: dt.datetime | float | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, (int, float)):
        moment = dt.datetime.fromtimestamp(moment, dt.timezone.utc)
    elif moment.tzinfo is None:  # the ingestion log holds UTC without its zone
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def lire_entrepot(warehouse: Path) -> tuple[Entrepot, dict[tuple[str, str], Chargement], dict[tuple[str, str], int]]:
    """The warehouse's state, the last load of each (source, period) and its quarantined rows; a
    warehouse that does not exist yet or that a writer holds is said, not raised."""
    if not warehouse.exists():
        return Entrepot(str(warehouse), "absent", "l'entrepôt n'existe pas encore : rien n'a été chargé."), {}, {}
    try:
        # no wait: a writer may hold the file for minutes, and a status is asked to be quick
        with connect_read_only(warehouse, lock_wait_s=0) as conn:
            tables = tables_of_schema(conn, "raw")
            chargements, quarantaine = {}, {}
            if INGESTION_LOG.split(".")[1] in tables:
                for (source, periode, fichier, empreinte, taille, lignes, rejetees, le, run_id) in conn.execute(
                        f"select source, periode, fichier, sha256, taille, lignes_gardees, lignes_rejetees, "
                        f"ingere_le, run_id from {INGESTION_LOG} "
                        f"qualify row_number() over (partition by source, periode order by ingere_le desc) = 1"
                ).fetchall():
                    chargements[(source, periode)] = Chargement(fichier, empreinte, taille, lignes, rejetees,
                                                                _iso(le), run_id)
            if QUARANTINE.split(".")[1] in tables:
                quarantaine = {(s, p): n for s, p, n in conn.execute(
                    f"select source, periode, count(*) from {QUARANTINE} group by all").fetchall()}
    except WarehouseBusy:
        return Entrepot(str(warehouse), "verrouille",
                        "l'entrepôt est ouvert en écriture par un run en cours : ce qui est chargé n'a pas pu être "
                        "lu ; redemandez le statut à la fin du run."), {}, {}
    return Entrepot(str(warehouse), "lu"), chargements, quarantaine


def lire_runs(dagster_home: Path) -> list[Run]:
    """Every run of the home's Dagster instance, the latest first (none when the instance was never
    created)."""
    if not (dagster_home / "dagster.yaml").is_file():
        return []
    from pipeline.runs import dagster_instance

    with dagster_instance(dagster_home) as instance:
        records = instance.get_run_records()
    runs = []
    for record in records:
        run = record.dagster_run
        tags = run.tags
        periodes = tags.get("dagster/partition") or "–".join(
            t for t in (tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end"))
            if t)
        runs.append(Run(run.job_name, run.run_id, ISSUES.get(run.status.value, run.status.value.lower()),
                        _iso(record.start_time), _iso(record.end_time), periodes))
    return runs


def annees_du_run(run: Run) -> set[int]:
    """The years a run covered, from its partition or its range (``2021``, ``2016–2019``, ``2021-01–2021-12``)."""
    bornes = [int(p[:4]) for p in run.periodes.split("–") if p[:4].isdigit()]
    return set(range(min(bornes), max(bornes) + 1)) if bornes else set()


def _etat(extrait: Path | None, chargement: Chargement | None, attendu: bool, entrepot_lu: bool) -> str:
    if extrait is None:
        return "charge" if chargement else "manquant" if attendu else "absent"
    if not entrepot_lu:
        return "inconnu"
    if chargement is None:
        return "a_charger"
    # a different size is a different file: its checksum is computed only when the sizes agree
    if extrait.stat().st_size != chargement.taille or sha256(extrait) != chargement.sha256:
        return "modifie"
    return "charge"


def etat(settings: Settings, annees: list[int] | None = None, aujourdhui: dt.date | None = None) -> Statut:
    """The status of ``settings``' home and data folder, for ``annees`` (default: every year with an extract
    dropped or loaded)."""
    aujourdhui = aujourdhui or dt.date.today()
    sources = all_sources()
    entrepot, chargements, quarantaine = lire_entrepot(settings.warehouse)
    deposes = _periodes_deposees(settings.data_dir)
    if annees is None:
        annees = sorted({a for a, _ in deposes} | {int(p[:4]) for _, p in chargements if p[:4].isdigit()})
    runs = lire_runs(settings.dagster_home)
    mensuelles = [s for s in sources if s.period == "mois"]
    connues = {s.source for s in sources}
    statut = Statut(str(settings.home), str(settings.data_dir), entrepot, [], {})
    for run in runs:
        statut.jobs.setdefault(run.job, run)
    for annee in annees:
        a_du_mensuel = any(a == annee and m is not None for a, m in deposes) or any(
            (s.source, f"{annee}-{m:02d}") in chargements for s in mensuelles for m in range(1, 13))
        periodes: list[Periode] = []
        for spec in sources:
            for periode, attendu in _periodes(spec, annee, a_du_mensuel, aujourdhui):
                extrait = find_extract(settings.data_dir, spec, periode)
                chargement = chargements.get((spec.source, periode))
                periodes.append(Periode(
                    spec.source, periode, spec.period, attendu,
                    _etat(extrait, chargement, attendu, entrepot.etat != "verrouille"),
                    str(extrait.relative_to(settings.data_dir)) if extrait else None, chargement,
                    quarantaine.get((spec.source, periode), 0)))
        # what the ingestion loaded besides the contract's sources: the contours of the year
        for (source, periode), chargement in sorted(chargements.items()):
            if source not in connues and periode == str(annee):
                periodes.append(Periode(source, periode, "annee", False, "charge", None, chargement,
                                        quarantaine.get((source, periode), 0)))
        derniers: dict[str, Run] = {}
        for run in runs:
            if annee in annees_du_run(run):
                derniers.setdefault(run.job, run)
        statut.annees.append(Annee(annee, periodes, derniers))
    statut.problemes = problemes(statut)
    return statut


def _periodes_deposees(data_dir: Path) -> list[tuple[int, int | None]]:
    """(year, month or None) of every extract of the data folder (a name without a period is skipped:
    the ingestion does not read it either)."""
    out = []
    for rel in scan(data_dir) if data_dir.is_dir() else []:
        try:
            out.append(period_of(Path(rel)))
        except ExtractError:
            continue
    return out


def _periodes(spec: SourceSpec, annee: int, a_du_mensuel: bool, aujourdhui: dt.date) -> list[tuple[str, bool]]:
    """The periods of ``spec`` in ``annee`` and whether each is expected."""
    if spec.period == "annee":
        return [(str(annee), spec.source == SOURCE_DE_REFERENCE)]
    dus = mois_attendus(annee, aujourdhui) if a_du_mensuel else []
    return [(f"{annee}-{m:02d}", m in dus) for m in range(1, 13)]


MOTS = {"manquant": "extrait manquant", "a_charger": "extrait déposé, pas encore chargé",
        "modifie": "extrait modifié depuis son chargement, à recharger"}


def problemes(statut: Statut) -> list[str]:
    """What makes the status fail, one French sentence each."""
    out = []
    for annee in statut.annees:
        for p in annee.periodes:
            if p.etat in EN_DEFAUT and p.frequence == "annee":
                out.append(f"{p.source} {p.periode} : {MOTS[p.etat]}" + (f" ({p.extrait})" if p.extrait else ""))
        for code in EN_DEFAUT:  # a monthly source: one sentence for the months of the year in this state
            par_source: dict[str, list[str]] = {}
            for p in annee.periodes:
                if p.etat == code and p.frequence == "mois":
                    par_source.setdefault(p.source, []).append(p.periode[5:])
            out += [f"{source} {annee.annee} : {MOTS[code]} pour le(s) mois {', '.join(mois)}"
                    for source, mois in par_source.items()]
        for run in annee.derniers_runs.values():
            if run.statut in ECHECS:
                out.append(f"{annee.annee} : le dernier run {run.job} qui la couvre ({run.run_id[:8]}, {run.periodes}) "
                           f"est {ECHECS[run.statut]}")
    for run in statut.jobs.values():
        if run.statut in ECHECS:
            out.append(f"job {run.job} : son dernier run ({run.run_id[:8]}, {run.periodes}) est {ECHECS[run.statut]}")
    return list(dict.fromkeys(out))


# --- The terminal -----------------------------------------------------------------------------

LIBELLES = {"charge": "[green]chargé[/green]", "a_charger": "[yellow]à charger[/yellow]",
            "modifie": "[yellow]modifié, à recharger[/yellow]", "manquant": "[red]manquant[/red]",
            "absent": "[dim]absent[/dim]", "inconnu": "[dim]inconnu (entrepôt verrouillé)[/dim]"}
LIBELLES_RUNS = {"reussi": "[green]réussi[/green]", "echec": "[red]en échec[/red]", "annule": "[red]annulé[/red]",
                 "en_cours": "[yellow]en cours[/yellow]", "en_attente": "[yellow]en attente[/yellow]"}


def _date(iso: str | None) -> str:
    return iso.replace("T", " ")[:16] + " UTC" if iso else "—"


def _run(run: Run) -> str:
    return (f"{run.job} {run.run_id[:8]} ({run.periodes or 'sans partition'}) "
            f"{LIBELLES_RUNS.get(run.statut, run.statut)}, {_date(run.fin or run.debut)}")


def _ligne_mensuelle(periodes: list[Periode]) -> list[str]:
    """One row for the twelve months of a monthly source: how many loaded, which months are not."""
    charges = [p for p in periodes if p.chargement]
    attendus = [p for p in periodes if p.attendu]
    detail = [f"{len([p for p in attendus if p.etat == 'charge'])}/{len(attendus)} mois attendus chargés"]
    for code in ("manquant", "a_charger", "modifie", "inconnu"):
        mois = [p.periode[5:] for p in periodes if p.etat == code]
        if mois:
            detail.append(f"{LIBELLES[code]} : {', '.join(mois)}")
    derniers = max((p.chargement.le for p in charges), default=None)
    return [periodes[0].source, f"{periodes[0].periode[:4]}-01…12", " ; ".join(detail),
            str(sum(p.chargement.lignes for p in charges)) if charges else "—",
            str(sum(p.quarantaine for p in periodes)), f"{len(charges)} fichier(s)", "", _date(derniers)]


def afficher(statut: Statut, console) -> None:
    """The status as rich tables: one per year, then the last run of each job, then what fails."""
    from rich.table import Table

    console.print(f"Dossier des extraits : {statut.data_dir}")
    entrepot = statut.entrepot
    console.print(f"Entrepôt : {entrepot.chemin}" + (f" — [yellow]{entrepot.message}[/yellow]" if entrepot.message else ""))
    if not statut.annees:
        console.print("Aucun extrait déposé ni chargé.")
    for annee in statut.annees:
        table = Table(title=f"{annee.annee}", title_justify="left", show_lines=False)
        for colonne in ("Source", "Période", "État", "Lignes", "Quarantaine", "Fichier chargé", "SHA-256", "Chargé le"):
            table.add_column(colonne, justify="right" if colonne in ("Lignes", "Quarantaine") else "left")
        absents = []
        par_source: dict[str, list[Periode]] = {}
        for p in annee.periodes:
            par_source.setdefault(p.source, []).append(p)
        for source, periodes in par_source.items():
            if all(p.etat == "absent" for p in periodes):
                absents.append(source)
            elif periodes[0].frequence == "mois":
                table.add_row(*_ligne_mensuelle(periodes))
            else:
                for p in periodes:
                    c = p.chargement
                    table.add_row(p.source, p.periode, LIBELLES[p.etat], str(c.lignes) if c else "—",
                                  str(p.quarantaine) if c else "—", c.fichier if c else (p.extrait or "—"),
                                  c.sha256[:12] if c else "", _date(c.le) if c else "")
        console.print(table)
        if absents:
            console.print(f"  [dim]facultatifs, absents : {', '.join(absents)}[/dim]")
        for run in annee.derniers_runs.values():
            console.print(f"  dernier run {_run(run)}")
    if statut.jobs:
        console.print("Dernier run de chaque job :")
        for run in statut.jobs.values():
            console.print(f"  {_run(run)}")
    else:
        console.print("Aucun run dans l'instance Dagster de ce dossier.")
    if statut.problemes:
        console.print(f"[red]{len(statut.problemes)} point(s) à traiter :[/red]")
        for probleme in statut.problemes[:30]:
            console.print(f"  • {probleme}", soft_wrap=True)
        if len(statut.problemes) > 30:
            console.print(f"  … et {len(statut.problemes) - 30} autre(s) (--json les donne tous).")
    elif statut.entrepot.etat == "verrouille":
        console.print("[yellow]Ce qui est chargé n'a pas pu être lu[/yellow] (code 3) : redemandez à la fin du run.")
    else:
        console.print("[green]Rien ne manque[/green] : tout ce qui est attendu est chargé, aucun run en échec.")
