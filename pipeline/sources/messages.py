"""What the reader says, in French: every rejet's message, every remark, every refused file.

Each message names the file, the line, the column, the value, what was expected and what to do.
The words are here, once; :mod:`pipeline.sources.sql` puts a row's cells into them (the parts of a
message are texts and :class:`Cell` markers), and the tests assert them word for word
(``tests/test_validation.py``, ``tests/test_bad_inputs.py``).
"""

from __future__ import annotations

import codecs
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 avec BOM", "cp1252": "Windows-1252",
                  "latin-1": "Latin-1", "iso8859-1": "Latin-1", "utf-16": "UTF-16"}
#: What a binary file renamed ``.csv`` usually is, from its first bytes.
MAGIC = (
    (b"PK\x03\x04", "un classeur Excel .xlsx ou une archive ZIP"),
    (b"\xd0\xcf\x11\xe0", "un classeur Excel 97-2003 (.xls)"),
    (b"%PDF", "un PDF"),
    (b"PAR1", "un fichier Parquet"),
    (b"\x89PNG", "une image PNG"),
    (b"\xff\xd8\xff", "une image JPEG"),
    (b"\x1f\x8b", "une archive gzip"),
)
#: What each column type must look like, as a rejet says it (« … n'est pas <expected> »).
EXPECTED = {"int": "un nombre entier", "float": "un nombre (virgule ou point décimal)",
            "date": "une date AAAA-MM-JJ ou JJ/MM/AAAA", "bool": "un booléen (O/N, 1/0, true/false)"}


@dataclass(frozen=True)
class Cell:
    """A cell of the rejected row inside a message: ``sql`` is the expression that gives it."""

    sql: str


Part = str | Cell


def show_value(value: object) -> str:
    """A bound or a literal as a French reader writes it (0,01; 31/03/2021)."""
    if isinstance(value, bool):
        return "vrai" if value else "faux"
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)


