"""The bad-input cases of the ingestion (issue « Ingestion », « Bad input »), one extract each.

Each case is a small file delivered for a period that already holds a good extract; the tests in
``test_bad_inputs.py`` say what must happen to it (read, rows quarantined, or file refused) and that
nothing that was there before is lost. Run as a script, it prints the table case → outcome → message
that ``observatoire validate`` shows for each case (the table of the ingestion doc)::

    .venv/bin/python tests/bad_inputs.py
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: A good demand row (the pivot layout of ``demandes``) and a good examination row (``attributions``).
DEMANDE = {
    "NUM_UNIQUE": "N1", "DATE_DEPOT": "2019-06-14", "TYPE_DEMANDE": "EXTERNE", "COMMUNE_RESIDENCE": "21231",
    "NB_PERSONNES": "3", "NB_ENFANTS_MOINS_14": "1", "AGE_DEMANDEUR": "34", "REVENU_MENSUEL": "1450.5",
    "MOTIF_PRINCIPAL": "AUTRE",
}
ATTRIBUTION = {
    "NUM_UNIQUE": "N1", "DATE_DEPOT": "2019-06-14", "DATE_CAL": "2021-03-09", "LOGEMENT_ID": "L1",
    "BAILLEUR": "GDH", "RESERVATAIRE": "EPCI", "COMMUNE_LOGEMENT": "21166", "QPV_LOGEMENT": "",
    "DECISION_CAL": "ATTRIBUTION", "RANG": "1", "REPONSE_DEMANDEUR": "ACCEPTE", "DATE_BAIL": "2021-03-20",
    "HORS_FLUX": "N", "NB_PERSONNES": "2", "NB_ENFANTS_MOINS_14": "0", "REVENU_MENSUEL": "980",
}
#: The RPLS ``regional`` layout (declared Latin-1).
RPLS_HEADER = "DEPCOM;QPV;NBPIECE;SURFHAB;SURFMODE;IDENT_LOGT;NOMVOIE"

#: Exit codes of ``observatoire validate``.
LU, QUARANTAINE, REFUSE = 0, 1, 2
OUTCOMES = {LU: "lu en entier", QUARANTAINE: "lignes en quarantaine", REFUSE: "fichier refusé"}


def csv(rows: list[dict[str, str]], sep: str = ";") -> str:
    header = list(rows[0])
    return "\n".join([sep.join(header)] + [sep.join(row[c] for c in header) for row in rows]) + "\n"


def second(row: dict[str, str], **changes: str) -> dict[str, str]:
    return {**row, "NUM_UNIQUE": "N2", **changes}


@dataclass(frozen=True)
class Case:
    """One bad extract: where it goes, its bytes, what ``validate`` must say (exit code, a phrase)."""

    label: str
    name: str  # path under the data folder
    content: bytes
    code: int
    phrase: str  # a phrase of validate's output for this case
    good: bytes = b""  # the good extract already loaded for the period (default: by source)
    #: Refused at ingestion over a loaded period even though it reads (a file without rows).
    refused_over_data: bool = False

    @property
    def refused(self) -> bool:
        return self.code == REFUSE or self.refused_over_data


def _good(name: str) -> bytes:
    if name.startswith("rpls/"):
        return (RPLS_HEADER + "\n21166;0;3;65,5;70;L1;rue de Chenôve\n21166;0;2;45;48;L2;rue Fénay\n").encode("latin-1")
    if name.startswith("sne/attributions"):
        return csv([ATTRIBUTION, second(ATTRIBUTION, LOGEMENT_ID="L2")]).encode()
    return csv([DEMANDE, second(DEMANDE)]).encode()


DEM = "sne/demandes_2021-03.csv"
ATT = "sne/attributions_2021-03.csv"
RPLS = "rpls/rpls_2019.csv"

CASES = [
    Case("accents Latin-1 dans un fichier déclaré UTF-8", DEM,
         csv([{**DEMANDE, "COMMUNE_RESIDENCE": "Chenôve"}]).encode("latin-1"), LU, "lu en Windows-1252"),
    Case("UTF-8 dans une disposition déclarée Latin-1", RPLS,
         (RPLS_HEADER + "\n21166;0;3;65,5;70;L1;rue de Chenôve\n").encode(), LU, "lu en UTF-8"),
    Case("BOM UTF-8", DEM, ("\ufeff" + csv([DEMANDE])).encode(), LU, "marque d'ordre des octets (BOM)"),
    Case("séparateur « , »", DEM, csv([DEMANDE, second(DEMANDE)], sep=",").encode(), LU, "séparateur : « , »"),
    Case("virgule décimale", DEM, csv([{**DEMANDE, "REVENU_MENSUEL": "1 450,50"}]).encode(), LU,
         "1 gardée(s), 0 rejetée(s)"),
    Case("colonne obligatoire absente", DEM, b"NUM_UNIQUE;DATE_DEPOT\nN1;2019-01-01\n", REFUSE,
         "manque : TYPE_DEMANDE"),
    Case("colonnes en trop", DEM, csv([{**DEMANDE, "NOM": "Dupont", "EN_TROP": "x"}]).encode(), LU,
         "colonnes ignorées : NOM, EN_TROP"),
    Case("dernière ligne tronquée", DEM, (csv([DEMANDE]) + "N2;2019-06-14;EXT").encode(), QUARANTAINE,
         "ligne tronquée"),
    Case("fichier vide", DEM, b"", REFUSE, "fichier vide (0 octet)"),
    Case("en-tête seul", DEM, (";".join(DEMANDE) + "\n").encode(), LU, "aucune ligne de données",
         refused_over_data=True),
    Case("code inconnu", DEM, csv([DEMANDE, second(DEMANDE, TYPE_DEMANDE="AUTRE_CHOSE")]).encode(), QUARANTAINE,
         "AUTRE_CHOSE"),
    Case("surface négative", RPLS, (RPLS_HEADER + "\n21166;0;3;65,5;70;L1;rue\n21166;0;3;-65,5;70;L2;rue\n").encode("latin-1"), QUARANTAINE,
         "SURFHAB"),
    Case("revenu négatif", DEM, csv([DEMANDE, second(DEMANDE, REVENU_MENSUEL="-10")]).encode(), QUARANTAINE,
         "REVENU_MENSUEL"),
    Case("NB_ENFANTS_MOINS_14 > NB_PERSONNES", DEM,
         csv([DEMANDE, second(DEMANDE, NB_PERSONNES="1", NB_ENFANTS_MOINS_14="2")]).encode(), QUARANTAINE,
         "plus d'enfants de moins de 14 ans que de personnes"),
    Case("rang 0 sur une décision positive", ATT, csv([ATTRIBUTION, second(ATTRIBUTION, RANG="0")]).encode(),
         QUARANTAINE, "porte le rang du candidat"),
    Case("bail avant sa CALEOL", ATT, csv([ATTRIBUTION, second(ATTRIBUTION, DATE_BAIL="2021-03-01")]).encode(),
         QUARANTAINE, "le bail est signé avant la CALEOL"),
    Case("lignes en double", DEM, csv([DEMANDE, second(DEMANDE), DEMANDE]).encode(), QUARANTAINE, "doublon"),
    Case("date hors de la période du fichier", ATT,
         csv([ATTRIBUTION, second(ATTRIBUTION, DATE_CAL="2021-05-04", DATE_BAIL="")]).encode(), QUARANTAINE,
         "hors de la période du fichier (mars 2021"),
    Case("commune hors de l'EPCI", ATT, csv([ATTRIBUTION, second(ATTRIBUTION, COMMUNE_LOGEMENT="75056")]).encode(),
         QUARANTAINE, "75056"),
    # a quote closed a line later: the joined row has the header's width, and the next line's numéro
    # unique sits in LOGEMENT_ID, which no other check would catch
    Case("guillemet refermé une ligne plus loin", ATT,
         (csv([ATTRIBUTION]) + 'N2;2019-06-14;2021-03-09;"L2\n'
          + csv([second(ATTRIBUTION, NUM_UNIQUE="N3", LOGEMENT_ID='L3"')]).split("\n", 1)[1]).encode(),
         QUARANTAINE, "sont lues comme une seule"),
    Case("fichier binaire nommé .csv", DEM, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", REFUSE, "image PNG"),
    Case("nom de fichier sans période", "sne/demandes.csv", csv([DEMANDE]).encode(), REFUSE,
         "le nom du fichier ne porte pas de période"),
]


def write(folder: Path, case: Case) -> Path:
    path = folder / case.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(case.content)
    return path


def good_file(folder: Path, case: Case) -> Path:
    """The good extract of the case's period (for the period-less name: the demand file of 2021-03)."""
    name = case.name if "_" in Path(case.name).name else DEM
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(case.good or _good(name))
    return path


def table() -> str:
    """Markdown table: case → outcome (exit code) → first message validate shows."""
    from pipeline.cli import validate_file

    lines = ["| cas | résultat (`validate`, code de sortie) | message |", "|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            code, shown = validate_file(write(Path(tmp) / "c", case))
            message = next((s.strip()[2:] if s.strip().startswith("- ") else s.strip() for s in shown
                            if case.phrase in s), " / ".join(s.strip() for s in shown[1:]))
            lines.append(f"| {case.label} | {OUTCOMES[code]} ({code}) | {message.replace('|', '/')} |")
            (Path(tmp) / "c" / case.name).unlink()
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    print(table())
