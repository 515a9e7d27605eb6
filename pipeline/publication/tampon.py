"""The stamp of every published file (indicators.md, section F, last bullet): millésime of each source,
run id, code version, date, and the mark of the demo data — or of an internal diffusion that lifted the
disclosure rule.

The stamp is the atlas's (:func:`pipeline.assets.atlas.atlas_metadata`), completed with the millésime of
every source from the ingestion log (``raw._ingestion``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from pipeline.publication.catalogue import Catalogue
from pipeline.warehouse import INGESTION_LOG, columns_of, tables_of_schema

#: The mark of every output built from the demo data (the atlas prints the same words).
MENTION_DEMO = "DONNÉES FICTIVES — démonstration"
#: The mark of every output of an internal diffusion (the disclosure rule lifted, section F).
MENTION_INTERNE = "DIFFUSION INTERNE — secret statistique levé, ne pas diffuser"


@dataclass(frozen=True)
class Tampon:
    """What stamps every published file (indicators.md, section F, last bullet)."""

    annee: int
    epci: str
    #: source → millésime(s) ingested for the year, or « absente ».
    sources: Mapping[str, str]
    run_id: str
    code_version: str
    date: str
    demo: bool
    #: An internal diffusion for the bailleurs: the disclosure rule was lifted (section F).
    interne: bool = False

    @classmethod
    def depuis_atlas(cls, atlas: Mapping[str, Any], epci: str, sources: Mapping[str, str]) -> "Tampon":
        """From the atlas's stamp (:func:`pipeline.assets.atlas.atlas_metadata`), with each source's millésime."""
        return cls(annee=int(atlas["millesime"]), epci=epci, sources=dict(sources), run_id=str(atlas["run-id"]),
                   code_version=str(atlas["code-version"]), date=str(atlas["build-date"]),
                   demo=bool(atlas["demo"]), interne=bool(atlas.get("interne", False)))

    @property
    def mentions(self) -> tuple[str, ...]:
        """The marks printed on every output: demo data, internal diffusion."""
        return tuple(m for m, oui in ((MENTION_DEMO, self.demo), (MENTION_INTERNE, self.interne)) if oui)

    def lignes(self) -> list[tuple[str, str]]:
        """(label, value) lines, for the Lisez-moi sheet."""
        lignes = [("Millésime", str(self.annee)), ("Territoire (EPCI)", self.epci)]
        lignes += [(f"Source {nom}", millesime) for nom, millesime in self.sources.items()]
        lignes += [("Run", self.run_id), ("Version du code", self.code_version), ("Date de production", self.date)]
        return lignes


def _jusqu_au_mois(mois: str | None) -> tuple[str, list[str]]:
    """The condition on ``periode`` that keeps the monthly periods up to ``mois`` (``AAAA-MM``; every
    period when None) and every annual one: a dashboard built up to March says so, whatever later
    months the warehouse already holds."""
    return "(length(periode) = 4 or periode <= ?)", [mois or "9999-99"]


def millesimes(conn: duckdb.DuckDBPyConnection, annee: int, jusqu_au_mois: str | None = None) -> dict[str, str]:
    """Source → the periods of ``annee`` ingested with at least one row kept (``raw._ingestion``), the
    monthly ones up to ``jusqu_au_mois`` when given.

    An annual source reads ``2021``; a monthly one ``2021-01 à 2021-12 (12 mois)``. Only the last
    ingestion of each (source, period) counts: a corrected extract replaced the earlier one.
    """
    schema, table = INGESTION_LOG.split(".")
    existe = conn.execute("select count(*) from information_schema.tables where table_schema = ? "
                          "and table_name = ?", [schema, table]).fetchone()[0]
    if not existe:
        return {}
    condition, valeurs = _jusqu_au_mois(jusqu_au_mois)
    lignes = conn.execute(
        f"""select source, periode from (
                select source, periode, lignes_gardees,
                       row_number() over (partition by source, periode order by ingere_le desc) as rang
                from {INGESTION_LOG} where left(periode, 4) = ? and {condition})
            where rang = 1 and lignes_gardees > 0 order by source, periode""", [str(annee), *valeurs]).fetchall()
    periodes: dict[str, list[str]] = {}
    for source, periode in lignes:
        periodes.setdefault(source, []).append(periode)
    texte = {}
    for source, liste in periodes.items():
        if len(liste) == 1:
            texte[source] = liste[0]
        else:
            texte[source] = f"{liste[0]} à {liste[-1]} ({len(liste)} mois)"
    return texte


def enquetes_reprises(conn: duckdb.DuckDBPyConnection, catalogue: Catalogue, annee: int) -> dict[str, str]:
    """Survey source → « 2020 (enquête reprise pour 2021) », for the survey sources of the catalogue
    that the marts describe ``annee`` with an earlier survey (their column ``annee_enquete``), when
    that survey's extract was ingested. A year the marts leave without a survey gets nothing here:
    its survey-based indicators stay « non renseigné »."""
    marts = tables_of_schema(conn, "marts")
    reprises: dict[str, str] = {}
    for source in catalogue.sources_enquete:
        annees: set[int] = set()
        for indicateur in catalogue.indicateurs:
            if source in indicateur.source and indicateur.modele in marts \
                    and "annee_enquete" in columns_of(conn, "marts", indicateur.modele):
                annees |= {int(r[0]) for r in conn.execute(
                    f'select distinct annee_enquete from marts."{indicateur.modele}" '
                    f"where annee = ? and annee_enquete < ?", [annee, annee]).fetchall() if r[0] is not None}
        ingerees = sorted(a for a in annees if source in millesimes(conn, a))
        if ingerees:
            reprises[source] = f"{', '.join(map(str, ingerees))} (enquête reprise pour {annee})"
    return reprises




def ingestion_de_l_annee(conn: duckdb.DuckDBPyConnection, annee: int,
                         jusqu_au_mois: str | None = None) -> list[dict[str, Any]]:
    """Per source, what the ingestion of ``annee``'s extracts kept and rejected (the last ingestion of
    each period counts; the monthly ones up to ``jusqu_au_mois`` when given): the data-quality summary
    of the publication."""
    schema, table = INGESTION_LOG.split(".")
    if table not in tables_of_schema(conn, schema):
        return []
    condition, valeurs = _jusqu_au_mois(jusqu_au_mois)
    lignes = conn.execute(
        f"""select source, count(*), sum(lignes_lues), sum(lignes_gardees), sum(lignes_rejetees)
            from (select *, row_number() over (partition by source, periode order by ingere_le desc) as rang
                  from {INGESTION_LOG} where left(periode, 4) = ? and {condition})
            where rang = 1 group by source order by source""", [str(annee), *valeurs]).fetchall()
    return [{"source": s, "fichiers": int(f), "lignes_lues": int(l), "lignes_gardees": int(g),
             "lignes_rejetees": int(r)} for s, f, l, g, r in lignes]
