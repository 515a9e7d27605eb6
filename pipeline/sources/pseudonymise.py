"""Pseudonymisation at ingestion: ``NUM_UNIQUE`` → HMAC-SHA-256 with a key from the environment.

The key is ``OBSERVATOIRE_PSEUDO_KEY``. Demo data (a folder carrying the demo marker) uses the
public :data:`DEMO_KEY` — its pseudonyms protect nothing, and nothing real is behind them. A run on
real extracts without the key stops before reading anything.

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

ENV_KEY = "OBSERVATOIRE_PSEUDO_KEY"
#: The demo's key, public on purpose (docs/demo.md): it is only ever used on fictitious data.
DEMO_KEY = "observatoire-demo-cle-publique-non-secrete"


class PseudoKeyMissing(RuntimeError):
    """A run on real extracts without ``OBSERVATOIRE_PSEUDO_KEY``."""


def pseudo_key(data_dir: Path) -> bytes:
    """The key for the extracts of ``data_dir``: the environment's, or the demo's on demo data."""
    from pipeline.demo import is_demo

    key = os.environ.get(ENV_KEY, "")
    if key:
        return key.encode("utf-8")
    if is_demo(data_dir):
        return DEMO_KEY.encode("utf-8")
    raise PseudoKeyMissing(
        f"{ENV_KEY} n'est pas défini : les extraits de {data_dir} ne sont pas des données de "
        f"démonstration, et leurs identifiants (NUM_UNIQUE) doivent être pseudonymisés à l'ingestion. "
        f"Définissez la clé secrète dans l'environnement (export {ENV_KEY}=…), la même à chaque run, "
        f"puis relancez. Rien n'a été lu ni écrit."
    )


def pseudonymise(values: pd.Series, key: bytes) -> pd.Series:
    """HMAC-SHA-256 (hex) of each non-empty value; empty stays empty."""
    def one(value: object) -> object:
        if value is None or value is pd.NA or (isinstance(value, float) and value != value) or value == "":
            return pd.NA
        return hmac.new(key, str(value).strip().encode("utf-8"), hashlib.sha256).hexdigest()
    return values.map(one).astype("string")
