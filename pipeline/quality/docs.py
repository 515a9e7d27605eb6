"""The quality documents published beside the indicators: GX Data Docs and the dbt docs.

Both are static HTML written in the year's build folder ``var/publication/<annee>/qualite/``, which
the publication step swaps into ``reports/output/<annee>/qualite/`` with the indicators: a run that
fails never replaces the published ones.

- ``data_docs/``: GX's Data Docs pages — one per validation of a suite's lot (a year, a batch),
  rendered by GX's own renderers from the results the checks kept under ``var/qualite/<run id>/`` —
  and an index of the suites of the run.
- ``dbt/index.html``: ``dbt docs generate`` as one static page, each catalogue mart described by the
  catalogue's definition (catalogue/indicateurs.yaml is the one home of what an indicator means).
"""

from __future__ import annotations

import html
import json
import os
import shutil
from pathlib import Path

from pipeline.publication.catalogue import Catalogue, charger

DATA_DOCS = "data_docs"
DBT_DOCS = "dbt"


def ecrire_data_docs(resultats: Path, dossier: Path, annee: int) -> Path | None:
    """Render the GX results of ``annee`` kept in ``resultats`` (one JSON per suite) as Data Docs in
    ``dossier``/data_docs; the path of its index, or None when the run kept no result."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    from great_expectations.core.expectation_validation_result import expectationSuiteValidationResultSchema
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    fichiers = sorted(resultats.glob("*.json")) if resultats.is_dir() else []
    if not fichiers:
        return None
    sortie = dossier / DATA_DOCS
    sortie.mkdir(parents=True, exist_ok=True)
    renderer, vue = ValidationResultsPageRenderer(), DefaultJinjaPageView()
    rangs = []
    for fichier in fichiers:
        contenu = json.loads(fichier.read_text(encoding="utf-8"))
        suite = contenu["suite"]
        lignes = [r for r in contenu["resultats"] if r["annee"] == annee]
        echecs = [r for r in lignes if not r["reussie"]]
        pages = []
        for numero, brut in enumerate(r for r in contenu["gx"] if r["meta"]["observatoire"]["annee"] == annee):
            resultat = expectationSuiteValidationResultSchema.load(brut)
            page = sortie / suite / f"{brut['meta']['observatoire']['lot']}_{numero}.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(vue.render(renderer.render(resultat)), encoding="utf-8")
            pages.append(page)
        bloquants = sum(1 for r in echecs if r["gravite"] == "bloquant")
        liens = " ".join(f'<a href="{p.relative_to(sortie).as_posix()}">{html.escape(p.stem)}</a>' for p in pages)
        rangs.append(f"<tr><td>{html.escape(suite)}</td><td>{len(lignes)}</td><td>{bloquants}</td>"
                     f"<td>{len(echecs) - bloquants}</td><td>{liens}</td></tr>")
    index = sortie / "index.html"
    index.write_text(
        f"<!doctype html><html lang=\"fr\"><meta charset=\"utf-8\"><title>Contrôles qualité {annee}</title>"
        f"<h1>Contrôles qualité du run — {annee}</h1><p>Suites Great Expectations (expectations/) : attentes "
        f"évaluées, en échec bloquant, en avertissement, et les pages Data Docs de chaque validation.</p>"
        f"<table border=\"1\"><tr><th>Suite</th><th>Attentes</th><th>Bloquantes en échec</th>"
        f"<th>Avertissements</th><th>Data Docs</th></tr>{''.join(rangs)}</table></html>", encoding="utf-8")
    return index


def descriptions_du_catalogue(manifest: dict, catalogue: Catalogue) -> dict:
    """``manifest`` with each catalogue mart described by its indicator's label and definition."""
    par_modele = {}
    for indicateur in catalogue.indicateurs:
        par_modele.setdefault(indicateur.modele, []).append(indicateur)
    for noeud in manifest.get("nodes", {}).values():
        indicateurs = par_modele.get(noeud.get("name")) if noeud.get("resource_type") == "model" else None
        if indicateurs:
            noeud["description"] = "\n\n".join(f"**{i.code} — {i.libelle}** ({i.unite}). {i.definition}"
                                               for i in indicateurs)
    return manifest


def ecrire_dbt_docs(target: Path, dossier: Path, catalogue: Catalogue | None = None) -> Path | None:
    """One static page of the dbt docs generated in ``target`` (index.html, manifest.json, catalog.json;
    as ``dbt docs generate --static`` inlines them), in ``dossier``/dbt; None when they are absent."""
    fichiers = [target / n for n in ("index.html", "manifest.json", "catalog.json")]
    if not all(f.exists() for f in fichiers):
        return None
    manifest = descriptions_du_catalogue(json.loads(fichiers[1].read_text(encoding="utf-8")), catalogue or charger())
    catalogue_dbt = json.loads(fichiers[2].read_text(encoding="utf-8"))
    # keys sorted: dbt lists the nodes in the order it parsed them, which differs between a full and a
    # partial parse — the same project and warehouse must publish the same page
    page = (fichiers[0].read_text(encoding="utf-8")
            .replace('"MANIFEST.JSON INLINE DATA"', json.dumps(manifest, ensure_ascii=False, sort_keys=True))
            .replace('"CATALOG.JSON INLINE DATA"', json.dumps(catalogue_dbt, ensure_ascii=False, sort_keys=True)))
    sortie = dossier / DBT_DOCS
    if sortie.exists():
        shutil.rmtree(sortie)
    sortie.mkdir(parents=True)
    (sortie / "index.html").write_text(page, encoding="utf-8")
    return sortie / "index.html"
