"""The annual benchmark: on the same extracts, the floor, a bare load, the ingestion, the whole run and a pandas peer.

    .venv/bin/python benchmarks/annual.py --data-dir /tmp/demo --annee 2021 --cases floor,ingestion,run,e2e,peer
    .venv/bin/python benchmarks/annual.py --data-dir /tmp/national --annee 2021 --repetitions 2

Cases (each in a child process, timed from outside, its peak memory the largest sum of the resident
sets of the child and its descendants — dbt is a subprocess —, sampled every 50 ms):

- ``floor``: a bare DuckDB scan of every extract of the year: ``read_csv`` with its own detection,
  every column read (``count(columns(*))``), no check, nothing written. What no reader can beat.
- ``load``: a bare load of the same files into a fresh DuckDB warehouse file: one ``CREATE TABLE AS
  SELECT * FROM read_csv`` per extract (its own detection; the insertion order not kept, as the
  project's loads), then ``CHECKPOINT``; no check, no pseudonym, no line number. What writing the rows
  costs: no ingestion that keeps them in a warehouse can beat it.
- ``ingestion``: the project's ingestion of every extract of the year into a fresh warehouse, source
  by source through ``pipeline.assets.ingest.ingest_files`` (what the Dagster assets call: read,
  check, quarantine, pseudonymise, load; a source's files two at a time), without Dagster.
- ``run``: ``observatoire run --annee A`` in a fresh home, the atlas apart (``--sans-atlas``): ingestion,
  dbt, the quality checks, the exports.
- ``e2e``: the same with the atlas (what ``make demo`` runs after generating the data).
- ``peer``: ``benchmarks/pandas_peer.py``, the four objectives in plain pandas from the same files;
  its counts are compared with the exports of the ``run`` case when it ran.

Prints one line per case (seconds, ratio to the floor, peak memory), then where the seconds of the
run went (Dagster's step timings from the run's own instance). ``--repetitions N`` runs each case N
times and keeps the fastest (the peak memory shown is the largest of the N); the repetitions of a
case share its home, emptied between them but for dbt's parse of the project (``var/dbt``): the
first run of a home parses the whole dbt project, as the first run after installing or changing
the project does; the next ones parse only what changed, as every later run does. ``--project DIR``
times another checkout of the project (its own ``.venv``), e.g. the commit before a change.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
CASES = ("floor", "load", "ingestion", "run", "e2e", "peer")
PERIOD = re.compile(r"_(\d{4})(?:-(\d{2}))?\.(csv|parquet|xlsx)$", re.IGNORECASE)
OBJECTIFS = {"obj_prio_etat": ["bailleur"], "obj_prio_resa": ["reservataire", "bailleur"],
             "obj_q1_hors_qpv": ["bailleur"], "obj_q234_qpv": ["bailleur", "qpv"]}


@dataclass
class Measure:
    """One case: wall seconds, peak memory of the process tree, what it printed, what it left."""

    case: str
    seconds: float
    peak_mb: float
    output: str
    home: Path | None = None
    extra: dict = field(default_factory=dict)


def extracts(data_dir: Path, annee: int) -> list[Path]:
    """The extracts of the year (``_AAAA`` and ``_AAAA-MM``), contours apart."""
    out = []
    for path in sorted(data_dir.rglob("*")):
        match = PERIOD.search(path.name)
        if match and int(match.group(1)) == annee and "geo" not in path.relative_to(data_dir).parts:
            out.append(path)
    return out


def measured(case: str, command: list[str], env: dict[str, str], home: Path | None = None) -> Measure:
    """Run ``command``; its wall time and the peak of the summed RSS of its process tree."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(process.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{case} a échoué (code {process.returncode}) :\n{output[-4000:]}")
    return Measure(case, seconds, peak / 1e6, output, home)


