"""The files of a publication (indicators.md, section E), written from the published tables only.

- ``<code>.csv`` — UTF-8, comma, decimal point, header row; plain, nothing else in the file; a figure
  masked by the disclosure rule prints ``s``, one that cannot be computed is empty;
- ``indicateurs_<epci>_<annee>.xlsx`` — a « Lisez-moi » sheet (the stamp, the rule and its audit, the
  list of tables, the non renseignés), then one sheet per published code;
- ``_non_renseignes.csv`` — code, label and reason of every indicator not published;
- ``_libelles.csv`` — the names of the codes the tables use (communes, QPV, bailleurs, résidences…);
- ``_metadonnees.json`` — the stamp of the folder, the rule and the summary of its audit, and for each
  file what it holds and its SHA-256: the CSV stay plain for open-data portals, their stamp travels
  beside them.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.publication.audit import RapportAudit
from pipeline.publication.secret import regle_en_clair
from pipeline.publication.tables import NonRenseigne, Preparation, TablePubliee
from pipeline.publication.tampon import Tampon

METADONNEES = "_metadonnees.json"
NON_RENSEIGNES = "_non_renseignes.csv"
LIBELLES = "_libelles.csv"
LISEZ_MOI = "Lisez-moi"
#: What a masked figure prints (indicators.md, section F).
MASQUE = "s"
FORMAT_CSV = ("UTF-8, séparateur virgule, point décimal, une ligne d'en-tête ; "
              f"« {MASQUE} » = chiffre masqué par le secret statistique ; vide = non calculable.")
REGLE_LEVEE = ("Diffusion interne : le secret statistique (indicators.md, section F) est levé à la demande "
               "d'un bailleur pour ses propres besoins ; aucun chiffre n'est masqué. Ne pas diffuser.")


def _scalaire(valeur: Any) -> Any:
    """A cell as a plain Python value (None for missing)."""
    if valeur is None or valeur is pd.NA or valeur is pd.NaT:
        return None
    if isinstance(valeur, float) and math.isnan(valeur):
        return None
    if isinstance(valeur, np.generic):
        return _scalaire(valeur.item())
    return valeur


def _texte(valeur: Any) -> str:
    """A cell as open-data text: decimal point, no exponent, true/false, empty when missing."""
    valeur = _scalaire(valeur)
    if valeur is None:
        return ""
    if isinstance(valeur, bool):
        return "true" if valeur else "false"
    if isinstance(valeur, float):
        return np.format_float_positional(valeur, trim="-")
    if isinstance(valeur, Decimal):
        return format(valeur, "f")
    return str(valeur)


def lignes(table: TablePubliee) -> list[list[Any]]:
    """The rows of a table as plain values, the figures the rule masked as ``s``."""
    valeurs = table.donnees.to_numpy(dtype=object, copy=True)
    if table.masque is not None:
        for j, colonne in enumerate(table.donnees.columns):
            if colonne in table.masque:
                valeurs[table.masque[colonne].to_numpy(dtype=bool), j] = MASQUE
    return [[_scalaire(v) for v in ligne] for ligne in valeurs.tolist()]


def ecrire_csv(table: TablePubliee, chemin: Path) -> None:
    """``<code>.csv``: UTF-8, comma, decimal point, header row (indicators.md, section E)."""
    with chemin.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(table.donnees.columns)
        writer.writerows([_texte(v) for v in ligne] for ligne in lignes(table))


def ecrire_non_renseignes(annee: int, absents: Sequence[NonRenseigne], chemin: Path) -> None:
    with chemin.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["annee", "code", "libelle", "raison"])
        writer.writerows([annee, a.code, a.libelle, a.raison] for a in absents)


def ecrire_libelles(libelles: pd.DataFrame, chemin: Path) -> None:
    """``_libelles.csv``: dimension, code, libelle — the names of the codes the tables use."""
    libelles[["dimension", "code", "libelle"]].to_csv(chemin, index=False, encoding="utf-8", lineterminator="\n")


def resume_audit(preparation: Preparation) -> dict[str, Any]:
    """The disclosure rule and its audit, as the metadata, the workbook and the atlas annex give them."""
    if preparation.audit is None:
        return {"applique": False, "regle": REGLE_LEVEE}
    audit: RapportAudit = preparation.audit
    tables = []
    for table in preparation.tables:
        secret, trouve = table.secret, audit.tables.get(table.indicateur.code)
        plus_etroite = trouve.plus_etroite if trouve else None
        limitee = trouve.plus_etroite_limitee if trouve else None
        tables.append({
            "code": table.indicateur.code, "lignes_publiees": secret.lignes, "lignes_masquees": secret.masquees,
            "primaires": secret.primaires, "secondaires": secret.secondaires, "retirees": secret.retirees,
            "criteres_masques": secret.criteres_masques,
            "intervalle_le_plus_etroit": None if plus_etroite is None else plus_etroite.largeur,
            # False: the reader's interval contains it (a group audited in blocks), « au moins »
            "intervalle_le_plus_etroit_exact": None if plus_etroite is None else plus_etroite.exacte,
            "intervalle_le_plus_etroit_limite": None if limitee is None else limitee.largeur,
        })
    masquees = sum(t["lignes_masquees"] for t in tables)
    secondaires = sum(t["secondaires"] for t in tables)
    plus_etroite = audit.plus_etroite
    return {
        "applique": True,
        "seuil": preparation.seuil,
        "regle": regle_en_clair(preparation.seuil),
        "audit": {
            "reussi": audit.reussi,
            "methode": "intervalle de chaque cellule masquée par programmation linéaire (HiGHS, highspy)",
            "tables": len(tables),
            "lignes": sum(t["lignes_publiees"] + t["retirees"] for t in tables),
            "lignes_masquees": masquees,
            "primaires": sum(t["primaires"] for t in tables),
            "secondaires": secondaires,
            "retirees": sum(t["retirees"] for t in tables),
            "part_secondaires": round(secondaires / masquees, 4) if masquees else 0.0,
            "cellules_auditees": audit.cellules_auditees,
            "intervalle_le_plus_etroit": None if plus_etroite is None else {
                "largeur": plus_etroite.largeur, "exact": plus_etroite.exacte, "cellule": plus_etroite.libelle()},
            "limitees_par_un_total_institutionnel": len(audit.limitees),
            "intervalle_le_plus_etroit_limite": None if audit.plus_etroite_limitee is None else {
                "largeur": audit.plus_etroite_limitee.largeur, "cellule": audit.plus_etroite_limitee.libelle()},
            "echecs": [c.libelle() for c in audit.echecs],
            "programmes_lineaires": audit.programmes,
            "duree_s": round(audit.duree_s, 2),
            "par_table": tables,
        },
    }


def ecrire_classeur(preparation: Preparation, tampon: Tampon, chemin: Path) -> None:
    """The workbook for people: « Lisez-moi » (stamp, rule, contents, non renseignés), one sheet per code.
    Written by XlsxWriter row by row (``constant_memory``: each row goes to the file as it is written),
    every text as text — never read as a formula, a link or a number."""
    import xlsxwriter

    with xlsxwriter.Workbook(str(chemin), {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False, "default_date_format": "yyyy-mm-dd"}) as classeur:
        _remplir_classeur(classeur, preparation, tampon)


def _cellule(valeur: Any) -> Any:
    """A value as the workbook takes it: a decimal as a float, an infinite figure as an empty cell (as
    openpyxl wrote it; XlsxWriter refuses it)."""
    if isinstance(valeur, Decimal):
        valeur = float(valeur)
    if isinstance(valeur, float) and not math.isfinite(valeur):
        return None
    return valeur


def _remplir_classeur(classeur, preparation: Preparation, tampon: Tampon) -> None:
    lisez_moi = classeur.add_worksheet(LISEZ_MOI)
    for rang, largeur in enumerate((28, 60, 12, 24, 8, 10, 80, 40)):
        lisez_moi.set_column(rang, rang, largeur)
    numero = iter(range(1_048_576))

    def ligne(valeurs: list, police=None, premiere_seule: bool = False) -> None:
        rang_ligne = next(numero)
        for rang, valeur in enumerate(valeurs):
            if valeur is not None:
                lisez_moi.write(rang_ligne, rang, valeur, police if police is not None and (rang == 0 or not premiere_seule)
                                else None)

    gras = classeur.add_format({"bold": True})
    ligne([f"Indicateurs de l'observatoire du parc social — {tampon.annee}"], classeur.add_format({"bold": True, "font_size": 14}))
    for mention in tampon.mentions:
        ligne([mention], classeur.add_format({"bold": True, "font_color": "#C00000"}))
    ligne([])
    for libelle, valeur in tampon.lignes():
        ligne([libelle, valeur], gras, premiere_seule=True)
    ligne([])
    resume = resume_audit(preparation)
    ligne(["Secret statistique", resume["regle"]], gras, premiere_seule=True)
    if resume["applique"]:
        audit = resume["audit"]
        etroit = audit["intervalle_le_plus_etroit"]
        ligne(["Audit du secret", (
            f"{audit['lignes_masquees']} ligne(s) masquée(s), dont {audit['secondaires']} en secret secondaire et "
            f"{audit['retirees']} retirée(s) ; intervalle le plus étroit d'une cellule masquée : "
            + ("aucune cellule masquée" if etroit is None
               else f"{'' if etroit['exact'] else 'au moins '}{etroit['largeur']:g}") + ".")],
            gras, premiere_seule=True)
    ligne(["Fichiers CSV", FORMAT_CSV], gras, premiere_seule=True)
    ligne([])
    ligne(["Feuille", "Libellé", "Unité", "Source", "Lignes", "Lignes masquées", "Définition", "Chiffres absents"], gras)
    for table in preparation.tables:
        ind = table.indicateur
        ligne([ind.code, ind.libelle, ind.unite, ", ".join(table.sources), len(table.donnees),
               table.cellules_masquees, ind.definition, "; ".join(table.remarques) or None])
    ligne([])
    ligne(["Non renseigné", "Libellé", "Raison"], gras)
    for absent in preparation.absents:
        ligne([absent.code, absent.libelle, absent.raison])

    for table in preparation.tables:
        feuille = classeur.add_worksheet(table.indicateur.code)  # ≤ 31 characters: checked by the catalogue
        feuille.freeze_panes(1, 0)
        feuille.write_row(0, 0, list(table.donnees.columns), gras)
        for rang, valeurs in enumerate(lignes(table), start=1):
            # None: an empty cell. XlsxWriter stops a row at a value it cannot write (a text over
            # Excel's 32 767 characters, which it would cut): said, never written cut
            if feuille.write_row(rang, 0, [_cellule(v) for v in valeurs]) < 0:
                raise ValueError(f"{table.indicateur.code}, ligne {rang + 1} : une valeur que le classeur ne peut "
                                 f"pas contenir (un texte de plus de 32 767 caractères ?) : {valeurs}"[:1000])
    classeur.set_properties({
        "title": f"Indicateurs de l'observatoire du parc social — {tampon.annee}",
        "author": "observatoire",
        "comments": " · ".join([*tampon.mentions, *(f"{k} : {v}" for k, v in tampon.lignes())]),
    })


def sha256(chemin: Path) -> str:
    return hashlib.sha256(chemin.read_bytes()).hexdigest()


def ecrire_metadonnees(dossier: Path, preparation: Preparation, tampon: Tampon,
                       qualite: Mapping[str, Any] | None = None) -> None:
    """``_metadonnees.json``: the stamp of the folder, the rule and its audit, the data-quality summary
    of the run (``qualite``: checks, rows quarantined per source), and for each file what it holds and
    its SHA-256."""
    fichiers = []
    codes = {t.indicateur.code for t in preparation.tables}
    for table in preparation.tables:
        ind = table.indicateur
        chemin = dossier / f"{ind.code}.csv"
        fichiers.append({
            "fichier": chemin.name, "code": ind.code, "libelle": ind.libelle, "unite": ind.unite,
            "definition": ind.definition, "colonnes": list(table.donnees.columns),
            "lignes": len(table.donnees), "cellules_masquees": table.cellules_masquees,
            "annees": sorted(int(a) for a in table.donnees["annee"].unique()),
            "source": list(table.sources), "chiffres_absents": list(table.remarques), "sha256": sha256(chemin),
        })
    for chemin in sorted(dossier.iterdir()):
        if chemin.is_file() and chemin.name != METADONNEES and not (chemin.suffix == ".csv" and chemin.stem in codes):
            fichiers.append({"fichier": chemin.name, "sha256": sha256(chemin)})
    contenu = {
        "titre": f"Indicateurs de l'observatoire du parc social — {tampon.annee}",
        "annee": tampon.annee,
        "epci": tampon.epci,
        "donnees_fictives": tampon.demo,
        "diffusion_interne": tampon.interne,
        "mentions": list(tampon.mentions),
        "sources": dict(tampon.sources),
        "run_id": tampon.run_id,
        "version_du_code": tampon.code_version,
        "date_de_production": tampon.date,
        "format_csv": FORMAT_CSV,
        "secret": resume_audit(preparation),
        "qualite": dict(qualite or {}),
        "fichiers": fichiers,
        "non_renseignes": [{"code": a.code, "libelle": a.libelle, "raison": a.raison} for a in preparation.absents],
    }
    (dossier / METADONNEES).write_text(json.dumps(contenu, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
