"""Superset's configuration for the local server (SUPERSET_CONFIG_PATH points here).

Superset imports this file inside its own venv, so it may only use the standard library.
Nothing secret is in it: the secret key is read from a 0600 file under .local/superset/
that `dvdrental superset` generates, and the metadata database is SQLite next to it.
"""

import os
from pathlib import Path

_HOME = Path(os.environ["DVD_SUPERSET_HOME"])

SECRET_KEY = (_HOME / "secret_key").read_text().strip()
SQLALCHEMY_DATABASE_URI = f"sqlite:///{_HOME / 'superset.db'}"
# Results are never cached: every chart reads the warehouse as it is now (after a daily run).
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
# A local, single-user server on 127.0.0.1: no example data, no telemetry, no HTTPS policy.
SUPERSET_LOAD_EXAMPLES = False
SCARF_ANALYTICS = False
TALISMAN_ENABLED = False