def environment(home: Path | None, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OBSERVATOIRE_", "DAGSTER_"))}
    if home is not None:
        env["OBSERVATOIRE_HOME"] = str(home)
    env["OBSERVATOIRE_DATA_DIR"] = str(data_dir)
    env["COLUMNS"] = "200"
    return env


def fresh_home(scratch: Path, case: str) -> Path:
    """The home of ``case``: emptied, but for dbt's parse of the project (``var/dbt/partial_parse.msgpack``)."""
    home = scratch / case
    parse = home / "var" / "dbt" / "partial_parse.msgpack"
    kept = parse.read_bytes() if parse.exists() else None
    shutil.rmtree(home, ignore_errors=True)
    if kept is not None:
        parse.parent.mkdir(parents=True)
        parse.write_bytes(kept)
    home.mkdir(parents=True, exist_ok=True)
    return home


def run_case(case: str, project: Path, data_dir: Path, annee: int, scratch: Path) -> Measure:
    python = str(project / ".venv" / "bin" / "python")
    home = fresh_home(scratch, case)
    env = environment(home, data_dir)
    me = str(Path(__file__).resolve())
    if case in ("floor", "load", "ingestion"):
        return measured(case, [python, me, "--child", case, "--project", str(project), "--data-dir", str(data_dir),
                               "--annee", str(annee)], env, home)
    if case == "peer":
        out = scratch / "objectifs_pair"
        measure = measured(case, [python, str(HERE / "pandas_peer.py"), "--data-dir", str(data_dir),
                                  "--annee", str(annee), "--out", str(out)], env, home)
        measure.extra["out"] = out
        return measure
    observatoire = str(project / ".venv" / "bin" / "observatoire")
    command = [observatoire, "run", "--annee", str(annee), "--data-dir", str(data_dir)]
    sans_atlas = case == "run" and "--sans-atlas" in subprocess.run(
        [observatoire, "run", "--help"], env=env, capture_output=True, text=True).stdout
    measure = measured(case, command + (["--sans-atlas"] if sans_atlas else []), env, home)
    measure.extra["wall"] = measure.seconds
    steps = timeline(python, home)
    measure.extra["steps"] = steps
    if case == "run" and not sans_atlas:  # an older checkout: the atlas step is taken out of the figure
        atlas = sum(s["fin"] - s["debut"] for s in steps["etapes"] if s["etape"] == "atlas_parc_social")
        measure.seconds -= atlas
        measure.extra["note"] = f"atlas soustrait ({atlas:.1f} s) : cette version n'a pas --sans-atlas"
    return measure


def timeline(python: str, home: Path) -> dict:
    """Dagster's step timings of the runs recorded in ``home`` (read in the project's interpreter)."""
    code = f"""
import json, os
os.environ["DAGSTER_HOME"] = {str(home / "var" / "dagster")!r}
import dagster as dg
from dagster import DagsterEventType as T
out = {{"runs": [], "etapes": []}}
with dg.DagsterInstance.get() as instance:
    for record in sorted(instance.get_run_records(), key=lambda r: r.create_timestamp):
        out["runs"].append({{"job": record.dagster_run.job_name, "cree": record.create_timestamp.timestamp(),
                             "debut": record.start_time, "fin": record.end_time}})
        starts = {{}}
        for entry in instance.all_logs(record.dagster_run.run_id):
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type == T.STEP_START:
                starts[entry.step_key] = entry.timestamp
            elif event.event_type in (T.STEP_SUCCESS, T.STEP_FAILURE) and entry.step_key in starts:
                out["etapes"].append({{"etape": entry.step_key, "debut": starts[entry.step_key], "fin": entry.timestamp}})
print(json.dumps(out))
"""
    result = subprocess.run([python, "-c", code], capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1]) if result.returncode == 0 else {"runs": [], "etapes": []}


