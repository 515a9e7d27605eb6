"""The sections of the tableau de bord mensuel, as markdown, from the month's published tables
(:class:`pipeline.reports.donnees.Donnees`): the tables of the year built up to the month, so a yearly
table (CALEOL decisions, objectives, refusals) counts the year to date.

Like the atlas (:mod:`pipeline.reports.sections`, whose helpers it uses), it selects published cells and
formats them: a masked figure prints « s », a table without its sources says « non renseigné » with
the reason; nothing is computed here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.reports.donnees import TOTAL, Donnees
from pipeline.reports.formats import MOIS_FR, fr_entier, fr_mois, fr_mois_annee, fr_pct, table_markdown
from pipeline.reports.sections import Atlas

TYPOLOGIES = ["CHAMBRE", "T1", "T2", "T3", "T4", "T5", "T6", "INCONNUE"]
MESURES_CALEOL = ["examens_attribution", "examens_attribution_rang", "examens_attribution_condition_suspensive",
                  "examens_non_attribution", "examens_irrecevabilite", "attributions_prononcees", "baux_signes",
                  "refus"]


class TableauDeBord(Atlas):
    """The dashboard of one month (``AAAA-MM``), from its published folder."""

    def __init__(self, dossier: Path | str, mois: str):
        # no maps in the dashboard: the atlas's base map is not read
        self.d = Donnees(dossier)
        self.annee = self.d.annee
        self.mois = mois
        self.numero = int(mois[5:7])
        self.periode = f"de janvier à {fr_mois_annee(mois)}" if self.numero > 1 else fr_mois_annee(mois)

    def source(self, *codes: str) -> str:
        """The extracts of the tables and their months (« demandes 2024 (3 mois) »): the marts' own source
        texts name one snapshot per month."""
        extraits = dict.fromkeys(e for code in codes for e in self.source_courte(code).removeprefix("Source : ").split(", "))
        return "Source : " + ", ".join(extraits)

    def mensuel(self, mesure: str, mois: int | None = None, typologie: str = TOTAL) -> Any:
        return self.d.chiffre("tableau_bord_mensuel", mois=mois or self.numero, typologie=typologie, mesure=mesure)

    def delai(self, mois: int | None = None, typologie: str = TOTAL) -> Any:
        return self.d.chiffre("tableau_bord_delais_mensuel", mois=mois or self.numero, typologie=typologie)

    def caleol(self, mesure: str, **filtre: Any) -> Any:
        return self.d.chiffre("ind_03", **{"bailleur": TOTAL, "reservataire": TOTAL, **filtre, "mesure": mesure})

    # -- Le mois en bref ----------------------------------------------------------------------------

    def en_bref(self) -> str:
        mois = fr_mois_annee(self.mois)
        lignes: list[tuple[str, Any, Callable, str]] = [
            (f"Demandes actives fin {mois}", self.mensuel("demandes_actives"), fr_entier, "tableau_bord_mensuel"),
            ("dont déposées dans le mois", self.mensuel("nouvelles_demandes"), fr_entier, "tableau_bord_mensuel"),
            ("Délai d'attente moyen des demandes actives", self.delai(), fr_mois, "tableau_bord_delais_mensuel"),
            ("Attributions prononcées des 12 derniers mois", self.mensuel("attributions_12_mois"), fr_entier,
             "tableau_bord_mensuel"),
            (f"Attributions prononcées en CALEOL, {self.periode}", self.caleol("attributions_prononcees"), fr_entier,
             "ind_03"),
            (f"Baux signés, {self.periode}", self.caleol("baux_signes"), fr_entier, "ind_03"),
            (f"Refus (dont sans réponse), {self.periode}", self.caleol("refus"), fr_entier, "ind_03"),
        ]
        rangs = [{"Chiffre clé": libelle, "Valeur": "non renseigné" if valeur is None else fmt(valeur)}
                 for libelle, valeur, fmt, _ in lignes]
        md = [table_markdown(pd.DataFrame(rangs), "lr", f"Chiffres clés de {mois} (tables publiées "
                             f"tableau_bord_mensuel, tableau_bord_delais_mensuel, ind_03 ; « s » : secret statistique)")]
        for code in dict.fromkeys(code for *_, code in lignes):
            if not self.d.publiee(code):
                md.append(self.non_renseigne(code))
        md.append("\n## Les objectifs de la loi Égalité et Citoyenneté depuis janvier\n\n" + self.objectifs_cumul())
        return "\n".join(md)

    def objectifs_cumul(self) -> str:
        """Each objective of the year to date against its target (the published total rows)."""
        rangs = []
        objectifs, raisons = self.objectifs_totaux()
        for _, _, libelle, ligne, atteint in objectifs:
            if ligne is None:
                rangs.append({"": "", "Objectif": libelle, "Visés": "–", "Base": "–",
                              "Taux": "non renseigné", "Cible": "–", "Écart": "–"})
                continue
            rangs.append({"": "●" if atteint else "○", "Objectif": libelle,
                          "Visés": fr_entier(ligne["numerateur"]), "Base": fr_entier(ligne["denominateur"]),
                          "Taux": fr_pct(ligne["valeur"]), "Cible": fr_pct(ligne["cible"], 0),
                          "Écart": "atteint" if atteint else fr_entier(ligne["ecart"])})
        tableau = table_markdown(pd.DataFrame(rangs), "clrrrrr",
                                 f"Objectifs d'attribution, {self.periode} : ● atteint, ○ non atteint à ce jour ; cible "
                                 f"de la CIA ; écart : les attributions qui auraient dû aller aux ménages visés "
                                 f"({self.source_courte('obj_q1_hors_qpv')}).")
        return tableau + "".join(f"\n*Non renseigné : {r}.*\n" for r in raisons)

    # -- La demande ---------------------------------------------------------------------------------

    def demande(self) -> str:
        if not self.d.publiee("tableau_bord_mensuel"):
            return self.non_renseigne("tableau_bord_mensuel")
        mois_publies = sorted({int(m) for m in self.d.lignes("tableau_bord_mensuel")["mois"]})
        rangs = [{"Mois": MOIS_FR[m - 1], "Demandes actives": fr_entier(self.mensuel("demandes_actives", m)),
                  "dont du mois": fr_entier(self.mensuel("nouvelles_demandes", m)),
                  "Délai moyen": fr_mois(self.delai(m)),
                  "Attributions (12 mois)": fr_entier(self.mensuel("attributions_12_mois", m))}
                 for m in mois_publies if m <= self.numero]
        md = ["## Mois après mois\n",
              table_markdown(pd.DataFrame(rangs), "lrrrr",
                             f"Demandes actives en fin de mois, dont déposées dans le mois, délai d'attente moyen et "
                             f"attributions prononcées des 12 mois précédents (sur les extraits ingérés), {self.annee} "
                             f"({self.source('tableau_bord_mensuel', 'ind_03')})")]
        typologies = self.d.lignes("tableau_bord_mensuel", mois=self.numero)["typologie"].astype(str)
        membres = [t for t in TYPOLOGIES if t in set(typologies)] + [TOTAL]
        rangs = [{"Typologie": "**Ensemble**" if t == TOTAL else t,
                  "Demandes actives": fr_entier(self.mensuel("demandes_actives", typologie=t)),
                  "dont du mois": fr_entier(self.mensuel("nouvelles_demandes", typologie=t)),
                  "Délai moyen": fr_mois(self.delai(typologie=t)),
                  "Parc": fr_entier(self.mensuel("parc", typologie=t)),
                  "Attributions (12 mois)": fr_entier(self.mensuel("attributions_12_mois", typologie=t))}
                 for t in membres]
        md += [f"\n## Par typologie, fin {fr_mois_annee(self.mois)}\n",
               table_markdown(pd.DataFrame(rangs), "lrrrrr",
                              f"Par typologie souhaitée (demandes) ou du logement (parc au 1er janvier, attributions) ; "
                              f"« – » : non renseigné ({self.source('tableau_bord_mensuel')})")]
        for mesure, libelle, pourquoi in (
                ("parc", "Parc", f"aucun extrait RPLS {self.annee} dans l'entrepôt"),
                ("attributions_12_mois", "Attributions des 12 derniers mois",
                 "aucun extrait d'attributions de la période dans l'entrepôt")):
            if self.mensuel(mesure) is None:  # the mart has no row for a mesure whose source is missing
                md.append(f"*{libelle} : non renseigné — {pourquoi}.*\n")
        return "\n".join(md)

    # -- Les CALEOL ----------------------------------------------------------------------------------

    def caleol_cumul(self) -> str:
        if not self.d.publiee("ind_03"):
            return self.non_renseigne("ind_03")
        md = [self.tableau("ind_03", "mesure", [("valeur", "Nombre", fr_entier)],
                           f"Examens et décisions des CALEOL, {self.periode}", "Mesure", ordre=MESURES_CALEOL,
                           bailleur=TOTAL, reservataire=TOTAL)]
        bailleurs = self.membres("ind_03", "bailleur", reservataire=TOTAL, mesure="attributions_prononcees")
        rangs = [{"Bailleur": "**Ensemble**" if b == TOTAL else self.nom("bailleur", b),
                  **{self.nom("mesure", m): fr_entier(self.caleol(m, bailleur=b))
                     for m in ("attributions_prononcees", "baux_signes", "refus")}}
                 for b in [*bailleurs, TOTAL]]
        md.append(table_markdown(pd.DataFrame(rangs), "lrrr",
                                 f"Par bailleur, {self.periode} ({self.source('ind_03')})"))
        return "\n".join(md)

    # -- Les refus -----------------------------------------------------------------------------------

    def refus(self) -> str:
        return "\n".join([
            self.tableau("ind_28", "motif", [("valeur", "Refus", fr_entier)], f"Refus par motif, {self.periode}",
                         "Motif", qpv=TOTAL, quartile=TOTAL, porteur_mixite=TOTAL),
            self.tableau("ind_28", "qpv", [("valeur", "Refus", fr_entier)], f"Refus en et hors QPV, {self.periode}",
                         "Zone", motif=TOTAL, quartile=TOTAL, porteur_mixite=TOTAL)])

    # -- Sources -------------------------------------------------------------------------------------

    def sources_et_secret(self) -> str:
        meta = self.d.metadonnees
        lignes = [f"- {nom} : {millesime}" for nom, millesime in meta.get("sources", {}).items()]
        absents = self.d.publication.non_renseignes
        md = [f"Tableau de bord de {fr_mois_annee(self.mois)} : les tables de {self.annee} construites avec les "
              f"extraits mensuels jusqu'à ce mois (les chiffres « depuis janvier » sont ceux de l'année à ce jour). "
              f"Les tables publiées sont dans le dossier `indicateurs/` à côté de ce document.\n",
              "Sources ingérées :\n", *lignes, ""]
        if not absents.empty:
            md.append("Non renseigné :\n")
            md += [f"- {r.code} : {r.raison}" for r in absents.itertuples()]
            md.append("")
        md.append(self.secret())
        return "\n".join(md)
