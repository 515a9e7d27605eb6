"""Pseudonymisation at ingestion: ``NUM_UNIQUE`` → HMAC-SHA-256 with a key from the environment.

The key is ``OBSERVATOIRE_PSEUDO_KEY``. Demo data (a folder holding only the files the generator
wrote, :mod:`pipeline.provenance`) uses the public :data:`DEMO_KEY` — its pseudonyms protect nothing,
and nothing real is behind them. A run on real extracts without the key — a single file the demo did
not write, beside its own, makes the folder real — stops before reading anything.

The same key gives the same pseudonym for the same household in every source and every year, so
demands, examinations and SYPLO still join; without the key nobody can go back to the numéro
unique. Keep the key out of the project folder (a secret manager, the scheduler's environment).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import pandas as pd

from pipeline.provenance import provenance

ENV_KEY = "OBSERVATOIRE_PSEUDO_KEY"
#: The demo's key, public on purpose (docs/demo.md): it is only ever used on fictitious data.
DEMO_KEY = "observatoire-demo-cle-publique-non-secrete"


class PseudoKeyMissing(RuntimeError):
    """A run on real extracts without ``OBSERVATOIRE_PSEUDO_KEY``."""


def pseudo_key(data_dir: Path) -> bytes:
    """The key for the extracts of ``data_dir``: the environment's, or the demo's on demo data."""
    key = os.environ.get(ENV_KEY, "")
    if key:
        return key.encode("utf-8")
    origine = provenance(data_dir)
    if origine.demo:
        return DEMO_KEY.encode("utf-8")
    raise PseudoKeyMissing(
        f"{ENV_KEY} n'est pas défini : les extraits de {data_dir} ne sont pas des données de "
        f"démonstration ({origine.reason()}), et leurs identifiants (NUM_UNIQUE) doivent être "
        f"pseudonymisés à l'ingestion. Définissez la clé secrète dans l'environnement (export {ENV_KEY}=…), "
        f"la même à chaque run, puis relancez. Rien n'a été lu ni écrit."
    )


def pseudonymise(values: pd.Series, key: bytes) -> pd.Series:
    """HMAC-SHA-256 (hex) of each non-empty value; empty stays empty (one value at a time: the
    reference :func:`hmac_sql` is checked against, and what a few values need)."""
    def one(value: object) -> object:
        if value is None or value is pd.NA or (isinstance(value, float) and value != value) or value == "":
            return pd.NA
        return hmac.new(key, str(value).strip().encode("utf-8"), hashlib.sha256).hexdigest()
    return values.map(one).astype("string")


def hmac_sql(value: str, key: bytes) -> str:
    """The SQL of HMAC-SHA-256 (hex) of the text ``value`` (an expression), as :func:`pseudonymise`.

    RFC 2104 written with DuckDB's ``sha256``: ``H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m))``, the key padded to
    the 64-byte block (hashed first when longer), so millions of identifiers are hashed in the
    database, on every core, instead of one Python call each. An empty value stays NULL.

    Computed for every row as it is loaded, the same household again in each monthly file: a cache of
    the values already hashed (a temporary table looked up by a join) cost more than hashing them
    again — a national year's ingestion 70.5, 79.8 s with it against 66.7, 70.2 s without, alternately,
    and 330 MB more memory (``benchmarks/``, stop 25).
    """
    block = hashlib.sha256(key).digest() if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    inner = bytes(b ^ 0x36 for b in block).hex()
    outer = bytes(b ^ 0x5C for b in block).hex()
    return (f"CASE WHEN nullif({value}, '') IS NOT NULL THEN sha256(unhex('{outer}') || "
            f"unhex(sha256(unhex('{inner}') || encode({value})))) END")