def where_the_seconds_go(measure: Measure, started_at: float) -> list[tuple[str, float]]:
    """(label, seconds) from the process start to its end: start-up, each step, the gaps, the exit."""
    steps = measure.extra.get("steps") or {"runs": [], "etapes": []}
    runs = steps["runs"]
    if not runs:
        return []
    lines = [("démarrage (imports, définitions) avant le 1er run", runs[0]["cree"] - started_at)]
    cursor = runs[0]["cree"]
    for run in runs:
        lines.append((f"run {run['job']} : lancement", (run["debut"] or cursor) - cursor))
        cursor = run["debut"] or cursor
        for step in sorted((s for s in steps["etapes"] if run["debut"] and run["debut"] <= s["debut"] <= (run["fin"] or 1e20)),
                           key=lambda s: s["debut"]):
            if step["debut"] - cursor > 0.05:
                lines.append(("  entre les étapes (Dagster)", step["debut"] - cursor))
            lines.append((f"  {step['etape']}", step["fin"] - step["debut"]))
            cursor = step["fin"]
        if run["fin"]:
            lines.append((f"run {run['job']} : fin", run["fin"] - cursor))
            cursor = run["fin"]
    lines.append(("sortie du processus", started_at + measure.extra.get("wall", measure.seconds) - cursor))
    return lines


def compare_with_exports(peer: Measure, run: Measure, annee: int) -> str:
    """Do the peer's four objectives give the counts the run published? (rows by key, both ways)."""
    import pandas as pd

    folder = run.extra["exports"] / str(annee) / "indicateurs"
    faults = []
    for name, keys in OBJECTIFS.items():
        mine = pd.read_csv(peer.extra["out"] / f"{name}.csv", keep_default_na=False)
        published = pd.read_csv(folder / f"{name}.csv", keep_default_na=False)
        # the year's rows (a published table also holds the earlier years of its series), not masked
        published = published[(published["secret"].astype(str).str.lower() != "true")
                              & (published["annee"].astype(str) == str(annee))]
        columns = keys + ["numerateur", "denominateur", "ecart"]
        merged = mine[columns].astype(str).merge(published[columns].astype(str), how="outer", indicator=True)
        faults += [f"{name} : {int((merged._merge != 'both').sum())} ligne(s) différente(s)"] if (merged._merge != "both").any() else []
    return "le pair donne les comptes publiés par le run" if not faults else "ÉCART : " + " ; ".join(faults)