def enumerate_fr(items: list[str], last: str) -> str:
    """« a, b ou c »."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {last} " + items[-1]


# --- Rows: the tail of a rejet's message, after « <fichier>, ligne <N> » -------------------------

def not_typed(export: str, raw: Cell, expected: str, recode_hint: str) -> list[Part]:
    return [f", colonne {export} : « ", raw, f" » n'est pas {expected}.{recode_hint}"]


def code_list(values: tuple[str, ...]) -> str:
    return "un code parmi " + ", ".join(values)


def recode_hint(column: str, source: str, layout: str) -> str:
    return (f" Si c'est un code de l'export, ajoutez sa correspondance dans [recodes.{column}] de "
            f"pipeline/sources/layouts/{source}/{layout}.toml.")


def out_of_bounds(export: str, raw: Cell, minimum: bool, limit: object) -> list[Part]:
    words = ("en dessous du minimum (attendu : au moins" if minimum else "au-dessus du maximum (attendu : au plus")
    return [f", colonne {export} : « ", raw, f" » est {words} {show_value(limit)})."]


def rule_broken(exports: list[str], shown: list[Cell], message: str, expected: str) -> list[Part]:
    """« , colonnes A = « 4 », B vide : <message>. Attendu : <expected>. » (``shown``: see :func:`shown`)."""
    parts: list[Part] = [f", colonne{'s' if len(exports) > 1 else ''} "]
    for i, (export, cell) in enumerate(zip(exports, shown)):
        parts += [f"{', ' if i else ''}{export} ", cell]
    return parts + [f" : {message}. Attendu : {expected}."]


def outside_period(export: str, raw: Cell, inside: bool, start: dt.date, end: dt.date, label: str) -> list[Part]:
    if inside:
        text = (f" » est hors de la période du fichier ({label}, du {show_value(start)} au {show_value(end)}). "
                f"Une ligne d'une autre période va dans le fichier de sa période.")
    else:
        text = (f" » est postérieure à la fin de la période du fichier (attendu : au plus tard le "
                f"{show_value(end)}, fin de {label}).")
    return [f", colonne {export} : « ", raw, text]


def outside_epci(export: str, raw: Cell, reference: str) -> list[Part]:
    return [f", colonne {export} : « ", raw,
            f" » n'est pas une commune de l'EPCI (attendu : un code INSEE de {reference}, anciens codes compris). "
            f"Si la commune a rejoint l'EPCI, ajoutez-la au référentiel."]


def identical_line(first: Cell) -> list[Part]:
    return [" : ligne identique à la ligne ", first, " (doublon exact). Seule la première occurrence est chargée."]


def same_key(exports: list[str], raws: list[Cell], first: Cell) -> list[Part]:
    key_text = " × ".join(exports)
    parts: list[Part] = [f", colonne{'s' if len(exports) > 1 else ''} "]
    for i, (export, raw) in enumerate(zip(exports, raws)):
        parts += [f"{', ' if i else ''}{export} = « ", raw, " »"]
    return parts + [" : doublon de la ligne ", first,
                    f" (même {key_text}). Seule la première occurrence est chargée ; attendu : une seule ligne "
                    f"par {key_text}."]


def truncated_line(fields: int, header: list[str]) -> str:
    missing = header[fields:]
    listed = ", ".join(missing[:5]) + (f" et {len(missing) - 5} autre(s)" if len(missing) > 5 else "")
    return (f" : {fields} champ(s) au lieu de {len(header)} — ligne tronquée ; manque : {listed}. "
            f"Ligne non chargée : vérifiez que l'export est complet (fichier coupé ?).")


def not_copied(fields: int) -> str:
    """What a refusal or a rejet says instead of fields that belong to no column, when ingesting a
    source that carries an identifier (a shifted or headless line can put it there, and what is said
    is stored); the dry run shows them."""
    return (f"{fields} champ(s), non recopiés : la source porte un identifiant ; « observatoire validate » "
            f"sur ce fichier les montre")


def multiline_not_copied(lines: Cell) -> list[Part]:
    """What a rejet shows instead of a value over several lines, when ingesting a source that carries an
    identifier: lines joined by a stray quote can hold another row's identifier, in any column (and what
    is said is stored); the dry run shows the value."""
    return ["valeur sur ", lines, " lignes, non recopiée : la source porte un identifiant ; "
            "« observatoire validate » sur ce fichier la montre"]


def joined_lines(first: Cell, last: Cell) -> list[Part]:
    """A row of a source that carries an identifier whose contract cells hold line breaks: a quote
    opened on one line and closed on a later one has joined the lines between into one row."""
    return [" : les lignes ", first, " à ", last, " sont lues comme une seule (un guillemet ouvert sur la ligne ",
            first, " se referme sur la ligne ", last, "). Attendu : chaque valeur entre guillemets refermée sur sa "
            "ligne — aucune colonne de cette source n'a de texte sur plusieurs lignes. Lignes non chargées."]


def too_long_line(fields: int, width: int, surplus: str, separator: str, masked: bool = False) -> str:
    """``masked``: the extra fields are not copied (:func:`not_copied`)."""
    decimal = ' ; une virgule décimale s\'écrit « "48,5" »' if separator == "," else ""
    extra = not_copied(fields - width) if masked else f"« {surplus} »"
    return (f" : {fields} champs au lieu de {width} — ligne trop longue (en trop : {extra}). "
            f"Attendu : « {separator} » seulement entre les colonnes ; une valeur qui contient "
            f"« {separator} » s'écrit entre guillemets{decimal}. Ligne non chargée.")


# --- The file as a whole: remarks -----------------------------------------------------------------

def encoding_note(declared: str | None, used: str) -> str | None:
    """A remark when the bytes were not in the encoding the layout declares."""
    if used == "utf-8+cp1252":
        return ("encodage mixte : des lignes en UTF-8 et d'autres en Windows-1252 (exports concaténés ?) ; "
                "chaque caractère a été lu dans son encodage. Vérifiez les accents.")
    if used == "utf-8-sig":
        return "le fichier commence par une marque d'ordre des octets (BOM) UTF-8 : ignorée."
    if used == "utf-16":
        return "fichier en UTF-16 (export « texte Unicode ») : lu comme tel."
    if declared is None or used in ("parquet", "xlsx"):
        return None
    family = {"utf-8": "utf8", "utf-8-sig": "utf8", "cp1252": "single", "iso8859-1": "single",
              "iso8859-15": "single"}
    declared_name, used_name = codecs.lookup(declared).name, codecs.lookup(used).name
    if family.get(declared_name, declared_name) == family.get(used_name, used_name):
        return None
    name = ENCODING_NAMES.get(declared_name, declared)
    if family.get(used_name) == "utf8":
        return (f"la disposition déclare l'encodage {name}, mais le fichier est en UTF-8 valide "
                f"(ré-enregistré ?) : lu en UTF-8.")
    return (f"la disposition déclare l'encodage {name}, mais le fichier n'est pas de l'UTF-8 valide : "
            f"lu en {ENCODING_NAMES.get(used, used)} (accents d'un ancien export Windows).")


def blank_lines_note(lines: list[int]) -> str:
    shown = ", ".join(map(str, lines[:10])) + ("…" if len(lines) > 10 else "")
    return f"{len(lines)} ligne(s) vide(s) ignorée(s) (ligne(s) {shown})."


HEADER_ONLY = "aucune ligne de données : le fichier n'a que sa ligne d'en-tête."


def no_key_note(exports: list[str], missing: list[str]) -> str:
    return (f"pas de contrôle des doublons sur la clé {' × '.join(exports)} : colonne(s) {', '.join(missing)} "
            f"absente(s) du fichier.")


# --- Files that cannot be read (ExtractError) -----------------------------------------------------

def not_found(path: Path) -> str:
    return f"{path}: fichier introuvable."


def is_a_folder(path: Path) -> str:
    return f"{path}: c'est un dossier, pas un fichier."


def empty_file(name: str) -> str:
    return f"{name}: fichier vide (0 octet). Attendu : une ligne d'en-tête puis des lignes."


def only_blank_lines(name: str) -> str:
    return (f"{name}: fichier vide (aucune ligne d'en-tête, seulement des lignes blanches). "
            f"Attendu : une ligne d'en-tête puis des lignes.")


def not_text(path: Path, head: bytes) -> str | None:
    """Why the first bytes of a CSV are not text (a workbook, a PDF… renamed .csv); None if they are."""
    kind = next((label for magic, label in MAGIC if head.startswith(magic)), None)
    if kind is None and b"\x00" not in head[:8192]:
        return None
    what = f"c'est {kind}" if kind else "octets nuls : fichier binaire, ou texte UTF-16 sans BOM"
    return (f"{path.name}: ce n'est pas un fichier texte ({what}) — fichier binaire renommé en "
            f"{path.suffix or 'csv'} ? Attendu : un CSV exporté en texte (UTF-8 ou Windows-1252) ; un classeur "
            f"se dépose tel quel en .xlsx.")


def bad_utf16(name: str, err: Exception) -> str:
    return (f"{name}: marque UTF-16 en tête mais texte UTF-16 invalide ({err}). "
            f"Attendu : un CSV en UTF-8 ou Windows-1252.")


def unreadable_csv(name: str, line: int, err: Exception, separator: str) -> str:
    return (f"{name}: CSV illisible vers la ligne {line} ({err}). Attendu : des valeurs "
            f"séparées par « {separator} », chaque guillemet ouvrant refermé.")


def unreadable_workbook(name: str, suffix: str, err: Exception) -> str:
    kind = "Parquet" if suffix == ".parquet" else "Excel (.xlsx)"
    return (f"{name}: fichier {kind} illisible ({type(err).__name__}: {err}). "
            f"Attendu : un fichier {kind} valide, ou un CSV.")


def no_layout(name: str, source: str, tried: list[str], header: list[str], masked: bool = False) -> str:
    """``masked``: the header read is counted, not copied (:func:`not_copied`: a file without a header
    has a data line there, and the error is kept by the run)."""
    read = not_copied(len(header)) if masked else f"{', '.join(header[:12])}{'…' if len(header) > 12 else ''}"
    return (f"{name}: aucune disposition connue de la source « {source} » ne correspond à "
            f"l'en-tête. Dispositions essayées : {'; '.join(tried)}. En-tête lu : {read}. Ajoutez une disposition dans "
            f"pipeline/sources/layouts/{source}/ si c'est un nouvel export.")
