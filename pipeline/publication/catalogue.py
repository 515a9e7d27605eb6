"""The indicator catalogue (``catalogue/indicateurs.yaml``): one validated entry per published table.

The catalogue says, for every indicator of indicators.md, what it counts, from which extracts, which
dbt mart produces it, its dimensions, which disclosure rule applies and where the atlas shows it. The
exports (:mod:`pipeline.publication.exports`), the Dagster dependencies of the export asset and the
coverage tests read it. A malformed entry stops the load with an error naming the entry and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.fichiers_lus import selon_etat
from pipeline.settings import PROJECT_DIR

CATALOGUE_PATH = PROJECT_DIR / "catalogue" / "indicateurs.yaml"

FAMILLES = ("objectif", "suivi", "fragilite", "diagnostic")
UNITES = ("part", "nombre", "ratio", "mois", "euros_m2")
STATUTS = ("disponible", "a_construire")

#: The dimension words (the referentials' names; one word per concept, as in the marts).
DIMENSIONS = frozenset({
    "bailleur", "bailleur_origine", "reservataire", "qpv", "iris", "residence", "adresse", "commune",
    "typologie", "quartile", "motif", "mois", "produit", "periode_construction", "dpe", "classe_age",
    "type_demande", "decision", "dispositif", "instance", "projet", "etape", "mesure", "statistique",
    "statut_prioritaire", "porteur_mixite", "classe_fragilite", "maille", "accompagnement",
    "anciennete_label", "delai", "tranche_ressources", "composition", "indicateur", "label_bas_loyer",
    "statut_qpv",
})
#: Dimensions at which the fine-geography disclosure rule applies (indicators.md, section F).
DIMENSIONS_FINES = frozenset({"iris", "residence", "adresse"})
#: Dimensions of the institutional tables (indicators.md, section F): their totals are published as
#: counts and never masked to protect another cell (secondary suppression).
DIMENSIONS_INSTITUTIONNELLES = frozenset({"bailleur", "bailleur_origine", "reservataire", "qpv", "commune"})

#: The figure columns of each family, in their published order (indicators.md, section E).
CHIFFRES = ("numerateur", "denominateur", "valeur")
CHIFFRES_PAR_FAMILLE = {
    "objectif": CHIFFRES + ("cible", "ecart"),
    "suivi": CHIFFRES,
    "diagnostic": CHIFFRES,
    "fragilite": ("c1", "c2", "c3", "nb_criteres", "classe", "nb_menages"),
}

#: The atlas sections (atlas.md, « Content »); 10 is the annex, which lists every indicator.
SECTIONS_ATLAS = {
    1: "Couverture et synthèse",
    2: "Le parc",
    3: "Les loyers",
    4: "L'occupation et sa fragilité",
    5: "Demande et attributions",
    6: "Objectifs loi Égalité et Citoyenneté",
    7: "Publics prioritaires",
    8: "Fiches QPV",
    9: "Fiches résidences",
    10: "Annexes",
}

_NOM = re.compile(r"^[a-z][a-z0-9_]*$")
#: A code names an XLSX sheet, and Excel caps sheet names at 31 characters.
LONGUEUR_CODE_MAX = 31
_CHAMPS = ("code", "libelle", "famille", "definition", "unite", "source", "modele", "dimensions",
           "granularite_fine", "motifs_sensibles", "saisie", "evolution", "section_atlas", "statut")
_CHAMPS_FACULTATIFS = ("colonnes", "enquete_menages", "chiffre_cle", "chiffres_supplementaires")
#: Target columns: known without data, they do not make a year « renseigné ».
CIBLES = ("cible", "cible_legale")
RELATIONS = ("egal", "inclus")


class CatalogueError(ValueError):
    """The catalogue file is malformed: the message names the entry, the field and what was expected."""


@dataclass(frozen=True)
class Indicateur:
    """One entry of the catalogue (see the header of ``catalogue/indicateurs.yaml`` for each field)."""

    code: str
    libelle: str
    famille: str
    definition: str
    unite: str
    source: tuple[str, ...]
    modele: str
    dimensions: tuple[str, ...]
    granularite_fine: bool
    motifs_sensibles: bool
    saisie: str | None
    evolution: bool
    section_atlas: int | None
    statut: str
    #: Published column → mart column, for a mart that names them otherwise.
    colonnes: Mapping[str, str] = field(default_factory=dict)
    #: The table describes households of a survey (the OPS): a row whose base — surveyed households,
    #: or the base of its share — is under the threshold is masked at any scale (section F).
    enquete_menages: bool = False
    #: The row and column the atlas gives as the indicator's key figure (the annex of the 28), or None.
    chiffre_cle: "ChiffreCle | None" = None
    #: Figure columns published after the family's (e.g. the law's floor beside the CIA's target).
    chiffres_supplementaires: tuple[str, ...] = ()

    @property
    def disponible(self) -> bool:
        return self.statut == "disponible"

    @property
    def colonnes_chiffres(self) -> tuple[str, ...]:
        """The figure columns of the published table (those the disclosure rule empties)."""
        return CHIFFRES_PAR_FAMILLE[self.famille] + self.chiffres_supplementaires

    @property
    def colonnes_publiees(self) -> tuple[str, ...]:
        """Exactly the columns of the published CSV, in order (indicators.md, section E)."""
        return ("annee", *self.dimensions, *self.colonnes_chiffres, "secret")


@dataclass(frozen=True)
class ChiffreCle:
    """The key figure of an indicator: one published row (a value for every dimension) and column."""

    ligne: Mapping[str, str]
    colonne: str
    libelle: str


@dataclass(frozen=True)
class CoteLien:
    """One side of a :class:`Lien`: the rows of ``table`` (after ``filtre``), keyed by ``par``."""

    table: str
    par: tuple[str, ...]
    colonnes: tuple[str, ...]
    filtre: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Lien:
    """Two published tables that describe the same households or dwellings (indicators.md, section F:
    masked cells « cannot be recomputed from the totals around them », in any table).

    For every key of ``par``, the ``detail`` rows with that key add up to the ``ensemble`` row with
    that key (``relation: egal``), or to at most that row (``inclus``: the detail covers part of the
    ensemble), column by column in the order given. A key ``TOTAL`` on the ensemble side gathers every
    detail row. The disclosure rule checks each relation on the true figures before using it.
    """

    nom: str
    description: str
    relation: str
    detail: CoteLien
    ensemble: CoteLien


@dataclass(frozen=True)
class Catalogue:
    """The whole catalogue file."""

    chemin: Path
    indicateurs: tuple[Indicateur, ...]
    #: Marts that are not published indicators (e.g. map contours) → why.
    marts_hors_catalogue: Mapping[str, str]
    #: Survey sources, not extracted every year (the OPS): a mart built on one names the survey that
    #: stands for the year in its column ``annee_enquete``.
    sources_enquete: tuple[str, ...] = ()
    #: Relations between published tables that the disclosure rule must respect across tables.
    liens: tuple[Lien, ...] = ()

    def par_code(self) -> dict[str, Indicateur]:
        return {i.code: i for i in self.indicateurs}

    def par_modele(self) -> dict[str, Indicateur]:
        return {i.modele: i for i in self.indicateurs}


#: The catalogues read, per path and state of the file (:func:`charger`).
_CATALOGUES: dict[tuple, Catalogue] = {}


def charger(chemin: Path = CATALOGUE_PATH) -> Catalogue:
    """Read and validate the catalogue; raise :class:`CatalogueError` on the first defect.

    Read once per process and state of the file (its path, modification time and size are the key:
    an edit is read again): a run's steps ask for it a few dozen times."""
    try:
        return selon_etat(_CATALOGUES, [chemin], lambda: _lire(chemin))
    except FileNotFoundError as err:
        raise CatalogueError(f"{chemin}: catalogue introuvable.") from err