def child(case: str, project: Path, data_dir: Path, annee: int) -> None:
    """The work of the ``floor``, ``load`` and ``ingestion`` cases, in the child process."""
    if case in ("floor", "load"):
        files = extracts(data_dir, annee)
        import duckdb

        warehouse = Path(os.environ["OBSERVATOIRE_HOME"]) / "nu.duckdb" if case == "load" else None
        conn = duckdb.connect(str(warehouse) if warehouse else ":memory:")
        conn.execute("SET enable_progress_bar = false")
        if warehouse:
            conn.execute("SET preserve_insertion_order = false")
        rows = 0
        for number, path in enumerate(files):
            if path.suffix.lower() != ".csv":
                continue
            if warehouse:
                rows += conn.execute(f"create table t{number} as select * from read_csv(?)", [str(path)]).fetchone()[0]
            else:
                rows += conn.execute("select count(*), count(columns(*)) from read_csv(?)", [str(path)]).fetchone()[0]
        if warehouse:
            conn.execute("checkpoint")
        out = {"lignes": rows, "fichiers": len(files)}
        conn.close()
        if warehouse:
            out["entrepot_mo"] = warehouse.stat().st_size / 1e6
        print(json.dumps(out))
        return
    sys.path[:0] = [str(project), str(HERE)]  # that checkout's pipeline, this folder's ingestion loop
    from ingestion import ingest_folder

    from pipeline.settings import Settings

    settings = Settings.from_env().activate()
    totals = ingest_folder(settings, annee, annee)
    print(json.dumps({"lignes": sum(t[1] for t in totals.values()), "rejetees": sum(t[3] for t in totals.values()),
                      "fichiers": sum(t[0] for t in totals.values()),
                      "entrepot_mo": settings.warehouse.stat().st_size / 1e6}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--annee", type=int, required=True)
    parser.add_argument("--cases", default="floor,load,ingestion,run,peer", help=f"parmi {', '.join(CASES)}")
    parser.add_argument("--repetitions", type=int, default=1)
    parser.add_argument("--project", type=Path, default=HERE.parent)
    parser.add_argument("--scratch", type=Path, default=None, help="où créer les homes (défaut : un dossier temporaire)")
    parser.add_argument("--child", choices=("floor", "load", "ingestion"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    if args.child:
        child(args.child, args.project.resolve(), data_dir, args.annee)
        return
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(cases) - set(CASES)
    if unknown:
        raise SystemExit(f"cas inconnu(s) : {', '.join(sorted(unknown))} (parmi {', '.join(CASES)})")
    files = extracts(data_dir, args.annee)
    size = sum(p.stat().st_size for p in files)
    print(f"{len(files)} extraits de {args.annee} dans {data_dir} ({size / 1e6:,.0f} Mo) ; projet {args.project} ; "
          f"meilleur de {args.repetitions} essai(s)")
    scratch = Path(tempfile.mkdtemp(prefix="bench_annuel_", dir=args.scratch))
    best: dict[str, Measure] = {}
    try:
        for case in cases:
            peak, seconds = 0.0, []
            for _ in range(args.repetitions):
                started_at = time.time()
                measure = run_case(case, args.project.resolve(), data_dir, args.annee, scratch)
                measure.extra["started_at"] = started_at
                peak = max(peak, measure.peak_mb)
                seconds.append(measure.seconds)
                if case not in best or measure.seconds < best[case].seconds:
                    best[case] = measure
                    if case == "run":  # its exports are compared with the peer's counts
                        kept = scratch / "run_exports"
                        shutil.rmtree(kept, ignore_errors=True)
                        shutil.copytree(measure.home / "reports" / "output", kept)
                        measure.extra["exports"] = kept
            best[case].peak_mb = peak
            print(f"  {case} : {' ; '.join(f'{s:.1f}' for s in seconds)} s", flush=True)
        report(best, args.annee)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def report(best: dict[str, Measure], annee: int) -> None:
    floor = best.get("floor")
    rows = None
    for case in ("floor", "load", "ingestion"):
        if case in best:
            rows = json.loads(best[case].output.strip().splitlines()[-1])["lignes"]
    labels = {"floor": "plancher : scan DuckDB nu (read_csv)",
              "load": "chargement nu (CREATE TABLE AS read_csv, sans contrôle)", "ingestion": "ingestion du projet",
              "run": "run annuel (ingestion, dbt, contrôles, exports ; sans atlas)",
              "e2e": "run annuel avec l'atlas (de bout en bout)", "peer": "pair pandas (les 4 objectifs)"}
    print()
    print(f"| cas | secondes | × plancher | mémoire max | lignes/s |")
    print(f"|---|---:|---:|---:|---:|")
    for case in CASES:
        if case not in best:
            continue
        m = best[case]
        ratio = f"{m.seconds / floor.seconds:.1f}" if floor else "—"
        speed = f"{rows / m.seconds:,.0f}".replace(",", " ") if rows and case in ("floor", "load", "ingestion") else ""
        note = f" ({m.extra['note']})" if m.extra.get("note") else ""
        print(f"| {labels[case]}{note} | {m.seconds:.1f} | {ratio} | {m.peak_mb / 1000:.2f} Go | {speed} |")
    if rows:
        print(f"\n{rows:,} lignes lues".replace(",", " "))
    if "run" in best and "peer" in best:
        print(f"run / pair : {best['run'].seconds / best['peer'].seconds:.2f} ; "
              f"{compare_with_exports(best['peer'], best['run'], annee)}")
    if "peer" in best:
        print("pair : " + " ; ".join(line.strip() for line in best["peer"].output.strip().splitlines()[:2]))
    for case in ("run", "e2e"):
        if case in best:
            lines = where_the_seconds_go(best[case], best[case].extra["started_at"])
            if lines:
                print(f"\nOù vont les secondes ({case}, {best[case].seconds:.1f} s) :")
                for label, seconds in lines:
                    print(f"  {label:<58}{seconds:7.1f}")


if __name__ == "__main__":
    main()
