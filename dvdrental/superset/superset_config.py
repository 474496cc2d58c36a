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
# A local, single-user server on 127.0.0.1: no example data, no telemetry.
SUPERSET_LOAD_EXAMPLES = False
SCARF_ANALYTICS = False
# The page may load nothing from outside this server. Superset's own policy (superset/config.py
# TALISMAN_CONFIG) lets the browser fetch a telemetry pixel (the frontend always draws it) and
# Google Fonts; this one is the same without those hosts, so the dashboard works offline and
# tells nobody it was opened.
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'", "data:"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