def _lire(chemin: Path) -> Catalogue:
    try:
        # libyaml's parser when PyYAML has it (the wheels do): ten times faster than the Python one
        brut = yaml.load(chemin.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as err:
        raise CatalogueError(f"{chemin}: YAML illisible : {err}") from err
    if not isinstance(brut, dict):
        raise CatalogueError(f"{chemin}: attendu un document YAML avec les clés « version » et « indicateurs ».")
    inconnues = set(brut) - {"version", "indicateurs", "marts_hors_catalogue", "sources_enquete", "liens"}
    if inconnues:
        raise CatalogueError(f"{chemin}: clés de premier niveau inconnues : {', '.join(sorted(inconnues))}.")
    if brut.get("version") != 1:
        raise CatalogueError(f"{chemin}: « version » doit valoir 1, trouvé {brut.get('version')!r}.")
    entrees = brut.get("indicateurs")
    if not isinstance(entrees, list) or not entrees:
        raise CatalogueError(f"{chemin}: « indicateurs » doit être une liste non vide d'entrées.")

    indicateurs = [_indicateur(chemin, n, e) for n, e in enumerate(entrees, start=1)]
    for attribut in ("code", "modele"):
        vus: set[str] = set()
        for ind in indicateurs:
            valeur = getattr(ind, attribut)
            if valeur in vus:
                raise CatalogueError(f"{chemin}: indicateur {ind.code!r} : champ « {attribut} » : {valeur!r} "
                                     f"est déjà utilisé par une autre entrée (un mart par indicateur).")
            vus.add(valeur)

    hors = {}
    for n, entree in enumerate(brut.get("marts_hors_catalogue") or [], start=1):
        if not isinstance(entree, dict) or set(entree) != {"modele", "raison"}:
            raise CatalogueError(f"{chemin}: marts_hors_catalogue, entrée n° {n} : attendu {{modele, raison}}, "
                                 f"trouvé {entree!r}.")
        if entree["modele"] in {i.modele for i in indicateurs}:
            raise CatalogueError(f"{chemin}: marts_hors_catalogue : {entree['modele']!r} est aussi le modèle "
                                 f"d'un indicateur.")
        hors[str(entree["modele"])] = str(entree["raison"])
    enquetes = brut.get("sources_enquete") or []
    toutes_sources = {s for i in indicateurs for s in i.source}
    if not isinstance(enquetes, list) or any(s not in toutes_sources for s in enquetes):
        raise CatalogueError(f"{chemin}: sources_enquete : attendu une liste de sources des indicateurs "
                             f"({', '.join(sorted(toutes_sources))}), trouvé {enquetes!r}.")
    par_code = {i.code: i for i in indicateurs}
    liens = tuple(_lien(chemin, n, e, par_code) for n, e in enumerate(brut.get("liens") or [], start=1))
    return Catalogue(chemin=chemin, indicateurs=tuple(indicateurs), marts_hors_catalogue=hors,
                     sources_enquete=tuple(str(s) for s in enquetes), liens=liens)


def _lien(chemin: Path, numero: int, entree: Any, par_code: Mapping[str, Indicateur]) -> Lien:
    """One entry of ``liens``, checked against the indicators it names."""
    nom = f"liens, entrée n° {numero}"
    if not isinstance(entree, dict) or set(entree) != {"nom", "description", "relation", "detail", "ensemble"}:
        raise CatalogueError(f"{chemin}: {nom} : attendu les champs nom, description, relation, detail, "
                             f"ensemble ; trouvé {entree!r}.")
    nom = f"lien {entree['nom']!r}"
    if entree["relation"] not in RELATIONS:
        raise CatalogueError(f"{chemin}: {nom} : relation {entree['relation']!r} ; attendu "
                             f"{' | '.join(RELATIONS)}.")
    cotes = []
    for cote in ("detail", "ensemble"):
        brut = entree[cote]
        if not isinstance(brut, dict) or not {"table", "par", "colonnes"} <= set(brut) \
                or set(brut) - {"table", "par", "colonnes", "filtre"}:
            raise CatalogueError(f"{chemin}: {nom} : « {cote} » : attendu {{table, par, colonnes[, filtre]}}, "
                                 f"trouvé {brut!r}.")
        indicateur = par_code.get(brut["table"])
        if indicateur is None:
            raise CatalogueError(f"{chemin}: {nom} : « {cote} » : {brut['table']!r} n'est pas un code du catalogue.")
        filtre = brut.get("filtre") or {}
        inconnues = [d for d in [*brut["par"], *filtre] if d not in indicateur.dimensions]
        if inconnues:
            raise CatalogueError(f"{chemin}: {nom} : « {cote} » : {', '.join(inconnues)} ne sont pas des dimensions "
                                 f"de {indicateur.code} ({', '.join(indicateur.dimensions)}).")
        cotes.append(CoteLien(table=indicateur.code, par=tuple(brut["par"]), colonnes=tuple(brut["colonnes"]),
                              filtre={str(k): str(v) for k, v in filtre.items()}))
    detail, ensemble = cotes
    if len(detail.colonnes) != len(ensemble.colonnes) or len(detail.par) != len(ensemble.par):
        raise CatalogueError(f"{chemin}: {nom} : detail et ensemble doivent avoir autant de colonnes et de "
                             f"dimensions « par ».")
    return Lien(nom=str(entree["nom"]), description=str(entree["description"]).strip(),
                relation=entree["relation"], detail=detail, ensemble=ensemble)


def indicateurs(chemin: Path = CATALOGUE_PATH) -> list[Indicateur]:
    """Every entry of the catalogue, in file order."""
    return list(charger(chemin).indicateurs)


def par_code(chemin: Path = CATALOGUE_PATH) -> dict[str, Indicateur]:
    """The entries of the catalogue by code."""
    return charger(chemin).par_code()


# --------------------------------------------------------------------------------------------
# Validation of one entry
# --------------------------------------------------------------------------------------------

def _indicateur(chemin: Path, numero: int, entree: Any) -> Indicateur:
    nom = f"entrée n° {numero}"
    if not isinstance(entree, dict):
        raise CatalogueError(f"{chemin}: {nom} : attendu un dictionnaire de champs, trouvé {entree!r}.")
    if isinstance(entree.get("code"), str):
        nom = f"indicateur {entree['code']!r}"

    def erreur(champ: str, attendu: str) -> CatalogueError:
        return CatalogueError(f"{chemin}: {nom} : champ « {champ} » : attendu {attendu}, "
                              f"trouvé {entree.get(champ)!r}.")

    manquants = [c for c in _CHAMPS if c not in entree]
    if manquants:
        raise CatalogueError(f"{chemin}: {nom} : champs manquants : {', '.join(manquants)} "
                             f"(écrire null ou false plutôt que d'omettre).")
    inconnus = set(entree) - set(_CHAMPS) - set(_CHAMPS_FACULTATIFS)
    if inconnus:
        raise CatalogueError(f"{chemin}: {nom} : champs inconnus : {', '.join(sorted(inconnus))} "
                             f"(champs connus : {', '.join(_CHAMPS + _CHAMPS_FACULTATIFS)}).")

    def texte(champ: str) -> str:
        valeur = entree[champ]
        if not isinstance(valeur, str) or not valeur.strip():
            raise erreur(champ, "un texte non vide")
        return valeur.strip()

    def booleen(champ: str) -> bool:
        if not isinstance(entree[champ], bool):
            raise erreur(champ, "true ou false")
        return entree[champ]

    def choix(champ: str, valeurs: tuple[str, ...]) -> str:
        if entree[champ] not in valeurs:
            raise erreur(champ, "l'une des valeurs " + " | ".join(valeurs))
        return entree[champ]

    def liste(champ: str, vide_permise: bool = False) -> tuple[str, ...]:
        valeur = entree[champ]
        if (not isinstance(valeur, list) or not all(isinstance(v, str) and v for v in valeur)
                or (not valeur and not vide_permise)):
            raise erreur(champ, "une liste de noms" + ("" if vide_permise else " non vide"))
        if len(set(valeur)) != len(valeur):
            raise erreur(champ, "une liste sans doublon")
        return tuple(valeur)

    code, modele = texte("code"), texte("modele")
    for champ, valeur in (("code", code), ("modele", modele)):
        if not _NOM.match(valeur):
            raise erreur(champ, "un nom en minuscules, chiffres et _ (il nomme un fichier et un mart)")
    if len(code) > LONGUEUR_CODE_MAX:
        raise erreur("code", f"au plus {LONGUEUR_CODE_MAX} caractères (il nomme une feuille du classeur XLSX)")
    famille = choix("famille", FAMILLES)
    libelle = texte("libelle")
    dimensions = liste("dimensions", vide_permise=True)
    hors_vocabulaire = [d for d in dimensions if d not in DIMENSIONS]
    if hors_vocabulaire:
        raise erreur("dimensions", f"des mots du référentiel ({', '.join(sorted(DIMENSIONS))}) ; "
                                   f"inconnus : {', '.join(hors_vocabulaire)}")
    granularite_fine = booleen("granularite_fine")
    fines = sorted(set(dimensions) & DIMENSIONS_FINES)
    if granularite_fine != bool(fines):
        raise erreur("granularite_fine", f"{bool(fines)} : la table a les dimensions fines {fines}"
                     if fines else "false : aucune dimension à l'IRIS, à la résidence ou à l'adresse")
    motifs_sensibles = booleen("motifs_sensibles")
    if motifs_sensibles and "motif" not in dimensions:
        raise erreur("motifs_sensibles", "false : la table n'a pas de dimension motif")
    source = liste("source")
    saisie = entree["saisie"]
    if saisie is not None:
        if saisie != f"saisie_{code}":
            raise erreur("saisie", f"null ou 'saisie_{code}' (le modèle de saisie porte le code)")
        if saisie not in source:
            raise erreur("saisie", f"un modèle de saisie qui figure aussi dans « source » ({list(source)})")
    evolution = booleen("evolution")
    if evolution != libelle.startswith("Évolution"):
        raise erreur("evolution", f"{libelle.startswith('Évolution')} : les indicateurs « Évolution… », et "
                                  f"eux seuls, portent la valeur de l'année précédente")
    section = entree["section_atlas"]
    if section is not None and (isinstance(section, bool) or not isinstance(section, int)
                                or section not in SECTIONS_ATLAS):
        raise erreur("section_atlas", "null ou un numéro de section de l'atlas de 1 à 10")
    supplementaires = entree.get("chiffres_supplementaires") or []
    if (not isinstance(supplementaires, list) or len(set(supplementaires)) != len(supplementaires)
            or not all(isinstance(c, str) and _NOM.match(c) for c in supplementaires)
            or set(supplementaires) & (set(CHIFFRES_PAR_FAMILLE[famille]) | set(dimensions) | {"annee", "secret"})):
        raise erreur("chiffres_supplementaires", f"une liste de noms de colonnes du mart, sans doublon, autres que "
                                                 f"les chiffres de la famille ({', '.join(CHIFFRES_PAR_FAMILLE[famille])}) "
                                                 f"et les dimensions")
    colonnes = entree.get("colonnes") or {}
    publiables = set(CHIFFRES_PAR_FAMILLE[famille]) | set(supplementaires) | set(dimensions) | {"annee"}
    if (not isinstance(colonnes, dict)
            or not all(isinstance(k, str) and isinstance(v, str) and k in publiables for k, v in colonnes.items())):
        raise erreur("colonnes", f"un dictionnaire colonne publiée → colonne du mart, les colonnes publiées "
                                 f"parmi {', '.join(sorted(publiables))}")
    enquete_menages = entree.get("enquete_menages", False)
    if not isinstance(enquete_menages, bool):
        raise erreur("enquete_menages", "true ou false")
    if enquete_menages and not set(source) & {"ops"}:
        raise erreur("enquete_menages", "false : la table ne lit pas d'enquête auprès des ménages (source ops)")
    chiffre_cle = None
    if entree.get("chiffre_cle") is not None:
        brut = entree["chiffre_cle"]
        if (not isinstance(brut, dict) or set(brut) != {"ligne", "colonne", "libelle"}
                or not isinstance(brut["ligne"], dict) or set(brut["ligne"]) != set(dimensions)
                or brut["colonne"] not in CHIFFRES_PAR_FAMILLE[famille]):
            raise erreur("chiffre_cle", f"{{ligne: une valeur pour chaque dimension ({', '.join(dimensions)}), "
                                        f"colonne: l'une de {', '.join(CHIFFRES_PAR_FAMILLE[famille])}, libelle: texte}}")
        chiffre_cle = ChiffreCle(ligne={str(k): str(v) for k, v in brut["ligne"].items()},
                                 colonne=brut["colonne"], libelle=str(brut["libelle"]))
    return Indicateur(
        code=code, libelle=libelle, famille=famille, definition=texte("definition"),
        unite=choix("unite", UNITES), source=source, modele=modele, dimensions=dimensions,
        granularite_fine=granularite_fine, motifs_sensibles=motifs_sensibles, saisie=saisie,
        evolution=evolution, section_atlas=section, statut=choix("statut", STATUTS), colonnes=dict(colonnes),
        enquete_menages=enquete_menages, chiffre_cle=chiffre_cle,
        chiffres_supplementaires=tuple(supplementaires),
    )
