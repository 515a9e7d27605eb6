"""The tables of a publication: every catalogue entry of a year read from the marts, then the disclosure
rule applied to all of them at once — the only place the rule runs.

For a year, every entry of the catalogue is either published or listed as « non renseigné » with its
reason — never written as zeros:

- ``a_construire`` in the catalogue → not built yet;
- its mart is absent from the warehouse → dbt did not build it;
- one of its ``source`` extracts was not ingested for the year (``raw._ingestion``) → source absente
  (a survey source of the catalogue, the OPS, counts as present when the marts describe the year with
  an earlier survey whose extract was ingested: :func:`pipeline.publication.tampon.enquetes_reprises`);
- the mart has no row for the year, or no figure for it (its ``raison`` column says why).

A published table has exactly the columns ``annee``, the catalogue's dimensions in order, the family's
figure columns and ``secret``. The objectives and the « Évolution… » indicators carry the years before
the publication's, up to :data:`ANNEES_SERIE` in all, every other table the year before, as far as the
marts have them: the atlas draws the evolutions and the previous values from the same published
tables. No published value may be a pseudonym.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from pipeline.publication.audit import RapportAudit
from pipeline.publication.catalogue import CIBLES, Catalogue, Indicateur
from pipeline.publication.secret import COLONNES_DE_LA_REGLE, TOTAL, Resultat, appliquer_regle
from pipeline.warehouse import columns_of, tables_of_schema

#: Years of the series published with the objectives and the « Évolution… » indicators.
ANNEES_SERIE = 5
#: Pseudonyms are HMAC-SHA-256 in hex (pipeline.sources.pseudonymise): 64 hex digits.
PSEUDONYME = re.compile(r"^[0-9a-fA-F]{64}$")
COLONNES_INTERDITES = frozenset({"num_unique"})


class ExportError(RuntimeError):
    """The tables of a year cannot be published (the message names the table, the column, the fix)."""


@dataclass(frozen=True)
class StatistiquesSecret:
    """What the disclosure rule did to one table."""

    lignes: int = 0
    masquees: int = 0
    primaires: int = 0
    secondaires: int = 0
    retirees: int = 0
    criteres_masques: int = 0


@dataclass(frozen=True)
class TablePubliee:
    """One indicator table ready to write: published columns, disclosure applied."""

    indicateur: Indicateur
    donnees: pd.DataFrame
    #: The distinct ``source`` texts of the mart's rows (e.g. « RPLS 2021 »).
    sources: tuple[str, ...] = ()
    #: The distinct ``raison`` texts of the mart's rows: why some figures are empty.
    remarques: tuple[str, ...] = ()
    secret: StatistiquesSecret = field(default_factory=StatistiquesSecret)
    #: Which figures the rule masked (figure columns × rows of ``donnees``); None: nothing masked.
    masque: pd.DataFrame | None = None

    @property
    def cellules_masquees(self) -> int:
        return int(self.donnees["secret"].sum())



@dataclass(frozen=True)
class NonRenseigne:
    """An indicator of the catalogue not published for the year, and why."""

    code: str
    libelle: str
    raison: str


@dataclass(frozen=True)
class Preparation:
    """The tables of a year, ready to write, and what the rule and its audit found."""

    tables: tuple[TablePubliee, ...]
    absents: tuple[NonRenseigne, ...]
    #: None when the rule was lifted (internal diffusion).
    audit: RapportAudit | None
    seuil: int | None


def annees_publiees(indicateur: Indicateur, annee: int) -> list[int]:
    """The years a table of ``annee`` carries: the objectives and the « Évolution… » indicators carry
    their series (up to :data:`ANNEES_SERIE` years), every other table the year before too (the atlas
    and the annex give each figure beside the previous year's)."""
    if indicateur.evolution or indicateur.famille == "objectif":
        return list(range(annee - ANNEES_SERIE + 1, annee + 1))
    return [annee - 1, annee]


def colonnes_de_la_regle(catalogue: Catalogue, indicateur: Indicateur) -> tuple[str, ...]:
    """Mart columns the rule reads besides the published ones (bases, the columns of the links)."""
    liens = [c for lien in catalogue.liens for cote in (lien.detail, lien.ensemble)
             if cote.table == indicateur.code for c in cote.colonnes]
    publiees = set(indicateur.colonnes_publiees)
    return tuple(dict.fromkeys(c for c in (*COLONNES_DE_LA_REGLE, *liens) if c not in publiees))


def lire_mart(conn: duckdb.DuckDBPyConnection, indicateur: Indicateur, annee: int,
              supplementaires: tuple[str, ...] = ()) -> tuple[pd.DataFrame, tuple[str, ...], tuple[str, ...]]:
    """The published columns of the indicator's mart for its years (and the ``supplementaires`` mart
    columns it has), the mart's ``source`` texts and its ``raison`` texts (why a figure is empty).

    A mart names its columns as published, or the catalogue's ``colonnes`` maps them. A monthly
    mart without ``annee`` gets it from ``mois``.
    """
    mart = indicateur.modele
    presentes = set(columns_of(conn, "marts", mart))
    expressions, manquantes = {}, []
    for publiee in ("annee", *indicateur.dimensions, *indicateur.colonnes_chiffres):
        colonne = indicateur.colonnes.get(publiee, publiee)
        if colonne in presentes:
            expressions[publiee] = f'"{colonne}"'
        elif publiee == "annee" and "mois" in presentes:
            expressions[publiee] = 'cast(left(cast("mois" as varchar), 4) as integer)'
        else:
            manquantes.append(publiee if colonne == publiee else f"{publiee} (colonne {colonne!r} du mart)")
    if manquantes:
        raise ExportError(
            f"marts.{mart} (indicateur {indicateur.code}) : colonnes absentes : {', '.join(manquantes)}. "
            f"Ajoutez-les au mart, ou nommez la colonne du mart dans « colonnes: » de l'entrée {indicateur.code} "
            f"de catalogue/indicateurs.yaml.")
    for colonne in supplementaires:
        if colonne in presentes and colonne not in expressions:
            expressions[colonne] = f'"{colonne}"'

    annees = annees_publiees(indicateur, annee)
    requete = f"from marts.{mart} where {expressions['annee']} in ({', '.join('?' * len(annees))})"
    colonnes = ", ".join(f'{sql} as "{publiee}"' for publiee, sql in expressions.items())
    frame = conn.execute(f"select {colonnes} {requete}", annees).df()
    textes = {}
    for colonne in ("source", "raison"):
        textes[colonne] = tuple(r[0] for r in conn.execute(
            f'select distinct cast("{colonne}" as varchar) {requete} and "{colonne}" is not null order by 1',
            annees).fetchall()) if colonne in presentes else ()
    return _trier(frame, indicateur), textes["source"], textes["raison"]


def _trier(frame: pd.DataFrame, indicateur: Indicateur) -> pd.DataFrame:
    """Rows in a stable order: year, then each dimension (numbers as numbers), its TOTAL row last."""
    if frame.empty:
        return frame.reset_index(drop=True)
    cles, colonnes = {}, []
    for colonne in ("annee", *indicateur.dimensions):
        valeurs = frame[colonne]
        cles[f"_total_{colonne}"] = valeurs.eq(TOTAL).fillna(False).astype(bool)
        nombres = pd.to_numeric(valeurs, errors="coerce")
        cles[f"_nombre_{colonne}"] = nombres.fillna(float("inf"))
        cles[f"_texte_{colonne}"] = valeurs.astype("string").fillna("")
        colonnes += [f"_total_{colonne}", f"_nombre_{colonne}", f"_texte_{colonne}"]
    ordre = pd.DataFrame(cles, index=frame.index).sort_values(colonnes, kind="stable").index
    return frame.loc[ordre].reset_index(drop=True)


def verifier_sans_pseudonyme(frame: pd.DataFrame, code: str) -> None:
    """Raise when a published table would carry a pseudonymised identifier (indicators.md, section F)."""
    for colonne in frame.columns:
        if str(colonne).lower() in COLONNES_INTERDITES:
            raise ExportError(f"{code} : la colonne {colonne!r} est un identifiant pseudonymisé ; elle ne doit "
                              f"jamais être publiée. Retirez-la du mart ou du catalogue.")
        valeurs = frame[colonne]
        if valeurs.dtype.kind in "biufcmM":
            continue
        texte = valeurs.dropna().astype(str)
        trouves = texte[texte.str.fullmatch(PSEUDONYME)]
        if not trouves.empty:
            raise ExportError(
                f"{code} : colonne {colonne!r}, ligne {int(trouves.index[0]) + 1} : la valeur {trouves.iloc[0][:12]}… "
                f"a la forme d'un pseudonyme (64 chiffres hexadécimaux) ; aucun identifiant pseudonymisé ne doit "
                f"être publié. Corrigez le mart qui la produit.")


@dataclass(frozen=True)
class TableMart:
    """One catalogue table as read from the marts (true figures), before the rule."""

    indicateur: Indicateur
    donnees: pd.DataFrame
    sources: tuple[str, ...]
    remarques: tuple[str, ...]


def lire_tables(conn: duckdb.DuckDBPyConnection, catalogue: Catalogue, annee: int,
                sources_presentes: Mapping[str, str]) -> tuple[list[TableMart], list[NonRenseigne]]:
    """Every catalogue entry of ``annee``: the tables read from the marts, and those « non renseigné »."""
    marts = tables_of_schema(conn, "marts")
    lues, absents = [], []
    for indicateur in catalogue.indicateurs:
        def non_renseigne(raison: str) -> None:
            absents.append(NonRenseigne(indicateur.code, indicateur.libelle, raison))

        if not indicateur.disponible:
            non_renseigne("indicateur pas encore construit (statut a_construire au catalogue)")
            continue
        if indicateur.modele not in marts:
            non_renseigne(f"table marts.{indicateur.modele} absente de l'entrepôt (dbt ne l'a pas construite)")
            continue
        manquantes = [s for s in indicateur.source if s not in sources_presentes]
        if manquantes:
            non_renseigne(f"source{'s' if len(manquantes) > 1 else ''} absente{'s' if len(manquantes) > 1 else ''} "
                          f"pour {annee} : {', '.join(manquantes)} (aucun extrait ingéré)")
            continue
        frame, sources, remarques = lire_mart(conn, indicateur, annee, colonnes_de_la_regle(catalogue, indicateur))
        if not frame["annee"].eq(annee).any():
            non_renseigne(f"aucune ligne pour {annee} dans marts.{indicateur.modele}")
            continue
        # the target of an objective is known without data: it does not make the year renseigné
        mesures = [c for c in indicateur.colonnes_chiffres if c not in CIBLES]
        if not frame.loc[frame["annee"].eq(annee), mesures].notna().any(axis=None):
            non_renseigne("; ".join(remarques) or f"aucune valeur calculée pour {annee} dans marts.{indicateur.modele}")
            continue
        lues.append(TableMart(indicateur, frame, sources, remarques))
    return lues, absents


def _statistiques(resultat: Resultat, code: str, publiee: pd.DataFrame) -> StatistiquesSecret:
    table = resultat.systeme.par_code()[code]
    tranche = slice(table.debut, table.debut + len(table.donnees))
    etat = resultat.etat
    masquee, primaire = etat.masquee[tranche], etat.primaire[tranche]
    retiree = masquee & etat.retrait[tranche]
    criteres = sum(len(c) for ligne, c in etat.criteres.items() if tranche.start <= ligne < tranche.stop)
    return StatistiquesSecret(lignes=len(publiee), masquees=int(masquee.sum()), primaires=int(primaire.sum()),
                              secondaires=int((masquee & ~primaire).sum()), retirees=int(retiree.sum()),
                              criteres_masques=criteres)


def preparer(conn: duckdb.DuckDBPyConnection, catalogue: Catalogue, annee: int,
             sources_presentes: Mapping[str, str], secret: bool = True, seuil: int | None = None) -> Preparation:
    """Every catalogue entry of ``annee``, the disclosure rule applied to the published ones together
    (``secret=False``: the rule lifted, for an internal diffusion)."""
    lues, absents = lire_tables(conn, catalogue, annee, sources_presentes)
    tables, audit = [], None
    if secret:
        resultat = appliquer_regle([(t.indicateur, t.donnees) for t in lues], catalogue, seuil)
        audit, seuil = resultat.audit, resultat.etat.seuil
    for lue in lues:
        indicateur = lue.indicateur
        masque = None
        if secret:
            publiee, masque = resultat.tables[indicateur.code]
            statistiques = _statistiques(resultat, indicateur.code, publiee)
        else:
            publiee = lue.donnees.assign(secret=False)[list(indicateur.colonnes_publiees)]
            statistiques = StatistiquesSecret(lignes=len(publiee))
        verifier_sans_pseudonyme(publiee, indicateur.code)
        tables.append(TablePubliee(indicateur, publiee, lue.sources, lue.remarques, statistiques, masque))
    return Preparation(tuple(tables), tuple(absents), audit, seuil if secret else None)
