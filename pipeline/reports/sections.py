"""The sections of the atlas du parc social (atlas.md, « Content »), as markdown, from the published
tables of the year (:class:`pipeline.reports.donnees.Donnees`).

Each method returns the markdown of one section (its subsections, tables, maps and charts); the
``.qmd`` prints them under the section headings. A section whose table is « non renseigné » for the year
says so with the reason; a figure masked by the disclosure rule prints « s ». Nothing here computes an
indicator: every number is a published cell, selected and formatted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.publication.catalogue import SECTIONS_ATLAS
from pipeline.reports import cartes, graphiques
from pipeline.reports.donnees import TOTAL, Donnees
from pipeline.reports.formats import (MASQUE, brut, echapper, fr_decimal, fr_entier, fr_euros_m2, fr_mois, fr_pct,
                                      fr_unite, manquant, table_markdown)

ORDRE_QUARTILES = ["Q1", "Q2", "Q3", "Q4", "INCONNU"]
COULEURS_FRAGILITE = {"non fragile": "#d9ead3", "vigilance": "#ffd966", "fragile": "#f6a04d", "très fragile": "#c0392b"}
LIBELLES_MESURES = {
    "MENAGES_SOUS_40_PLUS": "Ménages sous 40 % du plafond PLUS (C1)",
    "EMMENAGES_RECENTS_SOUS_40_PLUS": "Emménagés récents sous 40 % du plafond PLUS (C2)",
    "MAJEURS_CHOMAGE": "Majeurs au chômage (C3)",
    "EMMENAGES_RECENTS": "Emménagés depuis moins de trois ans",
    "FAMILLES_MONOPARENTALES": "Familles monoparentales",
    "PERSONNES_SEULES": "Personnes seules",
    "MENAGES_APL": "Ménages bénéficiant de l'APL",
    "attributions_prononcees": "Attributions prononcées",
    "baux_signes": "Baux signés",
    "refus": "Refus (dont sans réponse)",
    "examens_attribution": "Examens : attribution",
    "examens_attribution_rang": "Examens : attribution au rang",
    "examens_attribution_condition_suspensive": "Examens : attribution sous condition",
    "examens_non_attribution": "Examens : non-attribution",
    "examens_irrecevabilite": "Examens : irrecevabilité",
    "labellises_annee": "Ménages labellisés dans l'année",
    "stock_31_decembre": "Ménages prioritaires en attente au 31 décembre",
    "depassement": "Ménages au-dessus du plafond de ressources",
    "depassement_120": "dont au-dessus de 120 % du plafond",
    "parc": "Logements", "agrements": "Agréments de l'année",
    "logements_demolis": "Logements démolis", "logements_reconstruits": "Logements reconstruits",
    "logements_rehabilites": "Logements réhabilités", "menages_reloges": "Ménages relogés",
    "logements_commercialises": "Logements commercialisés", "accedants": "Accédants",
    "accedants_issus_parc_social": "dont issus du parc social",
}
OBJECTIFS = [
    ("obj_prio_etat", {"bailleur": TOTAL}, "Prioritaires sur le contingent de l'État"),
    ("obj_prio_resa", {"reservataire": TOTAL, "bailleur": TOTAL}, "Prioritaires, toutes attributions (État compris)"),
    ("obj_q1_hors_qpv", {"bailleur": TOTAL}, "1er quartile ou relogés ANRU, hors QPV"),
    ("obj_q234_qpv", {"bailleur": TOTAL, "qpv": TOTAL}, "2e à 4e quartiles en QPV"),
]


class Atlas:
    """The atlas of one published year."""

    def __init__(self, dossier: Path | str, figures: Path | str):
        self.d = Donnees(dossier)
        self.annee = self.d.annee
        self.figures = Path(figures)
        self.fond = cartes.fond_de_carte(self.d)
        self.source_carte = self.fond.mention if self.fond is not None else ""

    # -- helpers ----------------------------------------------------------------------------------

    def nom(self, dimension: str, code: Any) -> str:
        if dimension == "mesure":
            return LIBELLES_MESURES.get(str(code), str(code).replace("_", " "))
        if str(code) == "HORS_QPV":
            return "Hors QPV"
        if str(code) == "QPV" and dimension == "qpv":
            return "En QPV"
        return self.d.libelle(dimension, code)

    def titre_indicateur(self, code: str, niveau: int = 2) -> str:
        """A heading that names a section-B indicator as the CIA does (found from the contents)."""
        indicateur = self.d.indicateur(code)
        numero = f"Indicateur {int(code[4:])} — " if code.startswith("ind_") else ""
        return f"\n{'#' * niveau} {numero}{indicateur.libelle}\n\n"

    def non_renseigne(self, code: str) -> str:
        raison = self.d.raison(code) or "table non publiée"
        return f"*{self.d.indicateur(code).libelle} : non renseigné pour {self.annee} — {raison}.*\n\n"

    def image(self, chemin: Path, legende: str, largeur: str = "100%") -> str:
        """A figure: the image (a path relative to the document) and its caption."""
        return f"\n![{legende}]({chemin.as_posix()}){{width={largeur}}}\n\n"

    def carte(self, chemin: Path, legende: str, largeur: str = "100%") -> str:
        """A map: its caption says what the contours are (« contours réels, données fictives »)."""
        return self.image(chemin, f"{legende} — {self.source_carte}", largeur)

    def source_courte(self, code: str) -> str:
        """The extracts of an indicator with their millésime for the year (« attributions 2024, 12 mois »)."""
        sources = self.d.metadonnees.get("sources", {})
        textes = []
        for nom in self.d.indicateur(code).source:
            millesime = str(sources.get(nom, "absente"))
            if " à " in millesime:  # 2024-01 à 2024-12 (12 mois)
                millesime = millesime.split("-")[0] + " " + millesime[millesime.index("("):]
            textes.append(f"{nom.replace('_', ' ')} {millesime}")
        return "Source : " + ", ".join(textes)

    def source(self, *codes: str) -> str:
        sources = sorted({s for c in codes for s in self.d.source(c).split(", ") if s})
        return "Source : " + ", ".join(sources) if sources else ""

    def tableau(self, code: str, dimension: str, colonnes: list[tuple[str, str, Callable]], legende: str,
                libelle_dimension: str, ordre: list[str] | None = None, annee: int | None = None,
                **filtre: Any) -> str:
        """The rows of ``code`` along ``dimension`` (others fixed by ``filtre``), TOTAL last, one column
        per (published column, title, format)."""
        lignes = self.d.lignes(code, annee, **filtre)
        if lignes.empty:
            if self.d.publiee(code):
                return f"*{legende} : aucune ligne publiée pour {self.annee if annee is None else annee}.*\n\n"
            return self.non_renseigne(code)
        membres = list(dict.fromkeys(m for m in lignes[dimension].astype(str) if m != TOTAL))
        if ordre:
            membres = [m for m in ordre if m in membres] + [m for m in membres if m not in ordre]
        if (lignes[dimension].astype(str) == TOTAL).any():
            membres.append(TOTAL)
        rangs = []
        for membre in membres:
            ligne = lignes[lignes[dimension].astype(str).eq(membre)].iloc[0]
            nom = self.nom(dimension, membre)
            rangs.append({libelle_dimension: f"**{nom}**" if membre == TOTAL else nom,
                          **{titre: fmt(ligne[col]) for col, titre, fmt in colonnes}})
        frame = pd.DataFrame(rangs)
        return table_markdown(frame, "l" + "r" * len(colonnes), f"{legende} ({self.source(code)}).")

    def evolution(self, code: str, series: dict[str, dict], chemin: str, titre_y: str, legende: str,
                  colonne: str = "valeur", format_y: Callable = fr_entier, cibles: dict | None = None) -> str:
        """A chart of the years the published table carries (one line per filter of ``series``)."""
        if not self.d.publiee(code):
            return self.non_renseigne(code)
        donnees = {libelle: self.d.serie(code, colonne, **filtre) for libelle, filtre in series.items()}
        donnees = {k: v for k, v in donnees.items() if not v.empty}
        if not donnees:
            return self.non_renseigne(code)
        annees = sorted({int(a) for s in donnees.values() for a in s.index})
        periode = f"{annees[0]}–{annees[-1]}" if len(annees) > 1 else str(annees[0])
        fichier = graphiques.courbes(donnees, self.figures / f"{chemin}_{self.annee}.png", titre_y,
                                     self.source(code), format_y, cibles)
        return self.image(fichier, f"{legende}, {periode}.")

    # -- 1. Synthèse ------------------------------------------------------------------------------

    def chiffres_cles(self) -> str:
        n, p = self.annee, self.annee - 1
        lignes = [
            ("Logements sociaux au 1^er^ janvier", "ind_25", dict(commune=TOTAL, produit=TOTAL, mesure="parc"), fr_entier),
            ("dont en QPV", "diag_parc_qpv", dict(qpv=TOTAL, bailleur=TOTAL), None),
            ("Demandes actives au 31 décembre", "diag_tension",
             dict(typologie=TOTAL, classe_age=TOTAL, quartile=TOTAL, type_demande=TOTAL), "numerateur"),
            ("Tension (demandes par attribution)", "diag_tension",
             dict(typologie=TOTAL, classe_age=TOTAL, quartile=TOTAL, type_demande=TOTAL), fr_decimal),
            ("Attributions prononcées en CALEOL", "ind_03",
             dict(bailleur=TOTAL, reservataire=TOTAL, mesure="attributions_prononcees"), fr_entier),
            ("Baux signés", "ind_03", dict(bailleur=TOTAL, reservataire=TOTAL, mesure="baux_signes"), fr_entier),
            ("Refus", "ind_03", dict(bailleur=TOTAL, reservataire=TOTAL, mesure="refus"), fr_entier),
            ("Mutations (baux signés)", "ind_23", dict(bailleur=TOTAL), fr_entier),
            ("Ménages prioritaires en attente au 31 décembre", "ind_14", dict(mesure="stock_31_decembre"), fr_entier),
            ("Sorties d'hébergement relogées (SYPLO)", "ind_18", dict(bailleur=TOTAL, mesure="SYPLO"), fr_entier),
        ]
        rangs = []
        for libelle, code, filtre, fmt in lignes:
            if code == "diag_parc_qpv":  # dwellings in QPV: all QPV rows are members; the RPLS count in QPV
                valeurs = [self.d.chiffre("diag_parc_bailleur", "numerateur", a, bailleur=TOTAL, qpv="QPV",
                                          typologie=TOTAL) for a in (p, n)]
                fmt_ = fr_entier
            elif fmt == "numerateur":
                valeurs = [self.d.chiffre(code, "numerateur", a, **filtre) for a in (p, n)]
                fmt_ = fr_entier
            else:
                valeurs = [self.d.chiffre(code, "valeur", a, **filtre) for a in (p, n)]
                fmt_ = fmt
            rangs.append({"Chiffre clé": libelle, str(p): fmt_(valeurs[0]), str(n): fmt_(valeurs[1])})
        return table_markdown(pd.DataFrame(rangs), "lrr",
                              f"Chiffres clés {p} et {n} (tables publiées : ind_25, diag_parc_bailleur, diag_tension, "
                              f"ind_03, ind_23, ind_14, ind_18 ; « – » : non renseigné)")

    def objectifs_totaux(self) -> tuple[list[tuple[str, dict, str, pd.Series | None, bool]], list[str]]:
        """Each legal objective's total row of the year (None when « non renseigné ») and whether it is
        met; and why those not published are not — a threshold missing or marked demo on real data, a
        source absent: what to enter."""
        objectifs, raisons = [], []
        for code, filtre, libelle in OBJECTIFS:
            lignes = self.d.lignes(code, **filtre)
            if lignes.empty:
                raison = self.d.raison(code)
                if raison and raison not in raisons:
                    raisons.append(raison)
                objectifs.append((code, filtre, libelle, None, False))
                continue
            ligne = lignes.iloc[0]
            ecart = ligne["ecart"]
            objectifs.append((code, filtre, libelle, ligne,
                              ecart is not MASQUE and not manquant(ecart) and float(ecart) == 0))
        return objectifs, raisons

    def feux_objectifs(self) -> str:
        """The four legal objectives as a traffic-light table."""
        rangs = []
        objectifs, raisons = self.objectifs_totaux()
        for code, filtre, libelle, ligne, atteint in objectifs:
            if ligne is None:
                rangs.append({"": "", "Objectif": libelle, "Valeur": "non renseigné", "Cible": "–",
                              "Plancher légal": "–", "Écart": "–", str(self.annee - 1): "–"})
                continue
            ecart = ligne["ecart"]
            legal = ligne.get("cible_legale")
            plancher = "–" if legal is None or manquant(legal) or legal == ligne["cible"] else fr_pct(legal, 0)
            precedent = self.d.chiffre(code, "valeur", self.annee - 1, **filtre)
            rangs.append({"": "●" if atteint else "○", "Objectif": libelle, "Valeur": fr_pct(ligne["valeur"]),
                          "Cible": fr_pct(ligne["cible"], 0), "Plancher légal": plancher,
                          "Écart": "atteint" if atteint else fr_entier(ecart),
                          str(self.annee - 1): fr_pct(precedent) if precedent is not None else "–"})
        tableau = table_markdown(pd.DataFrame(rangs), "clrrrrr",
                                 f"Objectifs d'attribution de la loi Égalité et Citoyenneté en {self.annee} : ● atteint, "
                                 f"○ non atteint ; cible de la CIA ; plancher légal où la loi diffère ; écart : les "
                                 f"attributions de l'année qui auraient dû aller aux ménages visés ; valeur de "
                                 f"{self.annee - 1} ({self.source_courte('obj_q1_hors_qpv')}).")
        if raisons:
            tableau += "\n" + "".join(f"*Non renseigné : {r}.*\n\n" for r in raisons)
        return tableau

    def synthese(self) -> str:
        parc = self.d.chiffre("ind_25", annee=None, commune=TOTAL, produit=TOTAL, mesure="parc")
        attributions = self.d.chiffre("ind_03", annee=None, bailleur=TOTAL, reservataire=TOTAL,
                                      mesure="attributions_prononcees")
        phrase = (f"Au 1^er^ janvier {self.annee}, le parc social de la métropole compte **{fr_entier(parc)} logements**"
                  if parc is not None else f"Le parc social de {self.annee} est non renseigné")
        phrase += (f" ; les commissions d'attribution (CALEOL) ont prononcé **{fr_entier(attributions)} attributions** "
                   f"dans l'année." if attributions is not None else ".")
        return (phrase + "\n\n## Chiffres clés\n\n" + self.chiffres_cles()
                + "\n## Les quatre objectifs de la loi Égalité et Citoyenneté\n\n" + self.feux_objectifs()
                + "\nLe détail par bailleur, par réservataire et par QPV, et l'évolution sur les années publiées, sont à "
                  "la section « Objectifs loi Égalité et Citoyenneté » ; la définition de chaque objectif est en annexe.\n")

    # -- 2. Le parc -------------------------------------------------------------------------------

    def parc(self) -> str:
        md = []
        parc = self.d.lignes("diag_parc_commune")
        if self.fond is not None and not parc.empty:
            valeurs = self.fond.communes["code"].map(dict(zip(parc["commune"].astype(str), parc["denominateur"])))
            chemin = cartes.carte_valeurs(self.fond, self.fond.communes, valeurs, "Logements sociaux",
                                          f"Source : RPLS {self.annee} — {self.source_carte}",
                                          self.figures / f"carte_parc_communes_{self.annee}.png", etiquettes=True)
            md.append("## Logements sociaux par commune\n" + self.carte(
                chemin, f"Logements sociaux par commune au 1^er^ janvier {self.annee} (RPLS {self.annee})"))
        iris = self.d.lignes("diag_parc_iris")
        if self.fond is not None and self.fond.iris is not None and not iris.empty:
            membres = iris[iris["iris"].astype(str).ne(TOTAL)]
            valeurs = self.fond.iris["code"].map(dict(zip(membres["iris"].astype(str), membres["valeur"])))
            chemin = cartes.carte_valeurs(self.fond, self.fond.iris, valeurs, "Logements sociaux par IRIS",
                                          f"Source : RPLS {self.annee} — {self.source_carte}",
                                          self.figures / f"carte_parc_iris_{self.annee}.png", palette="Purples")
            md.append("## Logements sociaux par IRIS\n" + self.carte(
                chemin, f"Logements sociaux par IRIS au 1^er^ janvier {self.annee} ; « s » : moins de 11 logements"))
        if not parc.empty:
            sru = set(self.d.publication.libelles.get("sru", {}))
            parc = parc.sort_values("denominateur", ascending=False, key=lambda s: s.map(lambda v: -1 if v is MASQUE else v))
            tableau = pd.DataFrame({
                "Commune": [self.nom("commune", c) + (" (SRU)" if str(c) in sru else "") for c in parc["commune"]],
                "Logements": parc["denominateur"].map(fr_entier),
                "dont QPV": parc["numerateur"].map(fr_entier),
                "Part en QPV": parc["valeur"].map(fr_pct)})
            md.append(table_markdown(tableau, "lrrr", f"Logements sociaux par commune au 1^er^ janvier {self.annee} ; "
                                     f"SRU : commune soumise à l'article 55 de la loi SRU ({self.source('diag_parc_commune')})."))
        else:
            md.append(self.non_renseigne("diag_parc_commune"))
        md.append("## Par bailleur, typologie, produit, période de construction et étiquette énergie\n")
        md.append(self.tableau("diag_parc_bailleur", "bailleur",
                               [("numerateur", "Logements", fr_entier)], "Logements par bailleur", "Bailleur",
                               qpv=TOTAL, typologie=TOTAL))
        md.append(self.tableau("diag_parc_bailleur", "typologie", [("numerateur", "Logements", fr_entier)],
                               "Logements par typologie", "Typologie", bailleur=TOTAL, qpv=TOTAL))
        md.append(self.titre_indicateur("ind_25", 3))
        md.append(self.tableau("ind_25", "produit", [("valeur", "Logements", fr_entier)],
                               "Logements par famille de produit", "Produit", commune=TOTAL, mesure="parc"))
        md.append(self.tableau("ind_25", "produit", [("valeur", "Agréments", fr_entier)],
                               "Agréments de l'année (SISAL) par produit", "Produit", commune=TOTAL, mesure="agrements"))
        md.append(self.tableau("diag_parc_caracteristiques", "periode_construction", [("numerateur", "Logements", fr_entier)],
                               "Logements par période de construction", "Période", commune=TOTAL, produit=TOTAL, dpe=TOTAL))
        md.append(self.tableau("diag_parc_caracteristiques", "dpe", [("numerateur", "Logements", fr_entier)],
                               "Logements par étiquette énergie (DPE)", "Étiquette", commune=TOTAL, produit=TOTAL,
                               periode_construction=TOTAL))
        sru = self.d.publication.libelles.get("sru", {})
        if sru:
            md.append("## Communes soumises à l'article 55 de la loi SRU\n\n"
                      + ", ".join(self.nom("commune", c) for c in sorted(sru, key=lambda c: self.nom("commune", c))) + ".\n")
        return "\n".join(md)

    # -- 3. Les loyers ----------------------------------------------------------------------------

    def loyers(self) -> str:
        md = [self.titre_indicateur("ind_04")]
        loyers = self.d.lignes("ind_04", statistique="mediane")
        if loyers.empty:
            return md[0] + self.non_renseigne("ind_04")
        if self.fond is not None and self.fond.iris is not None:
            membres = loyers[loyers["iris"].astype(str).ne(TOTAL)]
            valeurs = self.fond.iris["code"].map(dict(zip(membres["iris"].astype(str), membres["valeur"])))
            chemin = cartes.carte_valeurs(self.fond, self.fond.iris, valeurs, "Loyer médian (€/m² par mois)",
                                          f"Source : RPLS {self.annee} — {self.source_carte}",
                                          self.figures / f"carte_loyers_iris_{self.annee}.png",
                                          format_borne=lambda v: fr_euros_m2(v), palette="YlOrBr")
            md.append(self.carte(chemin, f"Loyer médian au m² des logements loués, par IRIS, au 1^er^ janvier {self.annee} "
                                         f"; « s » : moins de 11 logements loués décrits"))
        md.append(self.tableau("ind_04", "commune", [("valeur", "Loyer médian", fr_euros_m2)],
                               "Loyer médian au m² par commune", "Commune", iris=TOTAL, statistique="mediane"))
        md.append("## Les logements à bas loyer, en et hors QPV\n\n")
        md.append(self.tableau("diag_bas_loyers", "qpv", [("numerateur", "Sous le plafond PLAI", fr_entier),
                                                          ("denominateur", "Logements loués", fr_entier),
                                                          ("valeur", "Part", fr_pct)],
                               "Logements loués sous le plafond de loyer PLAI (« bas loyer »)", "Zone", commune=TOTAL))
        hors = self.d.lignes("diag_bas_loyers", qpv="HORS_QPV")
        hors = hors[hors["commune"].astype(str).ne(TOTAL)]
        if self.fond is not None and not hors.empty:
            valeurs = self.fond.communes["code"].map(dict(zip(hors["commune"].astype(str), hors["numerateur"])))
            chemin = cartes.carte_symboles(self.fond, self.fond.communes, valeurs, "Logements à bas loyer hors QPV",
                                           f"Source : RPLS {self.annee} — {self.source_carte}",
                                           self.figures / f"carte_bas_loyers_{self.annee}.png")
            md.append("## L'offre à bas loyer hors QPV\n" + self.carte(
                chemin, f"Où se trouve l'offre à bas loyer hors QPV : logements loués sous le plafond PLAI, par commune, {self.annee}"))
            md.append(self.tableau("diag_bas_loyers", "commune", [("numerateur", "Bas loyer hors QPV", fr_entier),
                                                                   ("valeur", "Part des logements loués", fr_pct)],
                                   "Logements à bas loyer hors QPV par commune", "Commune", qpv="HORS_QPV"))
        return "\n".join(md)

    # -- 4. Occupation et fragilité ----------------------------------------------------------------

    def occupation(self) -> str:
        md = [self.titre_indicateur("ind_05")]
        iris = self.d.lignes("fragilite_iris")
        if self.fond is not None and self.fond.iris is not None and not iris.empty:
            classes = self.fond.iris["code"].map(dict(zip(iris["iris"].astype(str), iris["classe"])))
            chemin = cartes.carte_categories(self.fond, self.fond.iris, classes, COULEURS_FRAGILITE,
                                             "Fragilité de l'occupation (IRIS)",
                                             f"Source : OPS, RPLS {self.annee} — {self.source_carte}",
                                             self.figures / f"carte_fragilite_iris_{self.annee}.png")
            md.append(self.carte(chemin, f"Classes de fragilité des IRIS en {self.annee} : nombre de critères atteints "
                                         f"parmi C1, C2, C3 (aucun, 1 : vigilance, 2 : fragile, 3 : très fragile)"))
            for critere, titre, seuil in (("c1", "C1 : ménages sous 40 % du plafond PLUS", "40 %"),
                                          ("c2", "C2 : emménagés récents sous 40 % du plafond PLUS", "50 %"),
                                          ("c3", "C3 : majeurs au chômage", "20 %")):
                valeurs = self.fond.iris["code"].map(dict(zip(iris["iris"].astype(str), iris[critere])))
                chemin = cartes.carte_valeurs(self.fond, self.fond.iris, valeurs, titre,
                                              f"Source : OPS — {self.source_carte}",
                                              self.figures / f"carte_{critere}_{self.annee}.png",
                                              format_borne=lambda v: fr_pct(v, 0), palette="Reds",
                                              bornes=[0.1, 0.2, 0.3, 0.4, 0.5])
                md.append(self.carte(chemin, f"{titre} (critère atteint à partir de {seuil}), par IRIS"))
        elif iris.empty:
            md.append(self.non_renseigne("fragilite_iris"))
        md.append(self.tableau("ind_05", "classe_fragilite", [("numerateur", "Logements", fr_entier), ("valeur", "Part", fr_pct)],
                               "Logements par classe de fragilité de leur IRIS", "Classe", maille="IRIS", qpv=TOTAL,
                               ordre=[*COULEURS_FRAGILITE, "effectif insuffisant", "non renseigné"]))
        md.append(self.tableau("ind_05", "classe_fragilite", [("numerateur", "Logements", fr_entier), ("valeur", "Part", fr_pct)],
                               "Logements par classe de fragilité de leur résidence", "Classe", maille="RESIDENCE",
                               qpv=TOTAL, ordre=[*COULEURS_FRAGILITE, "effectif insuffisant", "non renseigné"]))
        fragiles = iris[iris["classe"].isin(["fragile", "très fragile"])] if not iris.empty else iris
        if not fragiles.empty:
            tableau = pd.DataFrame({
                "Commune": [self.nom("commune", c) for c in fragiles["commune"]],
                "IRIS": [self.nom("iris", c) for c in fragiles["iris"]],
                "Classe": fragiles["classe"], "C1": fragiles["c1"].map(fr_pct), "C2": fragiles["c2"].map(fr_pct),
                "C3": fragiles["c3"].map(fr_pct), "Ménages enquêtés": fragiles["nb_menages"].map(fr_entier)})
            md.append("\n## Les IRIS fragiles et très fragiles\n\n" + table_markdown(
                tableau, "llcrrrr", f"IRIS fragiles et très fragiles en {self.annee} ({self.source('fragilite_iris')})."))
        residences = self.d.lignes("fragilite_residence")
        if not residences.empty:
            md.append(self.tableau_compte_classes(residences))
        md.append(self.titre_indicateur("ind_06"))
        md.append(self.evolution("ind_06", {self.nom("mesure", m): dict(commune=TOTAL, qpv=TOTAL, mesure=m)
                                            for m in ("MENAGES_SOUS_40_PLUS", "MAJEURS_CHOMAGE", "FAMILLES_MONOPARENTALES",
                                                      "MENAGES_APL")},
                                 "evolution_ind_06", "part des ménages", "Occupation du parc (enquêtes OPS)",
                                 format_y=lambda v: fr_pct(v, 0)))
        md.append(self.tableau("ind_06", "mesure", [("valeur", "Ensemble", fr_pct)], "Occupation du parc, ensemble de la métropole",
                               "Mesure", commune=TOTAL, qpv=TOTAL))
        md.append(self.tableau("ind_06", "qpv", [("valeur", "Ménages sous 40 % PLUS", fr_pct)],
                               "Ménages sous 40 % du plafond PLUS, en et hors QPV", "Zone", commune=TOTAL,
                               mesure="MENAGES_SOUS_40_PLUS"))
        md.append(self.titre_indicateur("ind_07"))
        md.append(self.evolution("ind_07", {c: dict(residence=TOTAL, classe_fragilite=c, mesure="MENAGES_SOUS_40_PLUS")
                                            for c in ("fragile", "très fragile")},
                                 "evolution_ind_07", "ménages sous 40 % PLUS",
                                 "Ménages sous 40 % du plafond PLUS dans les résidences fragiles et très fragiles",
                                 format_y=lambda v: fr_pct(v, 0)))
        md.append(self.tableau("ind_07", "mesure", [("valeur", "Résidences fragiles et très fragiles", fr_pct)],
                               "Occupation des résidences fragiles et très fragiles", "Mesure", residence=TOTAL,
                               classe_fragilite=TOTAL))
        return "\n".join(md)

    def tableau_compte_classes(self, residences: pd.DataFrame) -> str:
        """The fragile résidences listed (their fiches are in section 9)."""
        fragiles = residences[residences["classe"].isin(["fragile", "très fragile"])]
        if fragiles.empty:
            return ""
        tableau = pd.DataFrame({
            "Résidence": [self.nom("residence", r) for r in fragiles["residence"]],
            "Commune": [self.nom("commune", c) for c in fragiles["commune"]],
            "QPV": [self.nom("qpv", q) for q in fragiles["qpv"]],
            "Classe": fragiles["classe"], "Ménages enquêtés": fragiles["nb_menages"].map(fr_entier)})
        return ("\n## Les résidences fragiles et très fragiles\n\n" + table_markdown(
            tableau, "lllcr", f"Résidences fragiles et très fragiles en {self.annee}, publiées (au moins 11 ménages enquêtés) "
                              f"({self.source('fragilite_residence')}) ; leurs fiches sont à la section « Fiches résidences »."))

    # -- 5. Demande et attributions ----------------------------------------------------------------

    def demande(self) -> str:
        md = ["## Demande et tension\n"]
        tension = [("numerateur", "Demandes actives", fr_entier), ("denominateur", "Attributions (12 mois)", fr_entier),
                   ("valeur", "Tension", fr_decimal)]
        md.append(self.tableau("diag_tension", "typologie", tension, "Tension par typologie", "Typologie",
                               classe_age=TOTAL, quartile=TOTAL, type_demande=TOTAL,
                               ordre=["CHAMBRE", "T1", "T2", "T3", "T4", "T5", "T6"]))
        md.append(self.tableau("diag_tension", "classe_age", tension, "Tension par âge du demandeur", "Âge",
                               typologie=TOTAL, quartile=TOTAL, type_demande=TOTAL,
                               ordre=["MOINS_30_ANS", "30_59_ANS", "60_ANS_ET_PLUS", "INCONNU"]))
        md.append(self.tableau("diag_tension", "quartile", tension, "Tension par quartile de ressources", "Quartile",
                               typologie=TOTAL, classe_age=TOTAL, type_demande=TOTAL, ordre=ORDRE_QUARTILES))
        md.append(self.tableau("diag_tension", "type_demande", tension, "Tension, demandes externes et mutations",
                               "Demande", typologie=TOTAL, classe_age=TOTAL, quartile=TOTAL))
        md.append(self.tableau("diag_delais", "typologie", [("valeur", "Médiane", fr_mois)],
                               "Délai d'attente médian des demandes actives", "Typologie", delai="attente",
                               statistique="mediane", commune=TOTAL, ordre=["CHAMBRE", "T1", "T2", "T3", "T4", "T5", "T6"]))
        md.append(self.tableau("diag_delais", "typologie", [("valeur", "Médiane", fr_mois)],
                               "Délai d'attribution médian des baux signés", "Typologie", delai="attribution",
                               statistique="mediane", commune=TOTAL, ordre=["CHAMBRE", "T1", "T2", "T3", "T4", "T5", "T6"]))
        md.append(self.tableau("diag_delai_anormal", "typologie", [("numerateur", "Demandes", fr_entier), ("valeur", "Part", fr_pct)],
                               "Demandes en délai anormalement long", "Typologie", commune=TOTAL,
                               ordre=["CHAMBRE", "T1", "T2", "T3", "T4", "T5", "T6"]))
        md.append(self.tableau("diag_ressources", "tranche_ressources", [("numerateur", "Demandeurs", fr_entier),
                                                                        ("valeur", "Part", fr_pct)],
                               "Ressources des demandeurs", "Tranche", composition=TOTAL))
        md.append(self.titre_indicateur("ind_13"))
        md.append(self.evolution("ind_13", {"Demandes de mutation": dict(motif=TOTAL)}, "evolution_ind_13",
                                 "demandes", "Demandes de mutation actives au 31 décembre"))
        md.append(self.tableau("ind_13", "motif", [("valeur", "Demandes", fr_entier)], "Demandes de mutation par motif",
                               "Motif"))
        md.append(self.titre_indicateur("ind_03"))
        md.append(self.tableau("ind_03", "mesure", [("valeur", "Nombre", fr_entier)], "Examens et décisions des CALEOL",
                               "Mesure", bailleur=TOTAL, reservataire=TOTAL))
        md.append(self.tableau("ind_03", "bailleur", [("valeur", "Attributions prononcées", fr_entier)],
                               "Attributions prononcées par bailleur", "Bailleur", reservataire=TOTAL,
                               mesure="attributions_prononcees"))
        md.append(self.titre_indicateur("ind_08"))
        md.append(self.evolution("ind_08", {self.nom("reservataire", r): dict(reservataire=r, typologie=TOTAL)
                                            for r in self.membres("ind_08", "reservataire", typologie=TOTAL)},
                                 "evolution_ind_08", "attributions", "Attributions prononcées par réservataire",
                                 colonne="numerateur"))
        md.append(self.tableau("ind_08", "typologie", [("numerateur", "Attributions", fr_entier), ("valeur", "Part", fr_pct)],
                               "Attributions prononcées par typologie", "Typologie", reservataire=TOTAL))
        md.append(self.titre_indicateur("ind_09"))
        md.append(self.evolution("ind_09", {"Q1 hors QPV": dict(qpv="HORS_QPV", quartile="Q1", mesure="attributions_prononcees"),
                                            "Q1 hors QPV, baux signés (base de l'objectif)":
                                                dict(qpv="HORS_QPV", quartile="Q1", mesure="baux_signes"),
                                            "Q1 en QPV (ensemble)": dict(qpv=TOTAL, quartile="Q1", mesure="attributions_prononcees")},
                                 "evolution_ind_09", "part du 1er quartile", "Part du 1er quartile dans les attributions",
                                 format_y=lambda v: fr_pct(v, 0)))
        md.append(self.tableau("ind_09", "quartile", [("valeur", "Hors QPV", fr_pct)], "Attributions prononcées hors QPV par quartile",
                               "Quartile", qpv="HORS_QPV", mesure="attributions_prononcees", ordre=ORDRE_QUARTILES))
        md.append(self.tableau("ind_09", "quartile", [("valeur", "Hors QPV", fr_pct)],
                               "Baux signés hors QPV par quartile (la base de l'objectif du 1er quartile)",
                               "Quartile", qpv="HORS_QPV", mesure="baux_signes", ordre=ORDRE_QUARTILES))
        md.append(self.titre_indicateur("ind_19"))
        md.append(self.tableau("ind_19", "qpv", [("valeur", "Baux signés", fr_entier)],
                               "Baux signés aux ménages du 1er quartile", "Zone", bailleur=TOTAL))
        md.append(self.titre_indicateur("ind_23"))
        md.append(self.tableau("ind_23", "bailleur", [("valeur", "Mutations", fr_entier)], "Mutations par bailleur", "Bailleur"))
        md.append(self.titre_indicateur("ind_24"))
        md.append(self.tableau("ind_24", "bailleur_origine", [("valeur", "Mutations", fr_entier)],
                               "Mutations inter-bailleurs par bailleur d'origine", "Bailleur d'origine", bailleur=TOTAL))
        md.append(self.titre_indicateur("ind_17"))
        md.append(self.evolution("ind_17", {self.nom("bailleur", b): dict(bailleur=b, residence=TOTAL)
                                            for b in self.membres("ind_17", "bailleur", residence=TOTAL)},
                                 "evolution_ind_17", "taux de refus", "Taux de refus par bailleur",
                                 format_y=lambda v: fr_pct(v, 0)))
        md.append(self.tableau("ind_17", "bailleur", [("numerateur", "Refus", fr_entier), ("denominateur", "Attributions", fr_entier),
                                                      ("valeur", "Taux", fr_pct)], "Refus par bailleur", "Bailleur",
                               residence=TOTAL))
        md.append("*Le détail par résidence est dans les fiches résidences.*\n")
        md.append(self.titre_indicateur("ind_28"))
        md.append(self.tableau("ind_28", "motif", [("valeur", "Refus", fr_entier)], "Refus par motif", "Motif",
                               qpv=TOTAL, quartile=TOTAL, porteur_mixite=TOTAL))
        md.append(self.tableau("ind_28", "qpv", [("valeur", "Refus", fr_entier)], "Refus en et hors QPV", "Zone",
                               motif=TOTAL, quartile=TOTAL, porteur_mixite=TOTAL))
        return "\n".join(md)

    def membres(self, code: str, dimension: str, **filtre: Any) -> list[str]:
        lignes = self.d.lignes(code, **filtre)
        return [] if lignes.empty else sorted(m for m in lignes[dimension].astype(str).unique() if m != TOTAL)

    # -- 6. Objectifs -----------------------------------------------------------------------------

    def objectifs(self) -> str:
        md = []
        colonnes = [("numerateur", "Ménages visés", fr_entier), ("denominateur", "Base", fr_entier),
                    ("valeur", "Taux", fr_pct), ("cible", "Cible", lambda v: fr_pct(v, 0)),
                    ("ecart", "Écart", fr_entier)]
        for code, filtre, libelle in OBJECTIFS:
            indicateur = self.d.indicateur(code)
            md.append(f"\n## {indicateur.libelle}\n\n{indicateur.definition}\n\n")
            if not self.d.publiee(code):
                md.append(self.non_renseigne(code))
                continue
            cible = self.d.chiffre(code, "cible", **filtre)
            cibles = {f"cible CIA {fr_pct(cible, 0)}": float(cible)} if cible not in (None, MASQUE) and not manquant(cible) else {}
            legal = self.d.chiffre(code, "cible_legale", **filtre) if "cible_legale" in self.d.table(code) else None
            if legal is not None and not manquant(legal) and legal != cible:
                cibles[f"plancher légal {fr_pct(legal, 0)}"] = float(legal)
            md.append(self.evolution(code, {libelle: filtre}, f"evolution_{code}", "taux", f"{libelle} : évolution",
                                     format_y=lambda v: fr_pct(v, 0), cibles=cibles))
            if code == "obj_prio_resa":
                dalo = [("dont_dalo", "dont DALO", fr_entier), ("part_dalo", "Part DALO", fr_pct)]
                md.append(self.tableau(code, "reservataire", colonnes + dalo,
                                       "Par réservataire ; le total est jugé sur la somme des cibles de ses parties, "
                                       "son écart est la somme de leurs écarts", "Réservataire", bailleur=TOTAL))
                md.append(self.tableau(code, "bailleur", colonnes, "Par bailleur, sur ses logements non réservés",
                                       "Bailleur", reservataire="NON_RESERVE"))
            elif code == "obj_q234_qpv":
                md.append(self.tableau(code, "bailleur", colonnes, "Par bailleur", "Bailleur", qpv=TOTAL))
                md.append(self.tableau(code, "qpv", colonnes, "Par QPV", "QPV", bailleur=TOTAL))
            else:
                md.append(self.tableau(code, "bailleur", colonnes, "Par bailleur", "Bailleur"))
        return "\n".join(md)

    # -- 7. Publics prioritaires ------------------------------------------------------------------

    def prioritaires(self) -> str:
        md = [self.titre_indicateur("ind_14")]
        md.append(self.evolution("ind_14", {self.nom("mesure", m): dict(mesure=m) for m in ("labellises_annee", "stock_31_decembre")},
                                 "evolution_ind_14", "ménages", "Ménages reconnus prioritaires (SYPLO)"))
        md.append(self.titre_indicateur("ind_26"))
        md.append(self.tableau("ind_26", "motif", [("valeur", "Labels", fr_entier), ("denominateur", "Ensemble", fr_entier)],
                               "Labels de l'année par motif de priorité ; « s » : moins de 11 ménages pour un motif sensible",
                               "Motif"))
        md.append(self.titre_indicateur("ind_15"))
        md.append(self.evolution("ind_15", {"Ménages restant à reloger": dict(motif=TOTAL, anciennete_label=TOTAL)},
                                 "evolution_ind_15", "ménages", "Ménages restant à reloger au 31 décembre"))
        md.append(self.tableau("ind_15", "motif", [("valeur", "Ménages", fr_entier)],
                               "Ménages restant à reloger au 31 décembre par motif", "Motif", anciennete_label=TOTAL))
        md.append(self.tableau("ind_15", "anciennete_label", [("valeur", "Ménages", fr_entier)],
                               "Ménages restant à reloger par ancienneté du label", "Ancienneté", motif=TOTAL))
        md.append(self.titre_indicateur("ind_16"))
        md.append(self.evolution("ind_16", {"Ensemble": dict(accompagnement=TOTAL)}, "evolution_ind_16", "ménages",
                                 "Publics prioritaires bénéficiant d'un accompagnement social"))
        md.append(self.tableau("ind_16", "accompagnement", [("valeur", "Ménages", fr_entier)],
                               "Publics prioritaires par dispositif d'accompagnement", "Accompagnement"))
        md.append(self.titre_indicateur("ind_11"))
        md.append(self.evolution("ind_11", {"Ensemble": dict(reservataire=TOTAL)}, "evolution_ind_11", "attributions",
                                 "Attributions aux publics prioritaires"))
        md.append(self.tableau("ind_11", "reservataire", [("valeur", "Attributions", fr_entier)],
                               "Attributions aux publics prioritaires par réservataire", "Réservataire"))
        md.append(self.titre_indicateur("ind_18"))
        md.append(self.evolution("ind_18", {"Sorties d'hébergement (SYPLO)": dict(bailleur=TOTAL, mesure="SYPLO"),
                                            "Baux signés à des sortants d'hébergement (attributions)":
                                                dict(bailleur=TOTAL, mesure="ATTRIBUTIONS")}, "evolution_ind_18", "ménages",
                                 "Sorties d'une structure d'hébergement vers le parc social"))
        md.append(self.tableau("ind_18", "bailleur", [("valeur", "Ménages", fr_entier)],
                               "Sorties d'hébergement relogées par bailleur (SYPLO)", "Bailleur", mesure="SYPLO"))
        md.append(self.tableau("ind_18", "bailleur", [("valeur", "Baux signés", fr_entier)],
                               "Baux signés à des ménages sortant d'hébergement par bailleur (extrait des attributions)",
                               "Bailleur", mesure="ATTRIBUTIONS"))
        md.append(self.titre_indicateur("ind_12"))
        md.append(self.evolution("ind_12", {self.nom("mesure", m): dict(bailleur=TOTAL, qpv=TOTAL, mesure=m)
                                            for m in ("depassement", "depassement_120")},
                                 "evolution_ind_12", "ménages", "Occupants dépassant les plafonds (enquête SLS)"))
        md.append(self.tableau("ind_12", "bailleur", [("valeur", "Au-dessus du plafond", fr_entier)],
                               "Occupants dépassant les plafonds par bailleur", "Bailleur", qpv=TOTAL, mesure="depassement"))
        md.append(self.titre_indicateur("ind_10"))
        md.append(self.evolution("ind_10", {"Attributions": dict(residence=TOTAL, quartile=TOTAL, statut_prioritaire=TOTAL)},
                                 "evolution_ind_10", "attributions", "Attributions dans les résidences fragiles"))
        md.append(self.tableau("ind_10", "quartile", [("valeur", "Attributions", fr_entier)],
                               "Attributions dans les résidences fragiles par quartile", "Quartile",
                               residence=TOTAL, statut_prioritaire=TOTAL, ordre=ORDRE_QUARTILES))
        return "\n".join(md)

    # -- 8. Fiches QPV ------------------------------------------------------------------------------

    def fiches_qpv(self) -> str:
        codes = sorted(self.d.publication.libelles.get("qpv", {}))
        if not codes:
            return "*Aucun quartier prioritaire dans le référentiel.*\n"
        md = []
        for code in codes:
            nom = self.nom("qpv", code)
            md.append(f"\n## {nom}\n\n")
            if self.fond is not None and self.fond.qpv is not None:
                chemin = cartes.carte_situation(self.fond, code, self.figures / f"situation_{code}_{self.annee}.png",
                                                f"{self.source_carte}")
                md.append(self.carte(chemin, f"Situation du quartier {nom}", "27%"))
            md.append(self.tableau("diag_parc_qpv", "bailleur", [("numerateur", "Logements", fr_entier), ("valeur", "Part", fr_pct)],
                                   f"Parc du quartier par bailleur", "Bailleur", qpv=code))
            md.append(self.tableau("ind_06", "mesure", [("valeur", "Part", fr_pct)], "Occupation du parc du quartier (OPS)",
                                   "Mesure", commune=TOTAL, qpv=code,
                                   mesure=["MENAGES_SOUS_40_PLUS", "EMMENAGES_RECENTS_SOUS_40_PLUS", "MAJEURS_CHOMAGE",
                                           "FAMILLES_MONOPARENTALES", "MENAGES_APL"]))
            md.append(self.tableau("ind_09", "quartile", [("numerateur", "Attributions", fr_entier), ("valeur", "Part", fr_pct)],
                                   "Attributions du quartier par quartile", "Quartile", qpv=code,
                                   mesure="attributions_prononcees", ordre=ORDRE_QUARTILES))
            refus = self.d.lignes("ind_28", qpv=code)
            if not refus.empty:
                md.append(self.tableau("ind_28", "motif", [("valeur", "Refus", fr_entier)], "Refus par motif dans le quartier",
                                       "Motif", qpv=code, quartile=TOTAL, porteur_mixite=TOTAL))
            else:
                md.append("*Refus par motif : publiés en et hors QPV seulement (indicateur 28, section 5).*\n\n")
            md.append(self.tableau("obj_q234_qpv", "bailleur", [("numerateur", "2e à 4e quartiles", fr_entier),
                                                                 ("denominateur", "Attributions", fr_entier),
                                                                 ("valeur", "Taux", fr_pct), ("cible", "Cible", lambda v: fr_pct(v, 0)),
                                                                 ("ecart", "Écart", fr_entier)],
                                   "Objectif du quartier : attributions aux 2e à 4e quartiles", "Bailleur", qpv=code))
            residences = self.d.lignes("fragilite_residence", qpv=code)
            if not residences.empty:
                classes = ["très fragile", "fragile"]
                tableau = pd.DataFrame({
                    "Classe": classes,
                    "Résidences": [", ".join(self.nom("residence", r) for r in residences.loc[residences["classe"].eq(c), "residence"])
                                   or "aucune" for c in classes]})
                md.append(table_markdown(tableau, "ll", f"Résidences fragiles et très fragiles du quartier, parmi celles "
                                                        f"publiées (au moins 11 ménages enquêtés) ({self.source('fragilite_residence')})."))
            md.append(brut("#pagebreak(weak: true)", ""))
        return "\n".join(md)

    # -- 9. Fiches résidences -----------------------------------------------------------------------

    def fiches_residences(self) -> str:
        residences = self.d.lignes("diag_residences")
        if residences.empty:
            return self.non_renseigne("diag_residences")
        par_residence = {r: g.set_index("mesure") for r, g in residences.groupby("residence")}
        fragilite = self.d.lignes("fragilite_residence")
        fragilite = {} if fragilite.empty else {r: l for r, l in zip(fragilite["residence"], fragilite.itertuples())}
        refus = self.d.lignes("ind_17")
        refus = {} if refus.empty else {r: l for r, l in zip(refus["residence"], refus.itertuples())
                                         if str(r) != TOTAL}
        rang_classe = {"très fragile": 0, "fragile": 1}

        def ordre(residence: str) -> tuple:
            lignes = par_residence[residence]
            premiere = lignes.iloc[0]
            classe = getattr(fragilite.get(residence), "classe", None)
            bas_loyer_hors_qpv = premiere["label_bas_loyer"] == "O" and premiere["qpv"] == "HORS_QPV"
            return (rang_classe.get(classe, 2), 0 if bas_loyer_hors_qpv else 1, self.nom("commune", premiere["commune"]),
                    self.nom("residence", residence))

        blocs = []
        for residence in sorted(par_residence, key=ordre):
            blocs.append(self.fiche(residence, par_residence[residence], fragilite.get(residence), refus.get(residence)))
        introduction = (
            f"Une fiche par résidence des bailleurs ({fr_entier(len(blocs))} en {self.annee}), les résidences très fragiles "
            f"et fragiles d'abord, puis les résidences hors QPV labellisées « bas loyer », puis les autres, par commune. "
            f"« s » : chiffre masqué par le secret statistique ; la classe et les critères ne sont publiés que pour une "
            f"résidence d'au moins 11 ménages enquêtés.\n\n")
        return introduction + brut("#fiches((" + ",".join(b[0] for b in blocs) + ",))",
                                   "<div class=\"fiches\">" + "".join(b[1] for b in blocs) + "</div>")

    def fiche(self, residence: str, mesures: pd.DataFrame, fragilite: Any, refus: Any) -> tuple[str, str]:
        """One résidence's block: (Typst call, HTML)."""
        premiere = mesures.iloc[0]

        def mesure(nom: str) -> str:
            return fr_entier(mesures.loc[nom, "valeur"]) if nom in mesures.index else "–"

        titre = self.nom("residence", residence)
        lieu = f"{self.nom('bailleur', premiere['bailleur'])} · {self.nom('commune', premiere['commune'])} · {self.nom('qpv', premiere['qpv'])}"
        if fragilite is None:
            classe, criteres = "non publiée", "moins de 11 ménages enquêtés, ou pas d'enquête"
        else:
            classe = fragilite.classe if isinstance(fragilite.classe, str) else "–"
            criteres = f"C1 {fr_pct(fragilite.c1)} · C2 {fr_pct(fragilite.c2)} · C3 {fr_pct(fragilite.c3)} · {fr_entier(fragilite.nb_menages)} ménages"
        attributions = "–" if refus is None else f"{fr_entier(refus.denominateur)} attributions · {fr_entier(refus.numerateur)} refus"
        label = {"O": " · label bas loyer", "N": "", "INCONNU": ""}.get(str(premiere["label_bas_loyer"]), "")
        champs = [("Logements", mesure("logements")), ("Adaptés", mesure("logements_adaptes")),
                  ("Bas loyer", mesure("logements_bas_loyer")), ("Classe", classe)]
        typst = f"(titre: {_typst_texte(titre)}, lieu: {_typst_texte(lieu + label)}, champs: ({', '.join('(' + _typst_texte(a) + ', ' + _typst_texte(b) + ')' for a, b in champs)},), criteres: {_typst_texte(criteres)}, attributions: {_typst_texte(attributions)}, classe: {_typst_texte(classe)})"
        html = (f"<div class=\"fiche\"><strong>{_html(titre)}</strong><br><small>{_html(lieu + label)}</small><br>"
                + " · ".join(f"{_html(a)} {_html(b)}" for a, b in champs)
                + f"<br><small>{_html(criteres)}</small><br><small>{_html(attributions)}</small></div>")
        return typst, html

    # -- 10. Annexes ------------------------------------------------------------------------------

    def annexes(self) -> str:
        md = ["## Les 28 indicateurs de suivi (section 6.2 de la CIA)\n\n"]
        rangs = []
        for code in [f"ind_{n:02d}" for n in range(1, 29)]:
            indicateur = self.d.indicateur(code)
            if self.d.publiee(code):
                valeur = self.d.chiffre_cle(code)[1]
                precedente = self.d.chiffre_cle(code, self.annee - 1)[1]
                source = self.source_courte(code).removeprefix("Source : ")
                cle = indicateur.chiffre_cle.libelle if indicateur.chiffre_cle else ""
            else:
                valeur, precedente, cle = "non renseigné", "–", self.d.raison(code) or ""
                source = "—"
            rangs.append({"N°": str(int(code[4:])), "Indicateur": f"{indicateur.libelle} ({code})", "Chiffre clé": cle,
                          str(self.annee): valeur, str(self.annee - 1): precedente, "Source": source})
        md.append(table_markdown(pd.DataFrame(rangs), "rllrrl",
                                 f"Les 28 indicateurs de la section 6.2 en {self.annee} : chiffre clé de l'année et de "
                                 f"l'année précédente, source et millésime, ou « non renseigné » avec la raison."))
        md.append("\n## Définitions\n\n")
        for indicateur in self.d.catalogue.indicateurs:
            section = SECTIONS_ATLAS.get(indicateur.section_atlas, "hors atlas (tableau de bord mensuel)")
            statut = "" if self.d.publiee(indicateur.code) else f" *Non renseigné pour {self.annee} : {self.d.raison(indicateur.code)}.*"
            md.append(f"**{indicateur.code} — {indicateur.libelle}** ({section}). {indicateur.definition}{statut}\n\n")
        md.append(self.qualite())
        md.append(self.sources())
        md.append(self.secret())
        return "".join(md)

    def qualite(self) -> str:
        qualite = self.d.metadonnees.get("qualite", {})
        controles = qualite.get("controles", {})
        md = ["\n## Qualité des données du run\n\n"]
        if controles:
            md.append(f"Contrôles de qualité évalués avant la publication (tests dbt et suites Great Expectations) : "
                      f"**{fr_entier(controles.get('reussis', 0))} réussis**, {fr_entier(controles.get('en_echec', 0))} en échec, "
                      f"{fr_entier(controles.get('avertissements', 0))} en avertissement.\n\n")
            non_reussis = controles.get("non_reussis", [])
            if non_reussis:
                md.append(table_markdown(pd.DataFrame([{"Contrôle": n["controle"], "Table": n["table"], "Gravité": n["gravite"],
                                                        "Détail": detail_controle(n)}
                                                       for n in non_reussis]), "llll", "Contrôles non réussis"))
            if controles.get("data_docs"):
                md.append(f"Le détail de chaque contrôle (GX Data Docs) est publié avec les indicateurs : "
                          f"`{controles['data_docs']}` ; la documentation des tables (dbt docs) : "
                          f"`{controles.get('dbt_docs', '—')}`.\n\n")
        ingestion = qualite.get("ingestion", [])
        if ingestion:
            md.append(table_markdown(pd.DataFrame([{
                "Source": i["source"], "Fichiers": fr_entier(i["fichiers"]), "Lignes lues": fr_entier(i["lignes_lues"]),
                "Gardées": fr_entier(i["lignes_gardees"]), "En quarantaine": fr_entier(i["lignes_rejetees"])}
                for i in ingestion]), "lrrrr", f"Ingestion des extraits de {self.annee} : lignes gardées et mises en "
                                                f"quarantaine (rejetées avec leur motif) par source"))
        return "".join(md)

    def sources(self) -> str:
        meta = self.d.metadonnees
        rangs = [{"Source": nom, "Millésime": millesime} for nom, millesime in meta["sources"].items()]
        return ("\n## Sources et millésimes\n\n" + table_markdown(pd.DataFrame(rangs), "ll", "Millésimes des sources de la publication")
                + f"\nRun {meta['run_id']}, code {meta['version_du_code']}, produit le {meta['date_de_production']}.\n\n")

    def secret(self) -> str:
        secret = self.d.metadonnees.get("secret", {})
        md = ["\n## Le secret statistique\n\n", secret.get("regle", ""), "\n\n"]
        audit = secret.get("audit")
        if audit:
            etroit = audit.get("intervalle_le_plus_etroit")
            limite = audit.get("intervalle_le_plus_etroit_limite")
            md.append(
                f"Audit de cette publication : {fr_entier(audit['tables'])} tables, {fr_entier(audit['lignes'])} lignes, "
                f"**{fr_entier(audit['lignes_masquees'])} masquées** ({fr_entier(audit['primaires'])} par la règle, "
                f"{fr_entier(audit['secondaires'])} en secret secondaire, soit {fr_pct(audit['part_secondaires'])} des masquées ; "
                f"{fr_entier(audit['retirees'])} lignes d'unités de moins de 11 ménages retirées). "
                + (f"Intervalle le plus étroit d'une cellule masquée : {_au_moins(etroit.get('exact', True))}"
                   f"{fr_decimal(etroit['largeur'], 0)}. " if etroit else "")
                + (f"{fr_entier(audit['limitees_par_un_total_institutionnel'])} cellules ne peuvent être mieux cachées que ne le "
                   f"permet un total institutionnel publié (intervalle le plus étroit : {fr_decimal(limite['largeur'], 0)}). "
                   if limite else "")
                + f"Résultat : {'audit réussi' if audit['reussi'] else 'AUDIT EN ÉCHEC'} "
                  f"({fr_entier(audit['programmes_lineaires'])} programmes linéaires).\n\n")
            par_table = [t for t in audit.get("par_table", []) if t["lignes_masquees"]]
            if par_table:
                md.append(table_markdown(pd.DataFrame([{
                    "Table": t["code"], "Lignes masquées": fr_entier(t["lignes_masquees"]),
                    "Secret secondaire": fr_entier(t["secondaires"]), "Retirées": fr_entier(t["retirees"]),
                    "Intervalle le plus étroit": _au_moins(t.get("intervalle_le_plus_etroit_exact", True), "≥ ")
                    + fr_decimal(t["intervalle_le_plus_etroit"], 0)
                    if t["intervalle_le_plus_etroit"] is not None else "–"} for t in par_table]), "lrrrr",
                    "Cellules masquées par table"))
        return "".join(md)


def _au_moins(exact: bool | None, prefixe: str = "au moins ") -> str:
    """Before a width the audit proved without solving it exactly (a group audited in blocks)."""
    return "" if exact or exact is None else prefixe


def _typst_texte(texte: Any) -> str:
    """A Typst string literal."""
    return '"' + str(texte).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _html(texte: Any) -> str:
    import html

    return html.escape(str(texte))


def detail_controle(controle: dict) -> str:
    """What a check that did not pass found, in a few words: the expectation, how many rows (or the
    observed value) and the first rows named (file and line of the extract)."""
    parties = [controle.get("attente", "")]
    if controle.get("lignes_en_erreur"):
        parties.append(f"{fr_entier(controle['lignes_en_erreur'])} ligne(s)")
    elif controle.get("observe") is not None:
        parties.append(f"observé : {controle['observe']}")
    if controle.get("exemples"):
        parties.append(", ".join(controle["exemples"][:2]))
    return " — ".join(p for p in parties if p)
